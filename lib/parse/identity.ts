/**
 * Device identity. A row's per-GPU id is, strongest first: the generic CSV's
 * `device` column, the GPU UUID (+ MIG instance), the PCI bus id, the index.
 * What the user says wins or combines, it is never dropped:
 * - `device` option: `<device>/<per-GPU id>` when the row has one (several
 *   GPUs are never collapsed into one series), else `<device>`;
 * - without it: the UUID or device column alone (globally unique), else
 *   `<host>/<bus id>`, `<host>/gpu<index>`, `<host>/<model>`, else
 *   `<host>/<file name>`, else the file name; a model name alone becomes the
 *   id only when neither host nor device was given;
 * - the `host` option (else a Hostname label / hostname column) is always the
 *   `host` tag.
 * Results are cached per distinct identity tuple: one object lookup per row.
 * A result's `tags` object is frozen and shared by the points of its device.
 *
 * Device ids are deterministic functions of the file content and options,
 * because re-ingestion relies on InfluxDB overwriting same series+timestamp.
 */
import { basename, extname } from 'node:path';
import { normaliseBusId } from './fields.ts';
import { detach } from './strings.ts';
import type { IdentitySource } from './types.ts';

export interface IdentityValues {
  uuid?: string | undefined;
  busId?: string | undefined;
  index?: string | undefined;
  model?: string | undefined;
  driver?: string | undefined;
  host?: string | undefined;
  /** Explicit device id (generic CSV `device` column). */
  device?: string | undefined;
  /** MIG GPU instance / compute instance ids. */
  gi?: string | undefined;
  ci?: string | undefined;
}

export interface ResolvedIdentity {
  device: string;
  tags: Record<string, string>;
  source: IdentitySource;
  /** Mutable per-identity parser state (last timestamp seen), kept here to avoid a map lookup per row. */
  lastTs?: string;
}

export function fileBaseName(fileName: string): string {
  const b = basename(fileName);
  const e = extname(b);
  return (e ? b.slice(0, -e.length) : b) || 'unknown';
}

export class IdentityResolver {
  private readonly cache = new Map<string, ResolvedIdentity>();
  private readonly optionHost: string | undefined;
  private readonly optionDevice: string | undefined;
  private readonly fileBase: string;
  /** Sources used, for the "no host" note. */
  readonly hostless = new Set<IdentitySource>();

  constructor(opts: { host?: string | undefined; device?: string | undefined; fileName: string }) {
    this.optionHost = opts.host || undefined;
    this.optionDevice = opts.device || undefined;
    this.fileBase = fileBaseName(opts.fileName);
  }

  /** The identity used when a row carries no identifying value at all. */
  get fallbackSource(): IdentitySource {
    if (this.optionDevice !== undefined) return 'option';
    return this.optionHost !== undefined ? 'host+file_name' : 'file_name';
  }

  /** Lookup by a caller-built key of the raw identity values. */
  cached(key: string): ResolvedIdentity | undefined {
    return this.cache.get(key);
  }

  /** Resolves and caches under a caller-built key (must encode every value in `v`). */
  resolveKeyed(key: string, v: IdentityValues): ResolvedIdentity {
    let r = this.cache.get(key);
    if (r === undefined) {
      r = this.build(v);
      this.cache.set(key, r);
    }
    return r;
  }

  resolve(v: IdentityValues): ResolvedIdentity {
    const key = `${v.uuid}\u0001${v.busId}\u0001${v.index}\u0001${v.model}\u0001${v.driver}\u0001${v.host}\u0001${v.device}\u0001${v.gi}\u0001${v.ci}`;
    let r = this.cache.get(key);
    if (r === undefined) {
      r = this.build(v);
      this.cache.set(key, r);
    }
    return r;
  }

  private build(raw: IdentityValues): ResolvedIdentity {
    // Values may be slices of a whole input chunk: detached, as the identity outlives the chunk.
    const v: IdentityValues = {};
    for (const k of Object.keys(raw) as (keyof IdentityValues)[]) {
      const x = raw[k];
      v[k] = x === undefined ? x : detach(x);
    }
    const host = this.optionHost ?? (v.host || undefined);
    const tags: Record<string, string> = {};
    if (host !== undefined) tags.host = host;
    if (v.uuid) tags.gpu_uuid = v.uuid;
    const busId = v.busId ? normaliseBusId(v.busId) : undefined;
    if (busId) tags.pci_bus_id = busId;
    if (v.index) tags.gpu_index = v.index;
    if (v.model) tags.model = v.model;
    if (v.driver) tags.driver = v.driver;
    if (v.gi) tags.gpu_instance_id = v.gi;
    if (v.ci) tags.compute_instance_id = v.ci;
    const q = (id: string) => (host !== undefined ? `${host}/${id}` : id);
    // The row's per-GPU id, strongest first.
    let gpuId: string | undefined;
    let gpuSource: 'device_column' | 'gpu_uuid' | 'pci_bus_id' | 'gpu_index' | undefined;
    if (v.device) {
      gpuId = v.device;
      gpuSource = 'device_column';
    } else if (v.uuid) {
      // A MIG instance reported under its parent's GPU UUID (DCGM GPU_I_ID label): qualify it.
      gpuId = v.uuid;
      if (v.gi && !v.uuid.startsWith('MIG-')) gpuId += `/gi${v.gi}` + (v.ci ? `/ci${v.ci}` : '');
      gpuSource = 'gpu_uuid';
    } else if (busId) {
      gpuId = busId;
      gpuSource = 'pci_bus_id';
    } else if (v.index) {
      gpuId = `gpu${v.index}`;
      gpuSource = 'gpu_index';
    }
    let device: string;
    let source: IdentitySource;
    if (this.optionDevice !== undefined) {
      // The user named the device: it wins, and combines with a per-GPU id so GPUs stay apart.
      device = gpuId !== undefined ? `${this.optionDevice}/${gpuId}` : this.optionDevice;
      source = gpuSource !== undefined ? `option+${gpuSource}` : 'option';
    } else if (gpuId !== undefined && gpuSource !== undefined) {
      // UUIDs and explicit device columns are unique on their own; bus ids and indexes only per host.
      device = gpuSource === 'pci_bus_id' || gpuSource === 'gpu_index' ? q(gpuId) : gpuId;
      source = gpuSource;
    } else if (v.model) {
      device = q(v.model);
      source = 'model';
    } else if (host !== undefined) {
      device = `${host}/${this.fileBase}`;
      source = 'host+file_name';
    } else {
      device = this.fileBase;
      source = 'file_name';
    }
    if (host === undefined && (source === 'pci_bus_id' || source === 'gpu_index' || source === 'model')) {
      this.hostless.add(source);
    }
    // Frozen: CSV points share it (one tags object per device); a mutation downstream would change every point of the device.
    return { device, tags: Object.freeze(tags), source };
  }
}

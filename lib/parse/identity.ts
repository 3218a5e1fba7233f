/**
 * Device identity: GPU UUID, else host + PCI bus id, else host + index, else
 * host + model, else the `device` option, else the file name. Results are
 * cached per distinct identity tuple: one object lookup per row.
 *
 * Device ids are deterministic functions of the file content and options,
 * because re-ingestion relies on InfluxDB overwriting same series+timestamp.
 */
import { basename, extname } from 'node:path';
import { normaliseBusId } from './fields.ts';
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
    return this.optionDevice !== undefined ? 'option' : 'file_name';
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

  private build(v: IdentityValues): ResolvedIdentity {
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
    let device: string;
    let source: IdentitySource;
    if (v.device) {
      device = v.device;
      source = 'device_column';
    } else if (v.uuid) {
      // A MIG instance reported under its parent's GPU UUID (DCGM GPU_I_ID label): qualify it.
      device = v.uuid;
      if (v.gi && !v.uuid.startsWith('MIG-')) device += `/gi${v.gi}` + (v.ci ? `/ci${v.ci}` : '');
      source = 'gpu_uuid';
    } else if (busId) {
      device = q(busId);
      source = 'pci_bus_id';
    } else if (v.index) {
      device = q(`gpu${v.index}`);
      source = 'gpu_index';
    } else if (v.model) {
      device = q(v.model);
      source = 'model';
    } else if (this.optionDevice !== undefined) {
      device = this.optionDevice;
      source = 'option';
    } else {
      device = this.fileBase;
      source = 'file_name';
    }
    if (host === undefined && (source === 'pci_bus_id' || source === 'gpu_index' || source === 'model')) {
      this.hostless.add(source);
    }
    return { device, tags, source };
  }
}

/**
 * The collector's durable state in JetStream KV (bucket `collector_state`),
 * laid out to scale with the fleet:
 * - `d.<partition>.<device key>`: one small record per device (rule series,
 *   health baseline, when its data last arrived) — ≈ 0.3–1 KiB;
 * - `m.<partition>`: one small record per partition (rule-engine start,
 *   group-absence series, open operational alerts) — independent of the fleet.
 *
 * Invariants:
 * - Every write is a compare-and-set on the revision this process last read
 *   or wrote (`kv.update(key, value, rev)` / `kv.create`). A conflict means
 *   another attempt (a Temporal retry running beside a slow one, or another
 *   worker) wrote newer state: the cache of that partition is dropped and the
 *   flush fails, so the messages it covered are redelivered, never acked on
 *   stale state.
 * - Only changed records are written; a partition's records are loaded once
 *   per process (one KV watch), then kept in memory. Memory and KV are bounded:
 *   devices silent (stream clock) for longer than `pruneAfterMs` are deleted,
 *   and at most `maxDevices` records are kept per partition (the longest-silent
 *   are evicted first).
 */
import { createHash } from 'node:crypto';
import type { JetStreamClient, KV } from 'nats';
import type { DeviceRuleState, PartitionRuleState, RuleEngineState } from '../../lib/alerts/rules.ts';
import type { DeviceBaseline } from '../health/features.ts';
import { STATE_BUCKET } from '../../lib/stream/jetstream.ts';
import { collectMetrics } from './collect-metrics.ts';

/** Per-device baseline of the health model (activities/health owns the shape). */
export type Baseline = DeviceBaseline;

/** One KV value per device. */
export interface DeviceRecord {
  v: 2;
  device: string;
  rules?: DeviceRuleState;
  baseline?: Baseline;
}

/** An operational alert (the pipeline's own trouble) that is currently raised for this partition. */
export interface OpsAlertState {
  since: string;
  summary: string;
}

/** One KV value per partition. */
export interface PartitionRecord {
  v: 2;
  rules: PartitionRuleState;
  ops?: Record<string, OpsAlertState>;
}

/** Another writer changed a record since this process read it (compare-and-set failed). */
export class StateConflictError extends Error {
  override name = 'StateConflictError';
  constructor(
    readonly partition: number,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`collector state of partition ${partition} changed under us (key ${key}): reloading and retrying`, options);
  }
}

const MAX_KEY_TOKEN = 180;

/** KV key of a device's record. KV keys allow [-/_=.a-zA-Z0-9]; base64url fits, long ids are hashed. */
export function deviceKey(partition: number, device: string): string {
  const token = Buffer.from(device, 'utf8').toString('base64url');
  return `d.${partition}.${token.length <= MAX_KEY_TOKEN && token.length > 0 ? token : `=${createHash('sha256').update(device).digest('hex')}`}`;
}
export function partitionKey(partition: number): string {
  return `m.${partition}`;
}

export interface StateLimits {
  /** Delete a device's record after this long without data (stream clock), ms. */
  pruneAfterMs: number;
  /** Records kept per partition; beyond it the longest-silent devices are evicted. */
  maxDevices: number;
}

interface Slot {
  rev: number;
  bytes: number;
}

/** The in-memory image of one partition's state, with the revisions it was read or written at. */
export class PartitionState {
  readonly rules: RuleEngineState;
  readonly baselines = new Map<string, Baseline>();
  readonly ops: Record<string, OpsAlertState>;
  private readonly slots = new Map<string, Slot>();
  private partSlot: Slot | undefined;
  private readonly dirty = new Set<string>();
  private partDirty = false;
  private bytes = 0;
  /** Last `gpu_health` line written per device (memory only: after a restart one extra line per device). */
  private readonly healthWritten = new Map<string, { cls: string; tUs: number }>();

  constructor(
    readonly partition: number,
    part: PartitionRecord | undefined,
    partSlot: Slot | undefined,
    owns: (device: string) => boolean,
  ) {
    this.rules = { partition: part?.rules ?? { v: 2 }, devices: new Map(), owns };
    this.ops = part?.ops ?? {};
    this.partSlot = partSlot;
  }

  /** Records loaded or written: devices of this partition in memory. */
  get size(): number {
    return this.rules.devices.size;
  }
  get totalBytes(): number {
    return this.bytes;
  }

  /** Used by the loader. */
  adopt(rec: DeviceRecord, rev: number, bytes: number): void {
    if (rec.rules) this.rules.devices.set(rec.device, rec.rules);
    if (rec.baseline) this.baselines.set(rec.device, rec.baseline);
    this.slots.set(rec.device, { rev, bytes });
    this.bytes += bytes;
  }

  /**
   * Whether this point's health is worth a `gpu_health` line: the class changed, it is not
   * healthy, or the device's last line is older than `everyMs` of data time (0 = always).
   * Records the decision.
   */
  healthDue(p: { device: string; ts: string }, cls: string, everyMs: number): boolean {
    if (everyMs <= 0) return true;
    const tUs = Number(p.ts.slice(0, -3));
    const last = this.healthWritten.get(p.device);
    if (last && last.cls === cls && cls === 'healthy' && tUs >= last.tUs && tUs - last.tUs < everyMs * 1_000) return false;
    if (!last || tUs >= last.tUs || last.cls !== cls) this.healthWritten.set(p.device, { cls, tUs });
    return true;
  }

  markDirty(device: string): void {
    this.dirty.add(device);
  }
  markPartitionDirty(): void {
    this.partDirty = true;
  }
  get dirtyCount(): number {
    return this.dirty.size + (this.partDirty ? 1 : 0);
  }

  /**
   * Writes every changed record (compare-and-set, pipelined). Throws
   * StateConflictError on a conflict; any failure leaves the caller to drop
   * this cache (memory may now be ahead of KV).
   */
  async flush(kv: KV): Promise<{ written: number; bytes: number }> {
    let written = 0;
    let bytes = 0;
    const writes: Promise<void>[] = [];
    const write = (key: string, value: string, slot: Slot | undefined, done: (s: Slot) => void) => {
      const data = Buffer.from(value);
      bytes += data.length;
      written++;
      writes.push(
        (slot ? kv.update(key, data, slot.rev) : kv.create(key, data)).then(
          (rev) => done({ rev, bytes: data.length }),
          (err: unknown) => {
            throw isConflict(err) ? new StateConflictError(this.partition, key, { cause: err }) : err;
          },
        ),
      );
    };
    for (const device of this.dirty) {
      const rules = this.rules.devices.get(device);
      const baseline = this.baselines.get(device);
      const rec: DeviceRecord = { v: 2, device };
      if (rules) rec.rules = rules;
      if (baseline) rec.baseline = baseline;
      const old = this.slots.get(device);
      write(deviceKey(this.partition, device), JSON.stringify(rec), old, (s) => {
        this.bytes += s.bytes - (this.slots.get(device)?.bytes ?? 0);
        this.slots.set(device, s);
        collectMetrics.stateRecordBytes.observe(s.bytes);
      });
    }
    if (this.partDirty) {
      const rec: PartitionRecord = { v: 2, rules: this.rules.partition };
      if (Object.keys(this.ops).length) rec.ops = this.ops;
      write(partitionKey(this.partition), JSON.stringify(rec), this.partSlot, (s) => (this.partSlot = s));
    }
    // All writes are awaited before reporting (a rejected one must not leave others unobserved).
    const results = await Promise.allSettled(writes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.dirty.clear();
    this.partDirty = false;
    this.exportMetrics();
    return { written, bytes };
  }

  /**
   * Devices to drop: silent (stream clock) longer than pruneAfterMs, then the
   * longest-silent beyond maxDevices. Returns their ids; the caller emits what
   * the rule engine says about them, then calls `remove`.
   */
  pruneCandidates(streamMs: number, limits: StateLimits): string[] {
    const out: string[] = [];
    const lastSeen = (d: string) => this.rules.devices.get(d)?.seenAtMs ?? 0;
    const keep: string[] = [];
    for (const device of this.slots.keys()) {
      if (streamMs - lastSeen(device) > limits.pruneAfterMs) out.push(device);
      else keep.push(device);
    }
    if (keep.length > limits.maxDevices) {
      keep.sort((a, b) => lastSeen(a) - lastSeen(b));
      out.push(...keep.slice(0, keep.length - limits.maxDevices));
    }
    return out;
  }

  /** Deletes records from KV and memory (compare-and-set on the known revision). */
  async remove(kv: KV, devices: string[]): Promise<void> {
    await Promise.all(
      devices.map(async (device) => {
        const slot = this.slots.get(device);
        try {
          await kv.delete(deviceKey(this.partition, device), slot ? { previousSeq: slot.rev } : undefined);
        } catch (err) {
          throw isConflict(err) ? new StateConflictError(this.partition, deviceKey(this.partition, device), { cause: err }) : err;
        }
        this.bytes -= slot?.bytes ?? 0;
        this.slots.delete(device);
        this.rules.devices.delete(device);
        this.baselines.delete(device);
        this.healthWritten.delete(device);
        this.dirty.delete(device);
      }),
    );
    if (devices.length) collectMetrics.statePruned.inc({ partition: String(this.partition) }, devices.length);
    this.exportMetrics();
  }

  exportMetrics(): void {
    const label = { partition: String(this.partition) };
    collectMetrics.stateDevices.set(label, this.slots.size);
    collectMetrics.stateBytes.set(label, this.bytes);
  }
}

function isConflict(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: string; code?: string };
  // 10071: wrong last sequence (update / delete with previousSeq); create() on an existing key reports it too.
  return e?.api_error?.err_code === 10071 || /wrong last sequence|key exists/i.test(e?.message ?? '');
}

/**
 * Owns the KV bucket and the per-partition caches of this process.
 * `get` loads a partition once (one KV watch over `d.<p>.>` plus `m.<p>`).
 */
export class CollectorStateStore {
  private kvp: Promise<KV> | undefined;
  private readonly parts = new Map<number, Promise<PartitionState>>();

  constructor(
    private readonly js: JetStreamClient,
    private readonly owns: (partition: number, device: string) => boolean,
  ) {}

  kv(): Promise<KV> {
    return (this.kvp ??= this.js.views.kv(STATE_BUCKET));
  }

  get(partition: number): Promise<PartitionState> {
    let p = this.parts.get(partition);
    if (!p) {
      p = this.load(partition);
      this.parts.set(partition, p);
      p.catch(() => this.parts.delete(partition));
    }
    return p;
  }

  /** Forget a partition's cache (after a failed or conflicting flush): the next `get` reloads from KV. */
  drop(partition: number): void {
    this.parts.delete(partition);
  }

  private async load(partition: number): Promise<PartitionState> {
    const kv = await this.kv();
    const t0 = performance.now();
    const meta = await kv.get(partitionKey(partition));
    const part = meta && meta.length > 0 && meta.operation === 'PUT' ? (meta.json<PartitionRecord>() as PartitionRecord) : undefined;
    const state = new PartitionState(
      partition,
      part?.v === 2 ? part : undefined,
      meta && meta.operation === 'PUT' ? { rev: meta.revision, bytes: meta.length } : undefined,
      (d) => this.owns(partition, d),
    );
    // A watch streams every current value of the prefix in one go (far faster than a get per key).
    // nats.js runs initializedFn after the last initial value (or at once when there is none).
    let initialized = false;
    const ref: { iter?: { stop(): void } } = {};
    const entries = await kv.watch({
      key: `d.${partition}.>`,
      initializedFn: () => {
        initialized = true;
        ref.iter?.stop();
      },
    });
    ref.iter = entries;
    if (initialized) entries.stop();
    for await (const e of entries) {
      if (e.operation !== 'PUT' || e.length === 0) continue;
      const rec = e.json<DeviceRecord>();
      if (rec?.v === 2 && typeof rec.device === 'string') state.adopt(rec, e.revision, e.length);
    }
    collectMetrics.stateLoadSeconds.observe((performance.now() - t0) / 1_000);
    state.exportMetrics();
    return state;
  }
}


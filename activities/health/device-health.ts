/**
 * What the driver says and what the device's own limits allow, per point:
 * sticky driver holds (recovery action, row remap, uncorrected ECC, XIDs
 * that need a reset), temperature by headroom to the device's slowdown
 * threshold, fan by the board's fan mode (zero-RPM), power by the device's
 * own limits, the device's own normal range and a peer score against GPUs
 * of the same model on the same host in the batch. Pure, no I/O.
 *
 * Invariants:
 * - A hold stays until the driver's own signal clears (recovery action back
 *   to None, pending/failure back to No, volatile DBE back to 0); evidence
 *   the driver can never clear (an aggregate-only DBE increase) ends after
 *   AGGREGATE_HOLD_MAX_S. At most MAX_HOLDS holds per device.
 * - State lives in the scorer-owned baseline (`DeviceBaseline.health`): the
 *   input baselines are never mutated (copied on first touch per batch).
 * - Deterministic: reasons and evidence are built only from the points, the
 *   catalog and the state; no clock reads.
 */
import type { HealthClass } from '../../lib/alerts/types.ts';
import type { Point } from '../../lib/point.ts';
import { recoveryEntry, xidEntry, type XidEntry } from '../../lib/health/xid-catalog.ts';
import { xidReason } from './hard-faults.ts';
import type { CatalogEvidence, DriverHold, EpisodeHistory, HealthEvidence } from '../../lib/health/evidence.ts';

export type { CatalogEvidence, DriverHold, HealthEvidence } from '../../lib/health/evidence.ts';

/** Headroom (°C to slowdown) at or below which a device is degraded / critical; slowdown itself starts at 0. */
export const HEADROOM_DEGRADED_C = 3;
export const HEADROOM_CRITICAL_C = 1;
/** Zero-RPM boards stop their fans below about this temperature; a stopped fan above it is suspect. */
export const ZERO_RPM_MAX_C = 60;
/** A stopped fan this hot (°C) with no headroom reported is a fault. */
export const FAN_STOPPED_CRITICAL_C = 80;
/** Sustained draw above the enforced limit by this factor is a power-limit breach. */
export const POWER_OVER_LIMIT_RATIO = 1.1;
/** Temperature the model sees at headroom 0: inside its healthy training frame, so limits judge temperature. */
export const MODEL_FRAME_SLOWDOWN_C = 82;
/** Aggregate-only DBE evidence (no volatile counter, no recovery action) ends after this, s. */
export const AGGREGATE_HOLD_MAX_S = 86_400;
/** Own-range learning: samples before the range is trusted, EWMA weight per sample. */
export const OWN_RANGE_MIN_N = 300;
const OWN_ALPHA = 0.01;
/** Peer score: at least this many peers (same model, same host, same batch), and |robust z| over PEER_Z. */
export const PEER_MIN = 3;
export const PEER_Z = 4;
/** A peer deviation must also be at least this large to count (°C), so tight fleets do not page on noise. */
export const PEER_MIN_DIFF_C = 8;
export const MAX_HOLDS = 8;

/** Per-device health state kept in the baseline (JSON-safe, bounded). */
export interface DeviceHealthState {
  v: 1;
  holds: DriverHold[];
  /** Slowdown temperature, °C: reported, else temperature + headroom. */
  slowdownC: number | null;
  /** The board has been seen at 0 % fan while cool (zero-RPM fan mode). */
  zeroRpm: boolean;
  /** Own range of temperature and power ratio (EWMA mean / variance), samples counted. */
  n: number;
  tempMean: number | null;
  tempVar: number;
  powerMean: number | null;
  powerVar: number;
  lastVolDbe: number | null;
  lastDbe: number | null;
  lastXid: number | null;
  /** The device reports gpu_recovery_action (so XID holds can wait for it to read None). */
  reportsRecovery?: boolean;
  /** Unhealthy episodes (healthy → not healthy transitions of the final class), first/last start ns. */
  episodes?: number;
  firstEpisodeTs?: string;
  lastEpisodeTs?: string;
  /** Final class of the previous point. */
  lastClass?: HealthClass;
}

export function newDeviceHealthState(): DeviceHealthState {
  return { v: 1, holds: [], slowdownC: null, zeroRpm: false, n: 0, tempMean: null, tempVar: 0, powerMean: null, powerVar: 0, lastVolDbe: null, lastDbe: null, lastXid: null };
}

/**
 * Driver/limit verdict of one point. The evidence (driver signals, holds,
 * limits, own range) is needed only when the point ends up not healthy —
 * a few points in a healthy fleet — so the verdict keeps the numbers it is
 * made of and builds it on first read (the collector scores every point;
 * building it eagerly was a third of the health cost per point).
 */
export class DeviceVerdict {
  class: HealthClass | null;
  reasons: readonly string[];
  /** The fan is in zero-RPM mode on this point: the model must not read 0 % fan as a stuck fan. */
  zeroRpmIdle: boolean;
  /** Headroom on this point (reported or derived), °C. */
  headroomC: number | undefined;
  /** The inputs of `evidence`, as they were at this point (holds are replaced, never mutated: see setHold). */
  private readonly fields: Record<string, number>;
  private readonly holds: readonly DriverHold[];
  private readonly catalog: CatalogEvidence[] | undefined;
  private readonly slowdownC: number | null;
  private readonly powerLimit: number | undefined;
  /** The device's own range before this point (once learned: `ownN` ≥ OWN_RANGE_MIN_N), with the point's values. Plain numbers, not an object: one verdict per point. */
  private readonly ownN: number;
  private readonly ownTemp: number | undefined;
  private readonly ownRatio: number | undefined;
  private readonly tempMean: number | null;
  private readonly tempVar: number;
  private readonly powerMean: number | null;
  private readonly powerVar: number;
  private built: HealthEvidence | undefined;

  constructor(
    cls: HealthClass | null,
    reasons: readonly string[],
    zeroRpmIdle: boolean,
    headroomC: number | undefined,
    fields: Record<string, number>,
    holds: readonly DriverHold[],
    catalog: CatalogEvidence[] | undefined,
    slowdownC: number | null,
    powerLimit: number | undefined,
    own: DeviceHealthState,
    ownTemp: number | undefined,
    ownRatio: number | undefined,
  ) {
    this.class = cls;
    this.reasons = reasons;
    this.zeroRpmIdle = zeroRpmIdle;
    this.headroomC = headroomC;
    this.fields = fields;
    this.holds = holds;
    this.catalog = catalog;
    this.slowdownC = slowdownC;
    this.powerLimit = powerLimit;
    this.ownN = own.n;
    this.ownTemp = ownTemp;
    this.ownRatio = ownRatio;
    this.tempMean = own.tempMean;
    this.tempVar = own.tempVar;
    this.powerMean = own.powerMean;
    this.powerVar = own.powerVar;
    this.built = undefined;
  }

  get evidence(): HealthEvidence {
    if (this.built) return this.built;
    const f = this.fields;
    const driver: Record<string, number> = {};
    for (const k of DRIVER_FIELDS) if (num(f[k])) driver[k] = f[k];
    const limits: Record<string, number> = {};
    if (this.headroomC !== undefined) {
      limits.headroom_c = this.headroomC;
      if (this.slowdownC !== null) limits.slowdown_c = this.slowdownC;
    }
    if (num(this.powerLimit)) limits.power_limit_w = this.powerLimit;
    const maxLimit = f['power_max_limit_w'];
    if (num(maxLimit)) limits.power_max_limit_w = maxLimit;
    const evidence: HealthEvidence = { driver, holds: this.holds.map((h) => ({ ...h })), catalog: this.catalog ?? [], limits };
    if (this.ownN >= OWN_RANGE_MIN_N) {
      const baseline: NonNullable<HealthEvidence['baseline']> = [];
      const t = this.ownTemp;
      if (t !== undefined && this.tempMean !== null) {
        const sd = Math.max(Math.sqrt(this.tempVar), 1);
        baseline.push({ field: 'temperature_c', value: t, mean: round(this.tempMean), sd: round(sd), z: round((t - this.tempMean) / sd) });
      }
      const r = this.ownRatio;
      if (r !== undefined && this.powerMean !== null) {
        const sd = Math.max(Math.sqrt(this.powerVar), 0.02);
        baseline.push({ field: 'power_ratio', value: round(r), mean: round(this.powerMean), sd: round(sd), z: round((r - this.powerMean) / sd) });
      }
      if (baseline.length > 0) evidence.baseline = baseline;
    }
    return (this.built = evidence);
  }
}

const DRIVER_FIELDS = [
  'gpu_recovery_action',
  'remapped_rows_pending',
  'remapped_rows_failure',
  'remapped_rows_uncorrectable',
  'retired_pages_pending',
  'retired_pages_dbe',
  'ecc_dbe_volatile',
  'ecc_dbe',
  'xid',
  'fabric_state',
  'fabric_status',
  'nvlink_replay_errors',
  'nvlink_recovery_errors',
] as const;

const num = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
const RANK: Record<HealthClass, number> = { healthy: 0, degraded: 1, critical: 2 };
const worse = (a: HealthClass | null, b: HealthClass | null): HealthClass | null => (b === null ? a : a === null || RANK[b] > RANK[a] ? b : a);

function catalogXid(e: XidEntry & { code: number }): CatalogEvidence {
  return {
    kind: 'xid',
    code: e.code,
    name: e.mnemonic,
    severity: e.severity,
    recommended_action: e.recommended_action,
    resets_needed: e.resets_needed,
    source: e.source,
  };
}

function setHold(s: DeviceHealthState, h: DriverHold): void {
  const i = s.holds.findIndex((x) => x.cause === h.cause);
  // Copy-on-write: a verdict keeps the array of its point (DeviceVerdict builds evidence from it later).
  if (i >= 0) {
    // Keep the start of the episode; the class may escalate.
    const prev = s.holds[i]!;
    const next = { ...h, since: prev.since, class: RANK[h.class] > RANK[prev.class] ? h.class : prev.class };
    s.holds = s.holds.map((x, k) => (k === i ? next : x));
    return;
  }
  let holds = s.holds;
  if (holds.length >= MAX_HOLDS) {
    // Bounded: drop the oldest degraded hold first, else the oldest.
    const j = holds.findIndex((x) => x.class === 'degraded');
    const drop = j >= 0 ? j : 0;
    holds = holds.filter((_, k) => k !== drop);
  }
  s.holds = [...holds, h];
}

const clearHold = (s: DeviceHealthState, cause: string): void => {
  if (s.holds.some((h) => h.cause === cause)) s.holds = s.holds.filter((h) => h.cause !== cause);
};

const REMAP_SRC = 'https://docs.nvidia.com/deploy/a100-gpu-mem-error-mgmt/error-recovery-and-response-flags.html';
const DBE_ACTION = xidEntry(48).recommended_action;
const DBE_SOURCE = xidEntry(48).source;

/** A driver flag (1 = set, 0 = clear) that holds until it reads 0. */
function flagHold(s: DeviceHealthState, f: Record<string, number>, ts: string, field: string, cause: string, c: 'degraded' | 'critical', action: string, clears: string): void {
  const v = f[field];
  if (v === 1) setHold(s, { cause, class: c, since: ts, action, source: REMAP_SRC, clearsWhen: clears });
  else if (v === 0) clearHold(s, cause);
}

/** Throttle detail: `hw` = HW slowdown / HW thermal / power brake (hardware protection); `sw` = SW thermal slowdown. */
const HW_BIT = 1;
const SW_BIT = 2;
/** HW_BIT | SW_BIT (a number, not an object: this runs for every point). */
function thermalBits(f: Record<string, number>): number {
  const r = f['throttle_reasons'];
  const hw =
    (num(r) && (r & (0x8 | 0x40 | 0x80)) !== 0) ||
    f['throttle_hw_slowdown'] === 1 ||
    f['throttle_reason_hw_slowdown'] === 1 ||
    f['throttle_reason_hw_thermal_slowdown'] === 1 ||
    f['throttle_reason_hw_power_brake_slowdown'] === 1;
  // A thermal flag not explained by a HW cause is the SW (GPU Boost) slowdown.
  const sw = (num(r) && (r & 0x20) !== 0) || f['throttle_reason_sw_thermal_slowdown'] === 1 || (f['throttle_thermal'] === 1 && !hw);
  return (hw ? HW_BIT : 0) | (sw ? SW_BIT : 0);
}

/**
 * Driver signals and device limits of one point; mutates `s` (the caller's copy).
 * `powerLimit` is the device's enforced limit (point, else last seen).
 */
export function assessPoint(p: Point, s: DeviceHealthState, powerLimit: number | undefined): DeviceVerdict {
  const f = p.fields;
  // Allocated only when something is found: most points of a healthy fleet have no reason at all.
  let reasons: string[] | undefined;
  let catalog: CatalogEvidence[] | undefined;
  let cls: HealthClass | null = null;

  // --- driver signals → holds
  const ra = f['gpu_recovery_action'];
  if (num(ra)) {
    s.reportsRecovery = true;
    const e = recoveryEntry(ra);
    if (e !== undefined && e.code !== 0) {
      setHold(s, { cause: 'recovery_action', class: 'critical', since: p.ts, action: e.recommended_action, source: e.source, clearsWhen: 'gpu_recovery_action reads None' });
      (catalog ??= []).push({ kind: 'recovery_action', code: e.code, name: e.name, severity: e.severity, recommended_action: e.recommended_action, resets_needed: e.resets_needed, source: e.source });
    } else if (e !== undefined) {
      clearHold(s, 'recovery_action');
      // The driver says no action is needed: XID holds it asked a reset for are over.
      for (const h of s.holds) if (h.cause.startsWith('xid_') && h.since !== p.ts) clearHold(s, h.cause);
    }
  }
  flagHold(s, f, p.ts, 'remapped_rows_failure', 'remap_failure', 'critical', 'Row remapping failed: drain the GPU and contact support (RMA criterion).', 'remapped_rows.failure reads No');
  flagHold(s, f, p.ts, 'remapped_rows_pending', 'remap_pending', 'degraded', 'Reset the GPU when its jobs allow, to activate the pending row remap.', 'remapped_rows.pending reads No');
  flagHold(s, f, p.ts, 'retired_pages_pending', 'retired_pending', 'degraded', 'Reload the driver / reset the GPU to activate the retired page.', 'retired_pages.pending reads No');

  // Uncorrected ECC: the volatile counter is the driver's "not reset since"; the aggregate only tells an increase.
  const vol = f['ecc_dbe_volatile'];
  const agg = f['ecc_dbe'];
  if (num(vol)) {
    if (vol > 0) setHold(s, { cause: 'ecc_dbe', class: 'critical', since: p.ts, action: DBE_ACTION, source: DBE_SOURCE, clearsWhen: 'the volatile uncorrected ECC count reads 0 (GPU reset)' });
    else clearHold(s, 'ecc_dbe');
    s.lastVolDbe = vol;
  } else if (num(agg)) {
    if (s.lastDbe !== null && agg > s.lastDbe) {
      setHold(s, { cause: 'ecc_dbe', class: 'critical', since: p.ts, action: DBE_ACTION, source: DBE_SOURCE, clearsWhen: `a volatile ECC count of 0, or ${AGGREGATE_HOLD_MAX_S / 3600} h without a new error` });
    } else if (s.lastDbe !== null && agg < s.lastDbe) clearHold(s, 'ecc_dbe'); // counter reset
  }
  if (num(agg)) s.lastDbe = agg;

  // XIDs: severity and reset need from the catalog; ones that need a reset hold until the driver says None.
  const xid = f['xid'];
  if (num(xid) && xid > 0) {
    const e = xidEntry(Math.trunc(xid));
    (catalog ??= []).push(catalogXid(e));
    const c: HealthClass = e.severity === 'critical' ? 'critical' : e.severity === 'warning' ? 'degraded' : 'healthy';
    (reasons ??= []).push(xidReason(e.code));
    if (e.resets_needed && c !== 'healthy') {
      const clears = s.reportsRecovery === true ? 'gpu_recovery_action reads None' : `${AGGREGATE_HOLD_MAX_S / 3600} h after the XID (the device reports no recovery action)`;
      setHold(s, { cause: `xid_${e.code}`, class: c, since: p.ts, action: e.recommended_action, source: e.source, clearsWhen: clears });
    } else cls = worse(cls, c);
    s.lastXid = e.code;
  }
  const fabricStatus = f['fabric_status'];
  if (fabricStatus === 1) {
    cls = worse(cls, 'critical');
    (reasons ??= []).push('fabric_registration_failed');
  }

  // Evidence no later signal can clear (an aggregate-only DBE increase; an XID on a device that does not
  // report gpu_recovery_action) expires; the others wait for their signal.
  if (s.holds.length > 0) {
    // BigInt only when there is a hold to age (this runs for every point).
    const ts = BigInt(p.ts);
    const maxNs = BigInt(AGGREGATE_HOLD_MAX_S) * 1_000_000_000n;
    const expired = (h: DriverHold) => {
      const unclearable = (h.cause === 'ecc_dbe' && s.lastVolDbe === null) || (h.cause.startsWith('xid_') && s.reportsRecovery !== true);
      return unclearable && ts - BigInt(h.since) > maxNs;
    };
    if (s.holds.some(expired)) s.holds = s.holds.filter((h) => !expired(h));
    for (const h of s.holds) {
      cls = worse(cls, h.class);
      const r = `driver_${h.cause}`;
      if (!(reasons ??= []).includes(r)) reasons.push(r);
    }
    if (num(ra) && ra !== 0 && s.holds.some((h) => h.cause === 'recovery_action')) {
      const e = recoveryEntry(ra);
      if (e !== undefined) (reasons ??= []).push(`recovery_action_${e.name.toLowerCase().replace(/ /g, '_')}`);
    }
  }

  // --- temperature by headroom
  const temp = f['temperature_c'];
  const slowdown = f['temp_slowdown_c'];
  let headroom = f['temp_headroom_c'];
  if (num(slowdown)) s.slowdownC = slowdown;
  else if (num(headroom) && num(temp)) s.slowdownC = temp + headroom;
  if (!num(headroom) && num(temp) && s.slowdownC !== null) headroom = s.slowdownC - temp;
  if (num(headroom)) {
    if (headroom <= HEADROOM_CRITICAL_C) {
      cls = worse(cls, 'critical');
      (reasons ??= []).push(`thermal_headroom_${headroom}c`);
    } else if (headroom <= HEADROOM_DEGRADED_C) {
      cls = worse(cls, 'degraded');
      (reasons ??= []).push(`thermal_headroom_${headroom}c`);
    }
  }
  // HW protection (HW slowdown, HW thermal, power brake) is critical; SW thermal slowdown is GPU Boost
  // trimming clocks near its target, routine on consumer boards: degraded, critical only without headroom.
  const bits = thermalBits(f);
  if (bits & HW_BIT) {
    cls = worse(cls, 'critical');
    (reasons ??= []).push('hw_slowdown');
  } else if (bits & SW_BIT) {
    cls = worse(cls, num(headroom) && headroom <= HEADROOM_CRITICAL_C ? 'critical' : 'degraded');
    (reasons ??= []).push('sw_thermal_slowdown');
  }

  // --- fan by fan mode
  const fan = f['fan_pct'];
  let zeroRpmIdle = false;
  if (num(fan) && num(temp) && fan === 0) {
    if (temp < ZERO_RPM_MAX_C) {
      s.zeroRpm = true;
      zeroRpmIdle = true;
    } else {
      cls = worse(cls, temp >= FAN_STOPPED_CRITICAL_C ? 'critical' : 'degraded');
      (reasons ??= []).push(`fan_stopped_at_${temp}c`);
    }
  }

  // --- power by the device's own limits
  const power = f['power_w'];
  if (num(power) && num(powerLimit) && powerLimit > 0 && power > powerLimit * POWER_OVER_LIMIT_RATIO) {
    cls = worse(cls, 'degraded');
    (reasons ??= []).push(`power_over_limit_${Math.round((power / powerLimit) * 100)}pct`);
  }

  // --- own range (evidence; learned only from points the driver and limits call healthy)
  const ratio = num(power) && num(powerLimit) && powerLimit > 0 ? power / powerLimit : undefined;
  // The verdict copies the own range before this point's update (its evidence compares with the past).
  const verdict = new DeviceVerdict(cls, reasons ?? NO_REASONS, zeroRpmIdle, num(headroom) ? headroom : undefined, f, s.holds, catalog, s.slowdownC, powerLimit, s, num(temp) ? temp : undefined, ratio);
  if (cls === null) {
    if (num(temp)) {
      s.tempVar = ewmaVar(s.tempMean, s.tempVar, temp);
      s.tempMean = ewmaMean(s.tempMean, temp);
    }
    if (ratio !== undefined) {
      s.powerVar = ewmaVar(s.powerMean, s.powerVar, ratio);
      s.powerMean = ewmaMean(s.powerMean, ratio);
    }
    s.n++;
  }
  return verdict;
}

const NO_REASONS: readonly string[] = Object.freeze([]);

/** One EWMA step of the own range (numbers in, number out: this runs for every healthy point). The variance uses the old mean. */
function ewmaVar(mean: number | null, v: number, x: number): number {
  if (mean === null) return 0;
  const d = x - mean;
  return (1 - OWN_ALPHA) * (v + OWN_ALPHA * d * d);
}
const ewmaMean = (mean: number | null, x: number): number => (mean === null ? x : mean + OWN_ALPHA * (x - mean));

const round = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Peer score per point: temperature against the median of the other GPUs of
 * the same model on the same host in this batch (latest reading each), as a
 * robust z (MAD-scaled). Bounded by the batch. Returns undefined where no
 * peer group of PEER_MIN exists.
 */
export function peerScores(points: readonly Point[]): (HealthEvidence['peers'] | undefined)[] {
  const latest = new Map<string, Map<string, number>>();
  // The points of one device in a decoded batch share one tags object: one key string per object.
  const keyOf = new Map<Record<string, string>, string>();
  const groupOf = (tags: Record<string, string>): string => {
    let g = keyOf.get(tags);
    if (g === undefined) keyOf.set(tags, (g = `${tags['host'] ?? ''}\u0000${tags['model'] ?? ''}`));
    return g;
  };
  for (const p of points) {
    const t = p.fields['temperature_c'];
    if (!num(t)) continue;
    const g = groupOf(p.tags);
    let m = latest.get(g);
    if (!m) latest.set(g, (m = new Map()));
    m.set(p.device, t);
  }
  const stats = new Map<string, { median: number; mad: number; n: number }>();
  for (const [g, m] of latest) {
    if (m.size < PEER_MIN) continue;
    const v = [...m.values()].sort((a, b) => a - b);
    const median = v[Math.floor(v.length / 2)]!;
    const dev = v.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
    stats.set(g, { median, mad: dev[Math.floor(dev.length / 2)]!, n: m.size });
  }
  return points.map((p) => {
    const t = p.fields['temperature_c'];
    const s = stats.size === 0 ? undefined : stats.get(groupOf(p.tags));
    if (!num(t) || s === undefined) return undefined;
    const z = (t - s.median) / Math.max(1.4826 * s.mad, 1);
    return { field: 'temperature_c', value: t, median: s.median, n: s.n, z: round(z) };
  });
}

/** True when the peer score says the point runs far hotter than its peers. */
export function peerOutlier(peers: HealthEvidence['peers'] | undefined): boolean {
  return peers !== undefined && peers.z >= PEER_Z && peers.value - peers.median >= PEER_MIN_DIFF_C;
}

/**
 * Driver signals, limits and peer scores for a batch, after featurize: updates
 * `baselines[device].health` (copying state on first touch, never the input's
 * objects) and moves the feature rows into the model's frame — temperature as
 * MODEL_FRAME_SLOWDOWN_C minus headroom when the device reports its limit,
 * fan as "not reported" while a zero-RPM board idles — so one model serves a
 * consumer card, an A100 and an H200 and the limits, not the fleet-wide
 * training envelope, judge temperature and fan.
 */
export function assessBatch(
  points: readonly Point[],
  features: Float32Array,
  baselines: Record<string, { powerLimit: number | null; health?: DeviceHealthState }>,
  frame: { nFeatures: number; tempC: number; fanRatio: number; fanTempGap: number; fanMissing: number; imputeFanRatio: number },
): { verdicts: DeviceVerdict[]; peers: (HealthEvidence['peers'] | undefined)[] } {
  const copied = new Set<string>();
  const verdicts: DeviceVerdict[] = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const b = baselines[p.device]!;
    if (!copied.has(p.device)) {
      const prev = b.health;
      b.health = prev === undefined ? newDeviceHealthState() : { ...prev, holds: prev.holds.map((h) => ({ ...h })) };
      copied.add(p.device);
    }
    const v = assessPoint(p, b.health!, b.powerLimit ?? undefined);
    verdicts[i] = v;
    const o = i * frame.nFeatures;
    if (v.headroomC !== undefined) {
      const t = MODEL_FRAME_SLOWDOWN_C - Math.max(v.headroomC, 0);
      features[o + frame.tempC] = t;
      if (features[o + frame.fanMissing] === 0) {
        const fr = features[o + frame.fanRatio]!;
        features[o + frame.fanTempGap] = Math.min(Math.max((t - 30) / 55, 0), 1) - fr;
      }
    }
    if (v.zeroRpmIdle) {
      features[o + frame.fanMissing] = 1;
      features[o + frame.fanRatio] = frame.imputeFanRatio;
      features[o + frame.fanTempGap] = 0;
    }
  }
  return { verdicts, peers: peerScores(points) };
}

/**
 * Counts unhealthy episodes per device from the final classes (in batch
 * order) and gives each non-healthy point the history before its episode.
 */
export function trackEpisodes(
  points: readonly Point[],
  classes: readonly HealthClass[],
  baselines: Record<string, { health?: DeviceHealthState }>,
): (EpisodeHistory | undefined)[] {
  const out: (EpisodeHistory | undefined)[] = new Array(points.length);
  const current = new Map<string, EpisodeHistory>();
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const s = baselines[p.device]?.health;
    if (s === undefined) continue;
    const c = classes[i]!;
    if (c !== 'healthy' && (s.lastClass ?? 'healthy') === 'healthy') {
      const n = s.episodes ?? 0;
      const h: EpisodeHistory = { previous: n };
      if (s.lastEpisodeTs !== undefined) h.lastAt = new Date(Number(BigInt(s.lastEpisodeTs) / 1_000_000n)).toISOString();
      if (n >= 1 && s.firstEpisodeTs !== undefined) {
        h.mtbiHours = Math.round((Number(BigInt(p.ts) - BigInt(s.firstEpisodeTs)) / 1e9 / 3600 / n) * 100) / 100;
      }
      current.set(p.device, h);
      s.episodes = n + 1;
      s.firstEpisodeTs ??= p.ts;
      s.lastEpisodeTs = p.ts;
    }
    if (c !== 'healthy') out[i] = current.get(p.device) ?? { previous: Math.max((s.episodes ?? 1) - 1, 0) };
    s.lastClass = c;
  }
  return out;
}

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

export interface DeviceVerdict {
  class: HealthClass | null;
  reasons: string[];
  evidence: HealthEvidence;
  /** The fan is in zero-RPM mode on this point: the model must not read 0 % fan as a stuck fan. */
  zeroRpmIdle: boolean;
  /** Headroom on this point (reported or derived), °C. */
  headroomC: number | undefined;
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
  if (i >= 0) {
    // Keep the start of the episode; the class may escalate.
    const prev = s.holds[i]!;
    s.holds[i] = { ...h, since: prev.since, class: RANK[h.class] > RANK[prev.class] ? h.class : prev.class };
    return;
  }
  if (s.holds.length >= MAX_HOLDS) {
    // Bounded: drop the oldest degraded hold first, else the oldest.
    const j = s.holds.findIndex((x) => x.class === 'degraded');
    s.holds.splice(j >= 0 ? j : 0, 1);
  }
  s.holds.push(h);
}

const clearHold = (s: DeviceHealthState, cause: string): void => {
  s.holds = s.holds.filter((h) => h.cause !== cause);
};

/** Throttle detail: `hw` = HW slowdown / HW thermal / power brake (hardware protection); `sw` = SW thermal slowdown. */
function thermalBits(f: Record<string, number>): { hw: boolean; sw: boolean } {
  const r = f['throttle_reasons'];
  const hw =
    (num(r) && (r & (0x8 | 0x40 | 0x80)) !== 0) ||
    f['throttle_hw_slowdown'] === 1 ||
    f['throttle_reason_hw_slowdown'] === 1 ||
    f['throttle_reason_hw_thermal_slowdown'] === 1 ||
    f['throttle_reason_hw_power_brake_slowdown'] === 1;
  // A thermal flag not explained by a HW cause is the SW (GPU Boost) slowdown.
  const sw = (num(r) && (r & 0x20) !== 0) || f['throttle_reason_sw_thermal_slowdown'] === 1 || (f['throttle_thermal'] === 1 && !hw);
  return { hw, sw };
}

function ewma(mean: number | null, v: number, x: number): [number, number] {
  if (mean === null) return [x, 0];
  const d = x - mean;
  const m = mean + OWN_ALPHA * d;
  return [m, (1 - OWN_ALPHA) * (v + OWN_ALPHA * d * d)];
}

/**
 * Driver signals and device limits of one point; mutates `s` (the caller's copy).
 * `powerLimit` is the device's enforced limit (point, else last seen).
 */
export function assessPoint(p: Point, s: DeviceHealthState, powerLimit: number | undefined): DeviceVerdict {
  const f = p.fields;
  const reasons: string[] = [];
  const catalog: CatalogEvidence[] = [];
  const limits: Record<string, number> = {};
  let cls: HealthClass | null = null;

  // --- driver signals → holds
  const ra = f['gpu_recovery_action'];
  if (num(ra)) {
    s.reportsRecovery = true;
    const e = recoveryEntry(ra);
    if (e !== undefined && e.code !== 0) {
      setHold(s, { cause: 'recovery_action', class: 'critical', since: p.ts, action: e.recommended_action, source: e.source, clearsWhen: 'gpu_recovery_action reads None' });
      catalog.push({ kind: 'recovery_action', code: e.code, name: e.name, severity: e.severity, recommended_action: e.recommended_action, resets_needed: e.resets_needed, source: e.source });
    } else if (e !== undefined) {
      clearHold(s, 'recovery_action');
      // The driver says no action is needed: XID holds it asked a reset for are over.
      for (const h of [...s.holds]) if (h.cause.startsWith('xid_') && h.since !== p.ts) clearHold(s, h.cause);
    }
  }
  const REMAP_SRC = 'https://docs.nvidia.com/deploy/a100-gpu-mem-error-mgmt/error-recovery-and-response-flags.html';
  const flagHold = (field: string, cause: string, c: 'degraded' | 'critical', action: string, clears: string) => {
    const v = f[field];
    if (v === 1) setHold(s, { cause, class: c, since: p.ts, action, source: REMAP_SRC, clearsWhen: clears });
    else if (v === 0) clearHold(s, cause);
  };
  flagHold('remapped_rows_failure', 'remap_failure', 'critical', 'Row remapping failed: drain the GPU and contact support (RMA criterion).', 'remapped_rows.failure reads No');
  flagHold('remapped_rows_pending', 'remap_pending', 'degraded', 'Reset the GPU when its jobs allow, to activate the pending row remap.', 'remapped_rows.pending reads No');
  flagHold('retired_pages_pending', 'retired_pending', 'degraded', 'Reload the driver / reset the GPU to activate the retired page.', 'retired_pages.pending reads No');

  // Uncorrected ECC: the volatile counter is the driver's "not reset since"; the aggregate only tells an increase.
  const vol = f['ecc_dbe_volatile'];
  const agg = f['ecc_dbe'];
  const dbeAction = xidEntry(48).recommended_action;
  const dbeSource = xidEntry(48).source;
  if (num(vol)) {
    if (vol > 0) setHold(s, { cause: 'ecc_dbe', class: 'critical', since: p.ts, action: dbeAction, source: dbeSource, clearsWhen: 'the volatile uncorrected ECC count reads 0 (GPU reset)' });
    else clearHold(s, 'ecc_dbe');
    s.lastVolDbe = vol;
  } else if (num(agg)) {
    if (s.lastDbe !== null && agg > s.lastDbe) {
      setHold(s, { cause: 'ecc_dbe', class: 'critical', since: p.ts, action: dbeAction, source: dbeSource, clearsWhen: `a volatile ECC count of 0, or ${AGGREGATE_HOLD_MAX_S / 3600} h without a new error` });
    } else if (s.lastDbe !== null && agg < s.lastDbe) clearHold(s, 'ecc_dbe'); // counter reset
  }
  if (num(agg)) s.lastDbe = agg;

  // XIDs: severity and reset need from the catalog; ones that need a reset hold until the driver says None.
  const xid = f['xid'];
  if (num(xid) && xid > 0) {
    const e = xidEntry(Math.trunc(xid));
    catalog.push(catalogXid(e));
    const c: HealthClass = e.severity === 'critical' ? 'critical' : e.severity === 'warning' ? 'degraded' : 'healthy';
    reasons.push(xidReason(e.code));
    if (e.resets_needed && c !== 'healthy') {
      const clears = s.reportsRecovery === true ? 'gpu_recovery_action reads None' : `${AGGREGATE_HOLD_MAX_S / 3600} h after the XID (the device reports no recovery action)`;
      setHold(s, { cause: `xid_${e.code}`, class: c, since: p.ts, action: e.recommended_action, source: e.source, clearsWhen: clears });
    } else cls = worse(cls, c);
    s.lastXid = e.code;
  }
  const fabricStatus = f['fabric_status'];
  if (fabricStatus === 1) {
    cls = worse(cls, 'critical');
    reasons.push('fabric_registration_failed');
  }

  // Evidence no later signal can clear (an aggregate-only DBE increase; an XID on a device that does not
  // report gpu_recovery_action) expires; the others wait for their signal.
  if (s.holds.length > 0) {
    // BigInt only when there is a hold to age (this runs for every point).
    const ts = BigInt(p.ts);
    const maxNs = BigInt(AGGREGATE_HOLD_MAX_S) * 1_000_000_000n;
    s.holds = s.holds.filter((h) => {
      const unclearable = (h.cause === 'ecc_dbe' && s.lastVolDbe === null) || (h.cause.startsWith('xid_') && s.reportsRecovery !== true);
      return !(unclearable && ts - BigInt(h.since) > maxNs);
    });
  }
  for (const h of s.holds) {
    cls = worse(cls, h.class);
    const r = `driver_${h.cause}`;
    if (!reasons.includes(r)) reasons.push(r);
  }
  if (s.holds.some((h) => h.cause === 'recovery_action') && num(ra) && ra !== 0) {
    const e = recoveryEntry(ra);
    if (e !== undefined) reasons.push(`recovery_action_${e.name.toLowerCase().replace(/ /g, '_')}`);
  }

  // --- temperature by headroom
  const temp = f['temperature_c'];
  const slowdown = f['temp_slowdown_c'];
  let headroom = f['temp_headroom_c'];
  if (num(slowdown)) s.slowdownC = slowdown;
  else if (num(headroom) && num(temp)) s.slowdownC = temp + headroom;
  if (!num(headroom) && num(temp) && s.slowdownC !== null) headroom = s.slowdownC - temp;
  const bits = thermalBits(f);
  if (num(headroom)) {
    limits.headroom_c = headroom;
    if (s.slowdownC !== null) limits.slowdown_c = s.slowdownC;
    if (headroom <= HEADROOM_CRITICAL_C) {
      cls = worse(cls, 'critical');
      reasons.push(`thermal_headroom_${headroom}c`);
    } else if (headroom <= HEADROOM_DEGRADED_C) {
      cls = worse(cls, 'degraded');
      reasons.push(`thermal_headroom_${headroom}c`);
    }
  }
  // HW protection (HW slowdown, HW thermal, power brake) is critical; SW thermal slowdown is GPU Boost
  // trimming clocks near its target, routine on consumer boards: degraded, critical only without headroom.
  if (bits.hw) {
    cls = worse(cls, 'critical');
    reasons.push('hw_slowdown');
  } else if (bits.sw) {
    cls = worse(cls, num(headroom) && headroom <= HEADROOM_CRITICAL_C ? 'critical' : 'degraded');
    reasons.push('sw_thermal_slowdown');
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
      reasons.push(`fan_stopped_at_${temp}c`);
    }
  }

  // --- power by the device's own limits
  const power = f['power_w'];
  const maxLimit = f['power_max_limit_w'];
  if (num(powerLimit)) limits.power_limit_w = powerLimit;
  if (num(maxLimit)) limits.power_max_limit_w = maxLimit;
  if (num(power) && num(powerLimit) && powerLimit > 0 && power > powerLimit * POWER_OVER_LIMIT_RATIO) {
    cls = worse(cls, 'degraded');
    reasons.push(`power_over_limit_${Math.round((power / powerLimit) * 100)}pct`);
  }

  // --- own range (evidence; learned only from points the driver and limits call healthy)
  const baseline: NonNullable<HealthEvidence['baseline']> = [];
  const ratio = num(power) && num(powerLimit) && powerLimit > 0 ? power / powerLimit : undefined;
  if (s.n >= OWN_RANGE_MIN_N) {
    if (num(temp) && s.tempMean !== null) {
      const sd = Math.max(Math.sqrt(s.tempVar), 1);
      baseline.push({ field: 'temperature_c', value: temp, mean: round(s.tempMean), sd: round(sd), z: round((temp - s.tempMean) / sd) });
    }
    if (ratio !== undefined && s.powerMean !== null) {
      const sd = Math.max(Math.sqrt(s.powerVar), 0.02);
      baseline.push({ field: 'power_ratio', value: round(ratio), mean: round(s.powerMean), sd: round(sd), z: round((ratio - s.powerMean) / sd) });
    }
  }
  if (cls === null) {
    if (num(temp)) [s.tempMean, s.tempVar] = ewma(s.tempMean, s.tempVar, temp);
    if (ratio !== undefined) [s.powerMean, s.powerVar] = ewma(s.powerMean, s.powerVar, ratio);
    s.n++;
  }

  const driver: Record<string, number> = {};
  for (const k of DRIVER_FIELDS) if (num(f[k])) driver[k] = f[k];
  const evidence: HealthEvidence = { driver, holds: s.holds.map((h) => ({ ...h })), catalog, limits };
  if (baseline.length > 0) evidence.baseline = baseline;
  return { class: cls, reasons, evidence, zeroRpmIdle, headroomC: num(headroom) ? headroom : undefined };
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Peer score per point: temperature against the median of the other GPUs of
 * the same model on the same host in this batch (latest reading each), as a
 * robust z (MAD-scaled). Bounded by the batch. Returns undefined where no
 * peer group of PEER_MIN exists.
 */
export function peerScores(points: readonly Point[]): (HealthEvidence['peers'] | undefined)[] {
  const latest = new Map<string, Map<string, number>>();
  for (const p of points) {
    const t = p.fields['temperature_c'];
    if (!num(t)) continue;
    const g = `${p.tags['host'] ?? ''}\u0000${p.tags['model'] ?? ''}`;
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
    const s = stats.get(`${p.tags['host'] ?? ''}\u0000${p.tags['model'] ?? ''}`);
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

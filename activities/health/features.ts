/**
 * Feature extraction for the GPU health model. Pure, no I/O.
 *
 * ml/features.json is the single definition of the feature order, imputation
 * values and baseline constants; ml/features.py mirrors this code for training
 * and test/fixtures/health/feature-parity.json (written from Python) pins the
 * two together. Change both, retrain, and regenerate the fixture together.
 */
import spec from '../../ml/features.json' with { type: 'json' };
import type { Point } from '../../lib/point.ts';
import type { DeviceHealthState } from './device-health.ts';

export const FEATURE_NAMES: readonly string[] = spec.features.map((f) => f.name);
export const N_FEATURES = FEATURE_NAMES.length;
/** Time constant (s) of the per-device temperature EWMA. */
export const TEMP_TAU_S: number = spec.baseline.tempTauS;

const IMPUTE: Record<string, number> = Object.fromEntries(spec.features.map((f) => [f.name, f.impute]));

/** Column index of each feature, resolved once so the hot loop writes by offset. */
function idx(name: string): number {
  const i = FEATURE_NAMES.indexOf(name);
  if (i < 0) throw new Error(`ml/features.json has no feature "${name}"`);
  return i;
}
export const FI = {
  temp_c: idx('temp_c'),
  temp_missing: idx('temp_missing'),
  temp_vs_baseline_c: idx('temp_vs_baseline_c'),
  power_ratio: idx('power_ratio'),
  power_missing: idx('power_missing'),
  sm_clock_ratio: idx('sm_clock_ratio'),
  clock_missing: idx('clock_missing'),
  util_gpu: idx('util_gpu'),
  util_mem: idx('util_mem'),
  util_missing: idx('util_missing'),
  util_clock_gap: idx('util_clock_gap'),
  mem_used_ratio: idx('mem_used_ratio'),
  mem_missing: idx('mem_missing'),
  ecc_sbe_delta_log: idx('ecc_sbe_delta_log'),
  ecc_dbe_delta_log: idx('ecc_dbe_delta_log'),
  ecc_missing: idx('ecc_missing'),
  xid_present: idx('xid_present'),
  throttle_thermal: idx('throttle_thermal'),
  throttle_power: idx('throttle_power'),
  throttle_hw_slowdown: idx('throttle_hw_slowdown'),
  fan_ratio: idx('fan_ratio'),
  fan_temp_gap: idx('fan_temp_gap'),
  fan_missing: idx('fan_missing'),
} as const;
if (Object.keys(FI).length !== N_FEATURES) {
  throw new Error('ml/features.json and activities/health/features.ts disagree on the feature set');
}

/** NVML clocks_event_reasons bits (nvml.h nvmlClocksEventReason*). */
const SW_POWER_CAP = 0x4;
const HW_SLOWDOWN = 0x8;
const SW_THERMAL = 0x20;
const HW_THERMAL = 0x40;
const HW_POWER_BRAKE = 0x80;

/**
 * Per-device state carried across batches. JSON-safe (numbers, strings, null)
 * so the collector can keep it in workflow state or rebuild it after a restart.
 */
export interface DeviceBaseline {
  v: 1;
  /** Points seen. */
  n: number;
  /** Newest timestamp seen, ns decimal string. */
  lastTs: string | null;
  /** Time-weighted EWMA of temperature_c, °C. */
  tempMean: number | null;
  /** Last ecc_sbe / ecc_dbe aggregate counters (for deltas). */
  lastSbe: number | null;
  lastDbe: number | null;
  /** sm_clock_max_mhz when reported, else the highest SM clock seen, MHz. */
  smClockMax: number | null;
  /** Last reported power limit, W. */
  powerLimit: number | null;
  /** Last known framebuffer size, MiB. */
  memTotal: number | null;
  /**
   * Driver holds, device limits and own range (device-health.ts owns it).
   * Optional: baselines persisted before it existed start without it.
   */
  health?: DeviceHealthState;
  /** The shadow model's own baseline (shadow-scorer.ts); absent without a shadow model. */
  shadow?: DeviceBaseline;
}

export function newBaseline(): DeviceBaseline {
  return { v: 1, n: 0, lastTs: null, tempMean: null, lastSbe: null, lastDbe: null, smClockMax: null, powerLimit: null, memTotal: null };
}

export interface FeaturizeResult {
  /** Row-major [rows, N_FEATURES]. */
  features: Float32Array;
  rows: number;
  /** Updated baselines (new objects; the input is not mutated). */
  baselines: Record<string, DeviceBaseline>;
}

const clip = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
const num = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

function flag(f: Record<string, number>, name: string, bits: number): number {
  const v = f[name];
  if (num(v)) return v > 0 ? 1 : 0;
  const r = f['throttle_reasons'];
  // The mask fits in 32 bits for every defined reason; `& ` on a double truncates safely.
  if (num(r)) return (r & bits) !== 0 ? 1 : 0;
  return 0; // not reported: no throttling observed
}

function imp(name: string): number {
  return IMPUTE[name] ?? 0;
}

/** Imputation value of a feature (ml/features.json). */
export const imputeOf = imp;

/**
 * (b − a) in seconds for two ns timestamps. Without BigInt on the common path (decimal strings of
 * more than 9 digits, no sign or leading zero, as the codec writes them): seconds and nanoseconds
 * are split and subtracted as doubles, exact to well under a nanosecond for any dt the baseline
 * uses. BigInt for anything else (and garbage still throws there, as before).
 */
function secondsBetween(a: string, b: string): number {
  if (a.length > 9 && b.length > 9 && a.length <= 19 && b.length <= 19 && a.charCodeAt(0) > 48 && b.charCodeAt(0) > 48) {
    const dt = Number(b.slice(0, -9)) - Number(a.slice(0, -9)) + (Number(b.slice(-9)) - Number(a.slice(-9))) / 1e9;
    if (dt === dt) return dt; // NaN: not plain digits
  }
  return Number(BigInt(b) - BigInt(a)) / 1e9;
}

/** The timestamp as the baseline keeps it (canonical decimal). */
function canonicalNs(ts: string): string {
  let plain = ts.length > 0 && ts.length <= 19 && (ts.length === 1 || ts.charCodeAt(0) !== 48);
  for (let i = 0; plain && i < ts.length; i++) {
    const c = ts.charCodeAt(i);
    plain = c >= 48 && c <= 57;
  }
  return plain ? ts : BigInt(ts).toString();
}

/**
 * Features of one point written into `out` at `o`; mutates `b`. Keep in step
 * with ml/features.py featurize_point.
 */
function featurizePoint(p: Point, b: DeviceBaseline, out: Float32Array, o: number): void {
  const f = p.fields;
  const dtS = b.lastTs === null ? null : secondsBetween(b.lastTs, p.ts);

  const temp = f['temperature_c'];
  const hasTemp = num(temp);
  out[o + FI.temp_c] = hasTemp ? temp : imp('temp_c');
  out[o + FI.temp_missing] = hasTemp ? 0 : 1;
  out[o + FI.temp_vs_baseline_c] = !hasTemp ? imp('temp_vs_baseline_c') : b.tempMean === null ? 0 : temp - b.tempMean;

  let limit = f['power_limit_w'];
  if (num(limit) && limit > 0) b.powerLimit = limit;
  else limit = b.powerLimit ?? undefined;
  const power = f['power_w'];
  if (num(power) && num(limit)) {
    out[o + FI.power_ratio] = clip(power / limit, 0, 1.5);
    out[o + FI.power_missing] = 0;
  } else {
    out[o + FI.power_ratio] = imp('power_ratio');
    out[o + FI.power_missing] = 1;
  }

  const sm = f['sm_clock_mhz'];
  const smMax = f['sm_clock_max_mhz'];
  if (num(smMax) && smMax > 0) b.smClockMax = smMax;
  else if (num(sm) && (b.smClockMax === null || sm > b.smClockMax)) b.smClockMax = sm;
  const clockOk = num(sm) && !!b.smClockMax;
  out[o + FI.sm_clock_ratio] = clockOk ? clip(sm / (b.smClockMax as number), 0, 1.2) : imp('sm_clock_ratio');
  out[o + FI.clock_missing] = clockOk ? 0 : 1;

  const ug = f['util_gpu_pct'];
  const hasUtil = num(ug);
  out[o + FI.util_gpu] = hasUtil ? clip(ug / 100, 0, 1) : imp('util_gpu');
  out[o + FI.util_missing] = hasUtil ? 0 : 1;
  const um = f['util_mem_pct'];
  out[o + FI.util_mem] = num(um) ? clip(um / 100, 0, 1) : imp('util_mem');
  // Computed in float64 from the raw values, then stored: the same rounding as Python's cast.
  out[o + FI.util_clock_gap] =
    hasUtil && clockOk ? clip(ug / 100, 0, 1) - clip(sm / (b.smClockMax as number), 0, 1.2) : imp('util_clock_gap');

  const used = f['mem_used_mib'];
  let total = f['mem_total_mib'];
  const free = f['mem_free_mib'];
  if (!num(total) && num(used) && num(free)) total = used + free;
  if (num(total) && total > 0) b.memTotal = total;
  else total = b.memTotal ?? undefined;
  if (num(used) && num(total)) {
    out[o + FI.mem_used_ratio] = clip(used / total, 0, 1);
    out[o + FI.mem_missing] = 0;
  } else {
    out[o + FI.mem_used_ratio] = imp('mem_used_ratio');
    out[o + FI.mem_missing] = 1;
  }

  const sbe = f['ecc_sbe'];
  const dbe = f['ecc_dbe'];
  out[o + FI.ecc_missing] = !num(sbe) && !num(dbe) ? 1 : 0;
  out[o + FI.ecc_sbe_delta_log] = 0;
  out[o + FI.ecc_dbe_delta_log] = 0;
  if (num(sbe)) {
    // A counter that went down was reset (driver reload): count that as no new errors.
    if (b.lastSbe !== null) out[o + FI.ecc_sbe_delta_log] = Math.log1p(Math.max(0, sbe - b.lastSbe));
    b.lastSbe = sbe;
  }
  if (num(dbe)) {
    if (b.lastDbe !== null) out[o + FI.ecc_dbe_delta_log] = Math.log1p(Math.max(0, dbe - b.lastDbe));
    b.lastDbe = dbe;
  }

  const xid = f['xid'];
  out[o + FI.xid_present] = num(xid) && xid > 0 ? 1 : 0;
  out[o + FI.throttle_thermal] = flag(f, 'throttle_thermal', SW_THERMAL | HW_THERMAL);
  out[o + FI.throttle_power] = flag(f, 'throttle_power', SW_POWER_CAP);
  out[o + FI.throttle_hw_slowdown] = flag(f, 'throttle_hw_slowdown', HW_SLOWDOWN | HW_THERMAL | HW_POWER_BRAKE);

  const fan = f['fan_pct'];
  if (num(fan)) {
    const fr = clip(fan / 100, 0, 1);
    out[o + FI.fan_ratio] = fr;
    out[o + FI.fan_missing] = 0;
    out[o + FI.fan_temp_gap] = hasTemp ? clip((temp - 30) / 55, 0, 1) - fr : imp('fan_temp_gap');
  } else {
    out[o + FI.fan_ratio] = imp('fan_ratio');
    out[o + FI.fan_missing] = 1;
    out[o + FI.fan_temp_gap] = imp('fan_temp_gap');
  }

  // Update after computing features: a point is compared with its past only.
  if (hasTemp) {
    if (b.tempMean === null) b.tempMean = temp;
    else {
      // A duplicate or out-of-order timestamp does not move the baseline.
      const alpha = dtS === null || dtS <= 0 ? 0 : 1 - Math.exp(-dtS / TEMP_TAU_S);
      b.tempMean = b.tempMean + alpha * (temp - b.tempMean);
    }
  }
  if (b.lastTs === null || (dtS !== null && dtS > 0)) b.lastTs = canonicalNs(p.ts);
  b.n += 1;
}

/**
 * Features for a batch, in the batch's order (points of many devices may be
 * interleaved; each device's baseline advances in arrival order).
 */
export function featurize(points: readonly Point[], baselines: Readonly<Record<string, DeviceBaseline>>): FeaturizeResult {
  const out = new Float32Array(points.length * N_FEATURES);
  const next: Record<string, DeviceBaseline> = { ...baselines };
  const copied = new Set<string>();
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    let b = next[p.device];
    if (!b) {
      b = newBaseline();
      next[p.device] = b;
      copied.add(p.device);
    } else if (!copied.has(p.device)) {
      b = { ...b };
      next[p.device] = b;
      copied.add(p.device);
    }
    featurizePoint(p, b, out, i * N_FEATURES);
  }
  return { features: out, rows: points.length, baselines: next };
}

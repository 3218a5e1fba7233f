/**
 * The arithmetic of the benchmarks, pure: medians with min/max over trials
 * (also over nested figure objects), nearest-rank percentiles, and the
 * least-squares slope of a series.
 */

/** Median of finite values (mean of the middle two for an even count). Throws on an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Nearest-rank percentile (p in 0…100): the smallest value with at least p %
 * of the values at or below it. With 20 samples p99 is the maximum.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0…100`);
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function latencySummary(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { n: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  return { n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) };
}

/** Slope of the least-squares line through (x, y); 0 for fewer than two distinct x. */
export function leastSquaresSlope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** A figure object: numbers, possibly nested (e.g. `{ pps: 1, cpu: { worker: 2 } }`); undefined leaves are skipped. */
export type Figures = { [key: string]: number | Figures | undefined };

/**
 * Per leaf of the trials' figures: the median, the min and the max, each in
 * the trials' own shape. A leaf missing or non-finite in some trial is taken
 * over the trials that have it (and left out when none has it).
 */
export function summarizeTrials<T extends object>(trials: readonly T[]): { median: T; min: T; max: T } {
  const walk = (objs: readonly Figures[], pick: (v: number[]) => number): Figures => {
    const out: Figures = {};
    const keys = [...new Set(objs.flatMap((o) => Object.keys(o)))];
    for (const k of keys) {
      const vals = objs.map((o) => o[k]).filter((v) => v !== undefined);
      if (vals.every((v) => typeof v === 'number')) {
        const nums = (vals as number[]).filter(Number.isFinite);
        if (nums.length) out[k] = pick(nums);
      } else {
        out[k] = walk(vals.filter((v): v is Figures => typeof v === 'object'), pick);
      }
    }
    return out;
  };
  const figs = trials as readonly Figures[];
  return {
    median: walk(figs, median) as T,
    min: walk(figs, (v) => Math.min(...v)) as T,
    max: walk(figs, (v) => Math.max(...v)) as T,
  };
}

/** Rounds for reports: 3 significant digits, integers above 1,000, 0 below 1e-9. */
export function round(n: number, digits = 3): number {
  if (!Number.isFinite(n)) return n;
  if (Math.abs(n) < 1e-9) return 0; // floating-point noise (e.g. the slope of a flat series)
  if (Math.abs(n) >= 1_000) return Math.round(n);
  return Number(n.toPrecision(digits));
}

/** Applies `round` to every numeric leaf. */
export function roundFigures<T extends object>(f: T, digits = 3): T {
  return Object.fromEntries(
    Object.entries(f).map(([k, v]) => [k, typeof v === 'number' ? round(v, digits) : v !== null && typeof v === 'object' && !Array.isArray(v) ? roundFigures(v as object, digits) : v]),
  ) as T;
}

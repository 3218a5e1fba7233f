/**
 * The sane range of point timestamps, enforced at the edge (files and HTTP).
 *
 * Invariant: a timestamp outside [minTimeMs, now + maxFutureMs] never reaches
 * the wire format. InfluxDB refuses instants past int64 ns (2262-04-11) and the
 * collector would dead-letter the whole batch for one bad row; a year-2300 or
 * pre-1970 row is a user error to name at the edge, not poison to find later.
 * The upper bound is also clamped to InfluxDB's largest timestamp.
 */

/** 1970-01-01T00:00:00Z: the wire format carries unsigned ns. */
export const DEFAULT_MIN_TIME_MS = 0;
/** One day: clocks drift and zones get mislabelled, but never by more. */
export const DEFAULT_MAX_FUTURE_MS = 86_400_000;
/** InfluxDB's largest timestamp (int64 max − 1 ns: 2262-04-11T23:47:16.854775806Z). */
export const MAX_INFLUX_NS = 9_223_372_036_854_775_806n;

export interface TimeRangeOptions {
  /** Earliest accepted timestamp, epoch ms. Default 0 (1970-01-01T00:00:00Z). */
  minTimeMs?: number | undefined;
  /** Latest accepted timestamp relative to the clock at start, ms. Default 86,400,000 (one day). */
  maxFutureMs?: number | undefined;
}

/** Digit strings without leading zeros: longer is larger, else lexicographic. */
function cmpDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function isoOfNs(ns: string): string {
  try {
    return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
  } catch {
    return `${ns} ns`;
  }
}

export class TimeRange {
  readonly minMs: number;
  readonly maxMs: number;
  readonly minNs: string;
  readonly maxNs: string;
  readonly maxFutureMs: number;

  /** Throws RangeError on a negative or non-finite bound (callers turn it into their own error). */
  constructor(opts: TimeRangeOptions = {}, nowMs = Date.now()) {
    const min = opts.minTimeMs ?? DEFAULT_MIN_TIME_MS;
    const future = opts.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS;
    if (!Number.isFinite(min) || min < 0) throw new RangeError(`minimum time must be ≥ 1970-01-01T00:00:00Z, got ${min} ms`);
    if (!Number.isFinite(future) || future < 0) throw new RangeError(`maximum future offset must be ≥ 0 ms, got ${future}`);
    this.minMs = Math.floor(min);
    this.maxFutureMs = future;
    let maxNs = BigInt(Math.floor(nowMs + future)) * 1_000_000n + 999_999n;
    if (maxNs > MAX_INFLUX_NS) maxNs = MAX_INFLUX_NS;
    this.maxNs = maxNs.toString();
    this.maxMs = Number(maxNs / 1_000_000n);
    this.minNs = (BigInt(this.minMs) * 1_000_000n).toString();
  }

  /** The accepted range, for messages: `1970-01-01T00:00:00.000Z … 2026-12-02T09:00:00.000Z`. */
  describe(): string {
    return `${new Date(this.minMs).toISOString()} … ${new Date(this.maxMs).toISOString()}`;
  }

  /**
   * undefined when `ns` (decimal ns string, possibly signed or zero-padded) is
   * inside the range, else the reason naming the value and the bound.
   */
  check(ns: string): string | undefined {
    let t = ns;
    if (t.charCodeAt(0) === 45 /* - */) return `timestamp ${isoOfNs(t)} is before the accepted minimum ${new Date(this.minMs).toISOString()} (INGEST_MIN_TIME)`;
    if (t.length > 1 && t.charCodeAt(0) === 48 /* 0 */) t = t.replace(/^0+(?=\d)/, '');
    if (cmpDigits(t, this.minNs) < 0) return `timestamp ${isoOfNs(t)} is before the accepted minimum ${new Date(this.minMs).toISOString()} (INGEST_MIN_TIME)`;
    if (cmpDigits(t, this.maxNs) > 0) {
      const bound = this.maxNs === MAX_INFLUX_NS.toString() ? 'the largest InfluxDB timestamp' : `now + ${Math.round(this.maxFutureMs / 1000)} s (INGEST_MAX_FUTURE_S)`;
      return `timestamp ${isoOfNs(t)} is after the accepted maximum ${new Date(this.maxMs).toISOString()} (${bound})`;
    }
    return undefined;
  }
}

/** The range settings from the configuration (INGEST_MIN_TIME, INGEST_MAX_FUTURE_S); unset keys keep the defaults. */
export function timeRangeFromConfig(cfg: { INGEST_MIN_TIME?: string | undefined; INGEST_MAX_FUTURE_S?: number | undefined }): {
  minTimeMs: number;
  maxFutureMs: number;
} {
  return {
    minTimeMs: cfg.INGEST_MIN_TIME !== undefined ? Date.parse(cfg.INGEST_MIN_TIME) : DEFAULT_MIN_TIME_MS,
    maxFutureMs: cfg.INGEST_MAX_FUTURE_S !== undefined ? cfg.INGEST_MAX_FUTURE_S * 1000 : DEFAULT_MAX_FUTURE_MS,
  };
}

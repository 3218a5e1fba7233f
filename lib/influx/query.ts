/**
 * Reads through @influxdata/influxdb-client with parameterised Flux (the
 * `flux` template tag escapes every interpolated value; nothing is concatenated).
 */
import { InfluxDB, flux, fluxDateTime, type QueryApi } from '@influxdata/influxdb-client';
import { MEASUREMENT } from './line-protocol.ts';
import type { InfluxTarget } from './writer.ts';
import { HEALTH_MEASUREMENT, HEALTH_SHADOW_MEASUREMENT, SHADOW_MODEL_TAG } from '../health/measurements.ts';

/** Which model's verdicts: the paging one (`gpu_health`) or the shadow version (`health_shadow`). */
export const HEALTH_MODELS = ['primary', 'shadow'] as const;
export type HealthModel = (typeof HEALTH_MODELS)[number];

/** One stored verdict. `primary` and `shadowModel` only for the shadow's (its version tag and the paging model's class there). */
export interface HealthSample {
  time: string;
  class: string;
  score: number;
  reasons: string[];
  primary?: string;
  shadowModel?: string;
}

export interface RangeInput {
  device?: string;
  /** RFC 3339 time or Flux duration like -1h. Default: epoch start. */
  from?: string;
  to?: string;
}

const RANGE_MIN_MS = 0;
const RANGE_MAX_MS = Date.parse('2262-01-01T00:00:00Z');

export class InfluxReader {
  private readonly q: QueryApi;
  constructor(readonly target: InfluxTarget) {
    this.q = new InfluxDB({ url: target.url, token: target.token, timeout: target.timeoutMs ?? 60_000 }).getQueryApi(target.org);
  }

  private range(input: RangeInput) {
    // Clamped to what can hold points (ingest refuses anything outside): a year-0001 or year-9999 bound
    // is a valid request for "everything", not an InfluxDB error.
    const clamp = (t: string) => Math.min(Math.max(Date.parse(t), RANGE_MIN_MS), RANGE_MAX_MS);
    const startMs = input.from ? clamp(input.from) : RANGE_MIN_MS;
    const stopMs = input.to ? clamp(input.to) : RANGE_MAX_MS;
    // Flux refuses start ≥ stop; such a window holds nothing, so ask for a 1 ns window no point can be in
    // (ingest accepts at most now + INGEST_MAX_FUTURE_S ≤ 100 years).
    if (startMs >= stopMs) return { start: fluxDateTime('2262-01-01T00:00:00Z'), stop: fluxDateTime('2262-01-01T00:00:00.000000001Z') };
    return { start: fluxDateTime(new Date(startMs).toISOString()), stop: fluxDateTime(new Date(stopMs).toISOString()) };
  }

  /**
   * Number of points stored in measurement `gpu`: one per device per timestamp
   * (a point has several fields, each its own row in Flux, so distinct _time
   * per device is counted, not rows).
   */
  async countPoints(input: RangeInput = {}): Promise<number> {
    const { start, stop } = this.range(input);
    const deviceFilter = input.device ? flux`|> filter(fn: (r) => r.device == ${input.device})` : flux``;
    const query = flux`from(bucket: ${this.target.bucket})
  |> range(start: ${start}, stop: ${stop})
  |> filter(fn: (r) => r._measurement == ${MEASUREMENT})
  ${deviceFilter}
  |> keep(columns: ["device", "_time", "_value"])
  |> group(columns: ["device"])
  |> unique(column: "_time")
  |> count()`;
    const rows = await this.q.collectRows<{ _value: number }>(query);
    return rows.reduce((s, r) => s + Number(r._value), 0);
  }

  /** Time series of one field of one device, oldest first. */
  async series(input: RangeInput & { device: string; field: string; limit?: number }): Promise<{ time: string; value: number }[]> {
    const { start, stop } = this.range(input);
    const query = flux`from(bucket: ${this.target.bucket})
  |> range(start: ${start}, stop: ${stop})
  |> filter(fn: (r) => r._measurement == ${MEASUREMENT} and r.device == ${input.device} and r._field == ${input.field})
  |> sort(columns: ["_time"])
  |> limit(n: ${input.limit ?? 10_000})`;
    const rows = await this.q.collectRows<{ _time: string; _value: number }>(query);
    return rows.map((r) => ({ time: r._time, value: r._value }));
  }

  /**
   * Stored health verdicts of one device, oldest first. `gpu_health` is a step series (a line on a
   * change, while not healthy, and every HEALTH_WRITE_EVERY_S); `health_shadow` holds the shadow's
   * verdicts as written by HEALTH_SHADOW_WRITE (default: only where it disagrees with the paging model).
   */
  async health(input: RangeInput & { device: string; model: HealthModel; limit?: number }): Promise<HealthSample[]> {
    const { start, stop } = this.range(input);
    const measurement = input.model === 'shadow' ? HEALTH_SHADOW_MEASUREMENT : HEALTH_MEASUREMENT;
    const query = flux`from(bucket: ${this.target.bucket})
  |> range(start: ${start}, stop: ${stop})
  |> filter(fn: (r) => r._measurement == ${measurement} and r.device == ${input.device})
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"])
  |> limit(n: ${input.limit ?? 10_000})`;
    const rows = await this.q.collectRows<Record<string, unknown>>(query);
    return rows.map((r) => {
      const out: HealthSample = {
        time: String(r._time),
        class: String(r.class ?? ''),
        score: Number(r.score),
        reasons: typeof r.reasons === 'string' && r.reasons !== '' ? r.reasons.split(',') : [],
      };
      if (input.model === 'shadow') {
        out.primary = String(r.primary ?? '');
        out.shadowModel = String(r[SHADOW_MODEL_TAG] ?? '');
      }
      return out;
    });
  }

  /** Every field of one point (device, exact ns time) — used by tests and the API. */
  async pointAt(device: string, tsNs: string): Promise<Record<string, number>> {
    const ms = Number(BigInt(tsNs) / 1_000_000n);
    const start = fluxDateTime(new Date(ms).toISOString());
    const stop = fluxDateTime(new Date(ms + 1).toISOString());
    const query = flux`from(bucket: ${this.target.bucket})
  |> range(start: ${start}, stop: ${stop})
  |> filter(fn: (r) => r._measurement == ${MEASUREMENT} and r.device == ${device})`;
    const rows = await this.q.collectRows<{ _time: string; _field: string; _value: number }>(query);
    const out: Record<string, number> = {};
    for (const r of rows) out[r._field] = r._value;
    return out;
  }

  /** Devices seen, with their identity tags and last-seen time. */
  async devices(input: RangeInput = {}): Promise<{ device: string; tags: Record<string, string>; lastSeen: string }[]> {
    const { start, stop } = this.range(input);
    const query = flux`from(bucket: ${this.target.bucket})
  |> range(start: ${start}, stop: ${stop})
  |> filter(fn: (r) => r._measurement == ${MEASUREMENT})
  |> group(columns: ["device"])
  |> last()`;
    const rows = await this.q.collectRows<Record<string, string>>(query);
    const by = new Map<string, { device: string; tags: Record<string, string>; lastSeen: string }>();
    for (const r of rows) {
      const tags: Record<string, string> = {};
      for (const [k, v] of Object.entries(r))
        if (!k.startsWith('_') && k !== 'result' && k !== 'table' && k !== 'device' && typeof v === 'string') tags[k] = v;
      const prev = by.get(r.device!);
      if (!prev || prev.lastSeen < r._time!) by.set(r.device!, { device: r.device!, tags, lastSeen: r._time! });
    }
    return [...by.values()].sort((a, b) => a.device.localeCompare(b.device));
  }
}

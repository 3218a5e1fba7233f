/**
 * Load over the real edge, `POST /v1/telemetry` (JSON): points shaped like
 * parsed nvidia-smi samples (lib/sample, 16 columns), each stamped with the
 * time it is sent. `steadyLoad` offers a fixed rate in ticks; `burstLoad`
 * sends as fast as a few concurrent clients can.
 *
 * Invariant: every point is unique per (device, ts) and a device's points go
 * out in increasing ts (ns offsets within a tick), so InfluxDB stores exactly
 * what was accepted and the rules see each device's data in order.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseText } from '../../lib/parse/index.ts';
import type { Point } from '../../lib/point.ts';
import { sampleLines } from '../../lib/sample/generate-sample.ts';

/** The API key the benchmarks configure (API_KEYS) and send. */
export const BENCH_API_KEY = 'telemetry-bench-key-0001';

/** Environment for a stack whose API takes the benchmark's load. */
export const LOAD_API_ENV = {
  API_KEYS: `${BENCH_API_KEY}:admin`,
  // One request per tick would exceed the default 600/min per key.
  RATE_LIMIT_PER_MIN: '100000000',
} as const;

/** Cycles through parsed samples of `devices` GPUs (device order within each sample, like a capture). */
export class PointPool {
  private readonly templates: Point[];
  private next = 0;
  constructor(devices: number, samples = 30, seed = 23) {
    const text = [...sampleLines({ gpus: devices, samples, startMs: Date.UTC(2025, 5, 1), seed, host: 'bench-load' })].join('\n');
    this.templates = parseText(text, { fileName: 'load.csv' }).points;
    if (this.templates.length !== devices * samples) throw new Error(`load sample parsed into ${this.templates.length} points, expected ${devices * samples}`);
  }
  /** `n` points stamped from `baseNs` (+1 ns each). */
  take(n: number, baseNs: bigint): Point[] {
    const out: Point[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const t = this.templates[this.next]!;
      this.next = (this.next + 1) % this.templates.length;
      out[i] = { device: t.device, ts: String(baseNs + BigInt(i)), tags: t.tags, fields: t.fields };
    }
    return out;
  }
}

export const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

export interface PostResult {
  status: number;
  accepted: number;
}

export async function postPoints(apiUrl: string, points: Point[], batchId: string): Promise<PostResult> {
  const res = await fetch(`${apiUrl}/v1/telemetry`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': BENCH_API_KEY },
    body: JSON.stringify({ batchId, points }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json().catch(() => ({}))) as { accepted?: number; message?: string };
  if (res.status !== 202 && res.status !== 429 && res.status !== 503) throw new Error(`POST /v1/telemetry: ${res.status} ${body.message ?? ''}`);
  return { status: res.status, accepted: res.status === 202 ? (body.accepted ?? points.length) : 0 };
}

export interface LoadStats {
  /** Points the API accepted (202). */
  accepted: number;
  /** Points refused with 429/503 (stream full / unavailable): back-pressure. */
  refused: number;
  requests: number;
  /** Ticks not sent because too many requests were still in flight (the offered rate was not reached). */
  skippedTicks: number;
  seconds: number;
}

/**
 * `rate` points/s for `seconds`, one request per `tickMs` on an absolute
 * schedule (no drift). `extra(tick, sentAtMs)` may add points to a tick's
 * request (the latency probe), stamped by the caller.
 */
export async function steadyLoad(o: {
  apiUrl: string;
  pool: PointPool;
  rate: number;
  seconds: number;
  tickMs?: number;
  maxInFlight?: number;
  extra?: (tick: number, sentAtMs: number, baseNs: bigint) => Point[];
}): Promise<LoadStats> {
  const tickMs = o.tickMs ?? 100;
  const ticks = Math.max(1, Math.round((o.seconds * 1_000) / tickMs));
  const run = randomBytes(4).toString('hex');
  const inFlight = new Set<Promise<void>>();
  const stats: LoadStats = { accepted: 0, refused: 0, requests: 0, skippedTicks: 0, seconds: 0 };
  let owed = 0;
  let firstError: unknown;
  const t0 = performance.now();
  for (let k = 0; k < ticks && firstError === undefined; k++) {
    const wait = t0 + k * tickMs - performance.now();
    if (wait > 0) await sleep(wait);
    owed += (o.rate * tickMs) / 1_000;
    const n = Math.floor(owed);
    owed -= n;
    if (inFlight.size >= (o.maxInFlight ?? 16)) {
      stats.skippedTicks++;
      continue;
    }
    const sentAt = Date.now();
    const base = BigInt(sentAt) * 1_000_000n;
    const points = [...o.pool.take(n, base), ...(o.extra?.(k, sentAt, base + BigInt(n)) ?? [])];
    if (!points.length) continue;
    stats.requests++;
    const p = postPoints(o.apiUrl, points, `bench-${run}-${k}`).then(
      (r) => {
        stats.accepted += r.accepted;
        if (r.status !== 202) stats.refused += points.length;
      },
      (err: unknown) => {
        firstError ??= err;
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  // The offered window (ticks × tickMs), or longer when the schedule slipped.
  stats.seconds = Math.max((performance.now() - t0) / 1_000, (ticks * tickMs) / 1_000);
  if (firstError !== undefined) throw firstError;
  return stats;
}

/** `concurrency` clients posting `batch`-point requests back to back for `seconds`. */
export async function burstLoad(o: { apiUrl: string; pool: PointPool; seconds: number; batch?: number; concurrency?: number }): Promise<LoadStats> {
  const batch = o.batch ?? 2_000;
  const run = randomBytes(4).toString('hex');
  const stats: LoadStats = { accepted: 0, refused: 0, requests: 0, skippedTicks: 0, seconds: 0 };
  const t0 = performance.now();
  const end = t0 + o.seconds * 1_000;
  let k = 0;
  let lastNs = 0n;
  await Promise.all(
    Array.from({ length: o.concurrency ?? 4 }, async () => {
      while (performance.now() < end) {
        // Strictly increasing bases across clients: no two requests share a (device, ts).
        let base = nowNs();
        if (base <= lastNs + BigInt(batch)) base = lastNs + BigInt(batch) + 1n;
        lastNs = base;
        const points = o.pool.take(batch, base);
        stats.requests++;
        const r = await postPoints(o.apiUrl, points, `burst-${run}-${k++}`);
        stats.accepted += r.accepted;
        if (r.status !== 202) {
          stats.refused += points.length;
          await sleep(200);
        }
      }
    }),
  );
  stats.seconds = (performance.now() - t0) / 1_000;
  return stats;
}

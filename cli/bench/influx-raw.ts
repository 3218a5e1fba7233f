/**
 * The InfluxDB baseline: line protocol written straight to InfluxDB with the
 * official client (`@influxdata/influxdb-client` WriteApi: no retries, gzip
 * on, one explicit flush per batch so exactly `concurrency` requests are in
 * flight), into a fresh bucket per run. `sweepRawWrites` tries a few batch
 * sizes × concurrencies on part of the data; the best is used for the full run.
 */
import { InfluxDB, type WriteApi } from '@influxdata/influxdb-client';

export interface InfluxTarget {
  url: string;
  token: string;
  org: string;
}

export interface RawWriteConfig {
  batch: number;
  concurrency: number;
}

export const DEFAULT_SWEEP: RawWriteConfig[] = [
  { batch: 5_000, concurrency: 2 },
  { batch: 5_000, concurrency: 4 },
  { batch: 10_000, concurrency: 2 },
  { batch: 10_000, concurrency: 4 },
];

/** Creates an empty bucket (infinite retention) in the target's org. */
export async function createBucket(t: InfluxTarget, name: string): Promise<void> {
  const headers = { Authorization: `Token ${t.token}`, 'content-type': 'application/json' };
  const orgs = (await (await fetch(`${t.url}/api/v2/orgs?org=${encodeURIComponent(t.org)}`, { headers })).json()) as { orgs?: { id: string }[] };
  const orgID = orgs.orgs?.[0]?.id;
  if (!orgID) throw new Error(`InfluxDB org ${t.org} not found at ${t.url}`);
  const res = await fetch(`${t.url}/api/v2/buckets`, { method: 'POST', headers, body: JSON.stringify({ orgID, name, retentionRules: [] }) });
  if (!res.ok) throw new Error(`creating bucket ${name}: ${res.status} ${await res.text()}`);
}

/** Writes every line into `bucket`; resolves with the seconds from the first request to the last answer. */
export async function writeRaw(t: InfluxTarget, bucket: string, lines: readonly string[], c: RawWriteConfig): Promise<number> {
  const influx = new InfluxDB({ url: t.url, token: t.token, timeout: 120_000 });
  const apis: WriteApi[] = Array.from({ length: c.concurrency }, () =>
    influx.getWriteApi(t.org, bucket, 'ns', {
      // Never an automatic send: each loop adds one batch and flushes it itself.
      batchSize: c.batch + 1,
      maxBatchBytes: 1 << 30,
      flushInterval: 0,
      maxRetries: 0,
      // gzip every request, as the collector's writer does (the client's default threshold).
      gzipThreshold: 1_000,
    }),
  );
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    apis.map(async (api) => {
      for (;;) {
        const i = next; // claimed synchronously: no two loops take the same batch
        next += c.batch;
        if (i >= lines.length) return;
        api.writeRecords(lines.slice(i, i + c.batch));
        await api.flush();
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1_000;
  await Promise.all(apis.map((a) => a.close()));
  return seconds;
}

export interface SweepResult extends RawWriteConfig {
  /** 0 when the configuration failed (e.g. 413 for a batch of wide lines). */
  points_per_s: number;
  error?: string;
}

/**
 * Each configuration once on `lines`, each into its own fresh bucket; best
 * (highest points/s) first. A configuration InfluxDB refuses is reported with
 * its error and ranked last; all refused → throws.
 */
export async function sweepRawWrites(t: InfluxTarget, lines: readonly string[], configs = DEFAULT_SWEEP, bucketPrefix = 'bench_sweep'): Promise<SweepResult[]> {
  const out: SweepResult[] = [];
  for (const c of configs) {
    const bucket = `${bucketPrefix}_${c.batch}x${c.concurrency}`;
    await createBucket(t, bucket);
    try {
      const s = await writeRaw(t, bucket, lines, c);
      out.push({ ...c, points_per_s: Math.round(lines.length / s) });
    } catch (err) {
      out.push({ ...c, points_per_s: 0, error: (err as Error).message });
    }
  }
  if (out.every((r) => r.error)) throw new Error(`every raw InfluxDB write configuration failed: ${out.map((r) => `${r.batch}×${r.concurrency}: ${r.error}`).join('; ')}`);
  return out.sort((a, b) => b.points_per_s - a.points_per_s);
}

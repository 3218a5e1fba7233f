/**
 * Ingestion benchmark (prints figures; not a test). On an isolated test stack
 * with a real collect worker (HEALTH_BACKEND=off: the pipeline, not the model):
 *   (a) parse only        `telemetry-stack parse --json`          points/s
 *   (b) ingest            `telemetry-stack ingest --json` (parse + publish to JetStream)
 *   (c) end to end        from the start of (b) until InfluxDB counts every point
 *   (d) raw InfluxDB      the same lines written directly with InfluxWriter
 *                         (4 concurrent writers, like 4 partitions): the ceiling for (c)
 * plus the peak RSS (VmHWM) of the parse and ingest processes.
 *
 *   npx tsx test/bench/ingest-bench.ts [--points 1000000]
 *
 * Last stdout line: one JSON object with every figure.
 */
import { spawn } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { writeSample } from '../../lib/sample/generate-sample.ts';
import { parseStream } from '../../lib/parse/index.ts';
import { toLines } from '../../lib/influx/line-protocol.ts';
import { InfluxWriter } from '../../lib/influx/writer.ts';
import { startTestStack, filteredProcessEnv } from '../support/test-stack.ts';
import { REPO, startCollectWorker, waitForPoller } from '../support/processes.ts';
import { readerFor } from '../support/pipeline.ts';

const { values } = parseArgs({ options: { points: { type: 'string', default: '1000000' } } });
const GPUS = 8;
const samples = Math.max(1, Math.ceil(Number(values.points) / GPUS));
const total = samples * GPUS;
if (!Number.isFinite(total) || total < GPUS) throw new Error(`--points must be a number ≥ ${GPUS}`);

/** Peak resident set (VmHWM, kB) of a live process, or 0 when unreadable (not Linux, already gone). */
function peakRssKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs the CLI, sampling its peak RSS until it exits; returns the parsed last JSON line. */
async function cli(args: string[], env: Record<string, string>): Promise<{ json: Record<string, number>; wallS: number; peakRssMb: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli/main.ts'), ...args], {
    cwd: REPO,
    env: { ...filteredProcessEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, peakRssKb(child.pid!))), 100);
  const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
  clearInterval(timer);
  if (code !== 0) throw new Error(`telemetry-stack ${args.join(' ')} exited ${code}: ${err}`);
  return { json: JSON.parse(out.trim().split('\n').pop()!), wallS: (performance.now() - t0) / 1_000, peakRssMb: Math.round(peak / 1024) };
}

const log = (m: string) => console.error(`[bench] ${m}`);
const rate = (n: number, s: number) => Math.round(n / s);

log(`starting a test stack (${total.toLocaleString()} points = ${GPUS} GPUs × ${samples.toLocaleString()} samples)`);
const s = await startTestStack({ env: { HEALTH_BACKEND: 'off' } });
const worker = startCollectWorker(s.env);
try {
  const file = join(s.dataDir, 'bench.csv');
  const tg = performance.now();
  await writeSample(file, { gpus: GPUS, samples, startMs: Date.UTC(2025, 5, 1), seed: 11 });
  log(`generated ${basename(file)} in ${((performance.now() - tg) / 1_000).toFixed(1)} s`);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');

  // (a) parse only (the CLI's own timer: excludes Node/tsx start-up).
  const parse = await cli(['parse', file, '--json'], s.env);
  if (parse.json.points !== total) throw new Error(`parse produced ${parse.json.points} points, expected ${total}`);
  log(`parse: ${parse.json.points_per_s} points/s`);

  // (b) + (c): ingest while the collectors run; e2e ends when InfluxDB holds every point.
  const reader = readerFor(s);
  const t0 = performance.now();
  const ingest = await cli(['ingest', file, '--json', '--no-progress'], s.env);
  const ingestDoneS = (performance.now() - t0) / 1_000;
  if (ingest.json.points !== total) throw new Error(`ingest published ${ingest.json.points} points, expected ${total}`);
  log(`ingest: ${ingest.json.points_per_s} points/s; waiting for InfluxDB`);
  let count = 0;
  const deadline = Date.now() + 30 * 60_000;
  while (count < total) {
    if (Date.now() > deadline) throw new Error(`InfluxDB reached only ${count} of ${total} points`);
    await sleep(1_000);
    count = await reader.countPoints().catch(() => count);
  }
  const e2eS = (performance.now() - t0) / 1_000;
  log(`end to end: ${count} points in ${e2eS.toFixed(1)} s`);

  // (d) raw InfluxDB ceiling: the same points as line protocol, into a separate measurement.
  await worker.stop();
  const lines: string[] = [];
  const gen = parseStream(createReadStream(file), { fileName: basename(file) });
  for (let n = await gen.next(); !n.done; n = await gen.next()) for (const l of toLines(n.value.points, 'gpu_raw_bench')) lines.push(l);
  const writer = new InfluxWriter(s.stack.endpoints.influxdb!, s.cfg.INFLUX_WRITE_BATCH);
  const CONCURRENCY = 4;
  const CHUNK = s.cfg.INFLUX_WRITE_BATCH;
  const tw = performance.now();
  let next = 0;
  const writeLoop = async () => {
    for (;;) {
      const i = next; // claimed synchronously: no two loops take the same chunk
      next += CHUNK;
      if (i >= lines.length) return;
      await writer.write(lines.slice(i, i + CHUNK));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, writeLoop));
  const rawS = (performance.now() - tw) / 1_000;
  log(`raw InfluxDB: ${lines.length} lines in ${rawS.toFixed(1)} s`);

  const result = {
    points: total,
    parse_points_per_s: parse.json.points_per_s!,
    parse_elapsed_s: parse.json.elapsed_s!,
    parse_peak_rss_mb: parse.peakRssMb,
    ingest_points_per_s: ingest.json.points_per_s!,
    ingest_elapsed_s: ingest.json.elapsed_s!,
    ingest_wall_s: Number(ingestDoneS.toFixed(2)),
    ingest_peak_rss_mb: ingest.peakRssMb,
    e2e_points_per_s: rate(total, e2eS),
    e2e_elapsed_s: Number(e2eS.toFixed(2)),
    influx_raw_points_per_s: rate(lines.length, rawS),
    influx_raw_elapsed_s: Number(rawS.toFixed(2)),
    influx_raw_concurrency: CONCURRENCY,
    partitions: s.cfg.PARTITIONS_PER_TOPIC,
    batch_points: s.cfg.BATCH_POINTS,
    health_backend: 'off',
  };
  const row = (what: string, pps: number, secs: number, rss?: number) =>
    `${what.padEnd(34)} ${pps.toLocaleString('en-US').padStart(12)} ${secs.toFixed(2).padStart(9)}${rss ? String(rss).padStart(9) : ''.padStart(9)}`;
  console.log(`${'stage'.padEnd(34)} ${'points/s'.padStart(12)} ${'seconds'.padStart(9)}${'RSS MB'.padStart(9)}`);
  console.log(row('(a) parse only', result.parse_points_per_s, result.parse_elapsed_s, result.parse_peak_rss_mb));
  console.log(row('(b) ingest (parse + publish)', result.ingest_points_per_s, result.ingest_elapsed_s, result.ingest_peak_rss_mb));
  console.log(row('(c) end to end (→ InfluxDB count)', result.e2e_points_per_s, result.e2e_elapsed_s));
  console.log(row(`(d) raw InfluxDB write (×${CONCURRENCY})`, result.influx_raw_points_per_s, result.influx_raw_elapsed_s));
  console.log(JSON.stringify(result));
} finally {
  await worker.stop();
  await s.stop();
}

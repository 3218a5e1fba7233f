/**
 * `bench ingest`: end-to-end throughput of the pipeline against its own
 * baselines, on the same seeded file, each trial on a fresh stack.
 *
 * Per trial: (1) parse only, in this process; (2) the pipeline — the collect
 * worker runs (health model and rules as configured), the timer runs from the
 * start of the `telemetry-stack ingest FILE --json --no-progress` child until
 * JetStream says every batch was collected (collection-progress.ts), then the
 * InfluxDB count is checked once; CPU (utime+stime) and peak RSS of every
 * process over that window; (3) the same points as line protocol written
 * straight to InfluxDB with the official client, at the best of a small
 * batch × concurrency sweep (run in the first trial), into a fresh bucket;
 * (4) the same batches published straight to a JetStream stream.
 *
 * Invariant: every figure is over exactly the file's points; a count that
 * does not match fails the benchmark instead of reporting a rate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxReader } from '../../lib/influx/query.ts';
import { isolatedProcessEnv } from '../../infra/stack/isolated-stack.ts';
import { messageByteLimit } from '../../lib/stream/jetstream.ts';
import { onInterrupt, startBenchStack, type BenchStack, type ProcessRole } from './bench-stack.ts';
import { prepareRawData, timeParse, writeBenchFile, type BenchFile, type FieldSet, type RawData } from './bench-data.ts';
import { streamProgress, waitUntilCollected } from './collection-progress.ts';
import { createBucket, sweepRawWrites, writeRaw, type RawWriteConfig, type SweepResult } from './influx-raw.ts';
import { startMeasuredCli } from './measured-cli.ts';
import { publishRaw } from './nats-raw.ts';
import { readProcUsage, type ProcUsage } from './proc-stats.ts';
import { medianTable } from './report.ts';
import { roundFigures, summarizeTrials } from './stats.ts';

export interface IngestBenchOptions {
  points: number;
  devices: number;
  fields: FieldSet;
  health: boolean;
  partitions: number;
  trials: number;
  /** Also run the raw InfluxDB and JetStream baselines (the scale bench does not). */
  baselines?: boolean;
  log: (msg: string) => void;
}

type PerProcess = { ingest: number; worker: number; nats: number; influxd: number; temporal: number };

export type IngestTrial = {
  pipeline_pps: number;
  pipeline_s: number;
  /** The ingest child's own parse + publish rate (its summary). */
  ingest_pps: number;
  parse_rows_per_s: number;
  influx_raw_pps?: number;
  ratio_vs_influx?: number;
  nats_raw_pps?: number;
  /** CPU seconds per million points over the pipeline window; `pipeline` = every process but influxd. */
  cpu_s_per_mpoint: PerProcess & { pipeline: number };
  /** cpu_s_per_mpoint.pipeline / cpu_s_per_mpoint.influxd (target ≤ 0.25). */
  cpu_pipeline_vs_influxd: number;
  /** influxd's CPU per million points during the raw write, for comparison. */
  influx_raw_cpu_s_per_mpoint?: { influxd: number };
  rss_mb_peak: PerProcess;
};

/** Medians at the top level (the figures of IngestTrial), `min` / `max` in the same shape, every trial in `trials`. */
export type IngestBenchResult = {
  bench: 'ingest';
  points: number;
  devices: number;
  fields: FieldSet;
  columns: number;
  file_mb: number;
  partitions: number;
  health: 'on' | 'off';
  batch_points: number;
  trial_count: number;
  /** CPU seconds of the CLI's start-up alone (`telemetry-stack ingest --help`), included in cpu_s_per_mpoint.ingest. */
  ingest_startup_cpu_s?: number;
} & IngestTrial & {
  min: IngestTrial;
  max: IngestTrial;
  influx_raw_config?: RawWriteConfig;
  influx_sweep?: SweepResult[];
  /** Exact counts checked after each trial (a mismatch fails the benchmark). */
  verified: { influx_points: number; stream_messages: number; influx_raw_points?: number; nats_raw_messages?: number };
  trials: IngestTrial[];
};

const ROLE_OF: Record<Exclude<keyof PerProcess, 'ingest'>, ProcessRole> = { worker: 'collect-worker', nats: 'nats', influxd: 'influxd', temporal: 'temporal' };

function usageOf(pids: Partial<Record<ProcessRole, number>>): Record<keyof typeof ROLE_OF, ProcUsage> {
  const out = {} as Record<keyof typeof ROLE_OF, ProcUsage>;
  for (const [k, role] of Object.entries(ROLE_OF) as [keyof typeof ROLE_OF, ProcessRole][]) {
    const pid = pids[role];
    const u = pid === undefined ? undefined : readProcUsage(pid);
    if (!u) throw new Error(`cannot read /proc of ${role} (pid ${pid}): CPU and RSS need Linux procfs`);
    out[k] = u;
  }
  return out;
}

/** State kept across trials: the raw data and the InfluxDB configuration chosen by the first trial's sweep. */
interface Shared {
  raw?: RawData;
  rawConfig?: RawWriteConfig;
  sweep?: SweepResult[];
  batchPoints?: number;
  rawPoints?: number;
}

async function runTrial(o: IngestBenchOptions, file: BenchFile, shared: Shared, n: number): Promise<IngestTrial> {
  const log = (m: string) => o.log(`trial ${n}/${o.trials}: ${m}`);
  const parse = await timeParse(file.path);
  if (parse.points !== file.points) throw new Error(`parse produced ${parse.points} points, expected ${file.points}`);
  log(`parse only: ${Math.round(parse.rows / parse.seconds).toLocaleString('en-US')} rows/s`);

  const stack: BenchStack = await startBenchStack({
    env: { PARTITIONS_PER_TOPIC: String(o.partitions), HEALTH_BACKEND: o.health ? 'onnx' : 'off' },
    services: ['collect-worker'],
    log,
  });
  try {
    const needRaw = o.baselines !== false;
    shared.raw ??= await prepareRawData(file.path, { partitions: o.partitions, batchPoints: stack.cfg.BATCH_POINTS, maxMessageBytes: messageByteLimit(stack.nc), payloads: needRaw });
    const raw = shared.raw;
    shared.batchPoints = stack.cfg.BATCH_POINTS;
    const expectedLastSeq = (await streamProgress(stack.jsm, stack.cfg)).lastSeq + raw.batches.length;

    // ---- pipeline
    const pids = stack.pids();
    const before = usageOf(pids);
    const t0 = performance.now();
    const child = startMeasuredCli(['ingest', file.path, '--json', '--no-progress'], stack.childEnv);
    const unregisterChild = onInterrupt(() => child.kill());
    void child.done.finally(unregisterChild);
    const failed = new AbortController();
    void child.done.then((r) => {
      if (r.status !== 0) failed.abort(new Error(`telemetry-stack ingest exited ${r.status}: ${r.stderr.trim().split('\n').slice(-5).join('\n')}`));
    });
    let done: Awaited<ReturnType<typeof waitUntilCollected>>;
    try {
      done = await waitUntilCollected(stack.jsm, stack.cfg, { expectedLastSeq, timeoutMs: 600_000 + file.points, abort: failed.signal });
    } catch (err) {
      child.kill();
      throw err;
    }
    const after = usageOf(pids);
    const pipelineS = (done.at - t0) / 1_000;
    const ingest = await child.done;
    if (ingest.status !== 0 || !ingest.json) throw new Error(`telemetry-stack ingest failed (${ingest.status}): ${ingest.stderr}`);
    if (ingest.json.points !== file.points || ingest.json.published !== file.points)
      throw new Error(`ingest parsed ${ingest.json.points} and published ${ingest.json.published} points, expected ${file.points}`);
    if (done.progress.lastSeq !== expectedLastSeq) throw new Error(`the stream holds ${done.progress.lastSeq} messages, ingest should have published ${expectedLastSeq}`);
    if (!ingest.usage) throw new Error('the ingest child did not report its CPU and RSS (needs Linux procfs)');
    log(`pipeline: ${file.points.toLocaleString('en-US')} points collected in ${pipelineS.toFixed(2)} s`);

    await stack.stopService('collect-worker');
    const stored = await new InfluxReader({ ...stack.influx, timeoutMs: 600_000 }).countPoints();
    if (stored !== file.points) throw new Error(`InfluxDB holds ${stored} points after the pipeline run, expected ${file.points}`);

    const mpoints = file.points / 1e6;
    const cpu = (k: keyof typeof ROLE_OF) => (after[k].cpuS - before[k].cpuS) / mpoints;
    const perProcess: PerProcess = { ingest: ingest.usage.cpuS / mpoints, worker: cpu('worker'), nats: cpu('nats'), influxd: cpu('influxd'), temporal: cpu('temporal') };
    const pipelineCpu = perProcess.ingest + perProcess.worker + perProcess.nats + perProcess.temporal;
    const trial: IngestTrial = {
      pipeline_pps: file.points / pipelineS,
      pipeline_s: pipelineS,
      ingest_pps: Number(ingest.json.points_per_s),
      parse_rows_per_s: parse.rows / parse.seconds,
      cpu_s_per_mpoint: { ...perProcess, pipeline: pipelineCpu },
      cpu_pipeline_vs_influxd: pipelineCpu / perProcess.influxd,
      rss_mb_peak: {
        ingest: ingest.usage.peakRssMb,
        worker: after.worker.peakRssMb,
        nats: after.nats.peakRssMb,
        influxd: after.influxd.peakRssMb,
        temporal: after.temporal.peakRssMb,
      },
    };
    if (!needRaw) return trial;

    // ---- raw InfluxDB: sweep once (first trial), then the full run into a fresh bucket.
    const target = { url: stack.influx.url, token: stack.influx.token, org: stack.influx.org };
    if (!shared.rawConfig) {
      const part = raw.lines.slice(0, Math.min(raw.lines.length, Math.max(20_000, Math.round(raw.lines.length / 5))));
      shared.sweep = await sweepRawWrites(target, part);
      shared.rawConfig = { batch: shared.sweep[0]!.batch, concurrency: shared.sweep[0]!.concurrency };
      log(`InfluxDB sweep on ${part.length.toLocaleString('en-US')} lines: ${shared.sweep.map((s) => `${s.batch}×${s.concurrency} ${s.points_per_s.toLocaleString('en-US')}/s`).join(', ')}`);
    }
    await createBucket(target, 'bench_raw');
    const influxdBefore = readProcUsage(pids.influxd!)!;
    const rawS = await writeRaw(target, 'bench_raw', raw.lines, shared.rawConfig);
    const influxdAfter = readProcUsage(pids.influxd!)!;
    const rawStored = await new InfluxReader({ ...stack.influx, bucket: 'bench_raw', timeoutMs: 600_000 }).countPoints();
    if (rawStored !== raw.lines.length) throw new Error(`the raw bucket holds ${rawStored} points, ${raw.lines.length} were written`);
    shared.rawPoints = rawStored;
    trial.influx_raw_pps = raw.lines.length / rawS;
    trial.ratio_vs_influx = trial.pipeline_pps / trial.influx_raw_pps;
    trial.influx_raw_cpu_s_per_mpoint = { influxd: (influxdAfter.cpuS - influxdBefore.cpuS) / (raw.lines.length / 1e6) };
    log(`raw InfluxDB (${shared.rawConfig.batch}×${shared.rawConfig.concurrency}): ${Math.round(trial.influx_raw_pps).toLocaleString('en-US')} points/s`);

    // ---- raw JetStream
    const nats = await publishRaw(stack.nc, stack.jsm, raw.batches);
    if (nats.stored !== raw.batches.length) throw new Error(`the raw stream holds ${nats.stored} messages, ${raw.batches.length} were published`);
    trial.nats_raw_pps = raw.points / nats.seconds;
    log(`raw JetStream: ${Math.round(trial.nats_raw_pps).toLocaleString('en-US')} points/s`);
    return trial;
  } finally {
    await stack.stop();
  }
}

export async function runIngestBench(o: IngestBenchOptions): Promise<IngestBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-bench-data-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const unregister = onInterrupt(removeDir);
  try {
    const file = await writeBenchFile(dir, o);
    o.log(`data: ${file.points.toLocaleString('en-US')} points (${o.devices.toLocaleString('en-US')} GPUs, ≤ ${file.samples} samples each, ${file.columns} columns), ${(file.bytes / 1e6).toFixed(1)} MB`);
    // `ingest --help` loads what `ingest` loads (other commands' modules load only when they run).
    const startup = await startMeasuredCli(['ingest', '--help'], isolatedProcessEnv()).done;
    const shared: Shared = {};
    const trials: IngestTrial[] = [];
    for (let i = 1; i <= o.trials; i++) trials.push(roundFigures(await runTrial(o, file, shared, i)));
    const s = summarizeTrials(trials);
    const messages = shared.raw?.batches.length ?? 0;
    return {
      bench: 'ingest',
      points: file.points,
      devices: o.devices,
      fields: o.fields,
      columns: file.columns,
      file_mb: Number((file.bytes / 1e6).toFixed(1)),
      partitions: o.partitions,
      health: o.health ? 'on' : 'off',
      batch_points: shared.batchPoints ?? 0,
      trial_count: trials.length,
      ...(startup.usage ? { ingest_startup_cpu_s: Number(startup.usage.cpuS.toFixed(2)) } : {}),
      ...s.median,
      min: s.min,
      max: s.max,
      ...(shared.rawConfig ? { influx_raw_config: shared.rawConfig, influx_sweep: shared.sweep } : {}),
      verified: {
        influx_points: file.points,
        stream_messages: messages,
        ...(shared.rawPoints !== undefined ? { influx_raw_points: shared.rawPoints, nats_raw_messages: messages } : {}),
      },
      trials,
    };
  } finally {
    removeDir();
    unregister();
  }
}

const LABELS: Record<string, string> = {
  pipeline_pps: 'pipeline: ingest start → all collected, points/s',
  pipeline_s: 'pipeline wall time, s',
  ingest_pps: 'ingest child alone (parse + publish), points/s',
  parse_rows_per_s: 'parse only (in process, one core), rows/s',
  influx_raw_pps: 'raw InfluxDB write (official client), points/s',
  ratio_vs_influx: 'pipeline / raw InfluxDB',
  nats_raw_pps: 'raw JetStream publish, points/s',
  cpu_pipeline_vs_influxd: 'CPU pipeline / influxd (target ≤ 0.25)',
  'influx_raw_cpu_s_per_mpoint.influxd': 'CPU s per M points, influxd in the raw write',
};

/** The human table: one row per figure, median / min / max over the trials. */
export function ingestTable(r: IngestBenchResult): string {
  const describe = (path: string) => {
    if (LABELS[path]) return LABELS[path]!;
    const [group, proc] = path.split('.');
    if (group === 'cpu_s_per_mpoint') return `CPU s per M points, ${proc === 'pipeline' ? 'pipeline (all but influxd)' : proc}`;
    if (group === 'rss_mb_peak') return `peak RSS MB, ${proc}`;
    return path;
  };
  const { min, max, trials: _t, influx_sweep: _s, influx_raw_config: _c, verified: _v, ...rest } = r;
  const median = Object.fromEntries(Object.entries(rest).filter(([k]) => k in r.trials[0]!));
  const head = `bench ingest: ${r.points.toLocaleString('en-US')} points, ${r.devices} devices, ${r.columns} columns, ${r.partitions} partitions, health ${r.health}, ${r.trial_count} trial(s)`;
  const raw = r.influx_raw_config ? `\nraw InfluxDB config: batch ${r.influx_raw_config.batch} × ${r.influx_raw_config.concurrency} writers (best of the sweep)` : '';
  const startup = r.ingest_startup_cpu_s !== undefined ? `\ningest CLI start-up alone: ${r.ingest_startup_cpu_s} CPU s (included in its CPU per M points)` : '';
  return `${head}\n${medianTable({ median, min, max }, describe)}${raw}${startup}\nverified: ${JSON.stringify(r.verified)}`;
}

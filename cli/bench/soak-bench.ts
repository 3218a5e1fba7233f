/**
 * `bench soak`: steady HTTP load for a long time on a stack with every
 * worker and the API (default config: example rules, health model; alerts go
 * to the log), sampling every few seconds the resident set (VmRSS) of every
 * process and the consumer lag of each partition (the collect worker's
 * backlog; the alerts worker consumes no stream). Reports the RSS slope of
 * each process in MB per minute (least squares), so a leak shows as a slope
 * that does not flatten; at the end the stored count must equal what the API
 * accepted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InfluxReader } from '../../lib/influx/query.ts';
import { startBenchStack, type BenchStack, type ProcessRole } from './bench-stack.ts';
import { streamProgress, waitUntilCollected } from './collection-progress.ts';
import { LOAD_API_ENV, PointPool, steadyLoad } from './http-load.ts';
import { readProcUsage } from './proc-stats.ts';
import { formatTable } from './report.ts';
import { leastSquaresSlope, round, roundFigures, summarizeTrials } from './stats.ts';

export interface SoakBenchOptions {
  minutes: number;
  rate: number;
  devices: number;
  sampleSeconds: number;
  trials: number;
  log: (msg: string) => void;
}

export interface SoakSample {
  /** Minutes since the load started. */
  t_min: number;
  rss_mb: Partial<Record<ProcessRole, number>>;
  /** Σ num_pending + num_ack_pending over the partition consumers, and per partition. */
  lag: number;
  lag_by_partition: Record<number, number>;
}

export type SoakTrial = {
  load_pps: number;
  /** Least-squares slope of VmRSS after the warm-up (samples from warmup_min on), MB per minute, per process. */
  rss_slope_mb_per_min: Partial<Record<ProcessRole, number>>;
  rss_mb_last: Partial<Record<ProcessRole, number>>;
  rss_mb_max: Partial<Record<ProcessRole, number>>;
  lag_max: number;
  lag_last: number;
};

export type SoakBenchResult = {
  bench: 'soak';
  minutes: number;
  rate_pps: number;
  devices: number;
  sample_s: number;
  /** Minutes at the start left out of the slope (JIT, caches, first batches): min(2, 20 % of the run). */
  warmup_min: number;
  trial_count: number;
  verified: { accepted: number; stored: number };
} & SoakTrial & { min: SoakTrial; max: SoakTrial; trials: (SoakTrial & { samples: SoakSample[] })[] };

/** The start of a soak left out of the RSS slope: min(2 minutes, 20 % of the run). */
export function warmupMinutes(minutes: number): number {
  return Math.min(2, minutes * 0.2);
}

const ROLES: ProcessRole[] = ['collect-worker', 'alerts-worker', 'api', 'nats', 'influxd', 'temporal', 'chain'];

async function sample(stack: BenchStack, startedAt: number): Promise<SoakSample> {
  const pids = stack.pids();
  const rss: Partial<Record<ProcessRole, number>> = {};
  for (const role of ROLES) {
    const u = pids[role] === undefined ? undefined : readProcUsage(pids[role]!);
    if (u) rss[role] = round(u.rssMb, 4);
  }
  const p = await streamProgress(stack.jsm, stack.cfg);
  return { t_min: round((performance.now() - startedAt) / 60_000, 4), rss_mb: rss, lag: p.backlog, lag_by_partition: p.byPartition };
}

async function runTrial(o: SoakBenchOptions, n: number): Promise<SoakTrial & { samples: SoakSample[]; accepted: number; stored: number }> {
  const log = (m: string) => o.log(`trial ${n}/${o.trials}: ${m}`);
  const stack = await startBenchStack({ chain: true, services: ['collect-worker', 'alerts-worker', 'api'], env: { ...LOAD_API_ENV }, log });
  try {
    const pool = new PointPool(o.devices);
    const samples: SoakSample[] = [];
    const startedAt = performance.now();
    let loading = true;
    const sampler = (async () => {
      while (loading) {
        const t = performance.now();
        samples.push(await sample(stack, startedAt));
        const s = samples.at(-1)!;
        log(`${s.t_min.toFixed(2)} min: lag ${s.lag}, RSS MB ${Object.entries(s.rss_mb).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')}`);
        await sleep(Math.max(0, o.sampleSeconds * 1_000 - (performance.now() - t)));
      }
    })();
    let load;
    try {
      load = await steadyLoad({ apiUrl: stack.apiUrl, pool, rate: o.rate, seconds: o.minutes * 60 });
    } finally {
      loading = false;
      await sampler;
    }
    samples.push(await sample(stack, startedAt));
    const { lastSeq } = await streamProgress(stack.jsm, stack.cfg);
    await waitUntilCollected(stack.jsm, stack.cfg, { expectedLastSeq: lastSeq, timeoutMs: 600_000 });
    const stored = await new InfluxReader({ ...stack.influx, timeoutMs: 600_000 }).countPoints();
    if (stored !== load.accepted) throw new Error(`InfluxDB holds ${stored} points, the API accepted ${load.accepted}`);
    const warmup = warmupMinutes(o.minutes);
    const per = <T>(fn: (role: ProcessRole, series: { x: number; y: number }[]) => T, from = 0) =>
      Object.fromEntries(
        ROLES.map((role) => [role, samples.filter((s) => s.rss_mb[role] !== undefined && s.t_min >= from).map((s) => ({ x: s.t_min, y: s.rss_mb[role]! }))] as const)
          .filter(([, series]) => series.length > 0)
          .map(([role, series]) => [role, fn(role, series)]),
      ) as Partial<Record<ProcessRole, T>>;
    return {
      load_pps: load.accepted / load.seconds,
      rss_slope_mb_per_min: per((_r, s) => leastSquaresSlope(s), warmup),
      rss_mb_last: per((_r, s) => s.at(-1)!.y),
      rss_mb_max: per((_r, s) => Math.max(...s.map((p) => p.y))),
      lag_max: Math.max(...samples.map((s) => s.lag)),
      lag_last: samples.at(-1)!.lag,
      samples,
      accepted: load.accepted,
      stored,
    };
  } finally {
    await stack.stop();
  }
}

export async function runSoakBench(o: SoakBenchOptions): Promise<SoakBenchResult> {
  const trials: (SoakTrial & { samples: SoakSample[] })[] = [];
  let accepted = 0;
  let stored = 0;
  for (let i = 1; i <= o.trials; i++) {
    const { samples, accepted: a, stored: st, ...figures } = await runTrial(o, i);
    accepted += a;
    stored += st;
    trials.push({ ...roundFigures(figures), samples });
  }
  const s = summarizeTrials(trials.map(({ samples: _s, ...f }) => f));
  return {
    bench: 'soak',
    minutes: o.minutes,
    rate_pps: o.rate,
    devices: o.devices,
    sample_s: o.sampleSeconds,
    warmup_min: round(warmupMinutes(o.minutes)),
    trial_count: trials.length,
    verified: { accepted, stored },
    ...s.median,
    min: s.min,
    max: s.max,
    trials,
  };
}

export function soakTable(r: SoakBenchResult): string {
  const roles = Object.keys(r.rss_slope_mb_per_min) as ProcessRole[];
  const head = `bench soak: ${r.rate_pps.toLocaleString('en-US')} points/s offered over HTTP (achieved ${Math.round(r.load_pps).toLocaleString('en-US')}), ${r.devices} devices, ${r.minutes} min × ${r.trial_count} trial(s), sampled every ${r.sample_s} s; slopes after the first ${r.warmup_min} min`;
  return `${head}\n${formatTable(
    [{ title: 'process' }, { title: 'RSS slope MB/min', numeric: true }, { title: 'RSS last MB', numeric: true }, { title: 'RSS max MB', numeric: true }, { title: 'slope range', numeric: true }],
    roles.map((k) => [k, r.rss_slope_mb_per_min[k], r.rss_mb_last[k], r.rss_mb_max[k], `${r.min.rss_slope_mb_per_min[k]}…${r.max.rss_slope_mb_per_min[k]}`]),
  )}\nconsumer lag (messages): max ${r.lag_max}, at the end ${r.lag_last}; stored ${r.verified.stored.toLocaleString('en-US')} of ${r.verified.accepted.toLocaleString('en-US')} accepted`;
}

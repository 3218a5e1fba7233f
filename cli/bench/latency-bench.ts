/**
 * `bench latency`, on one stack with every worker, the API (child processes)
 * and the local Slack stand-in (in this process):
 *
 * (1) the maximum rate: a burst of concurrent HTTP requests, until JetStream
 *     says everything was collected (skipped with `--rate`);
 * (2) ingest → queryable at half of it: steady HTTP load, each request also
 *     carrying one point of a probe device with a sequence number; a reader
 *     polls InfluxDB every POLL_MS for the probe's new points, and a point
 *     counts as queryable at the start of the first query that returned it;
 * (3) anomaly → first notification: anomalous points of a fresh device, one
 *     device after another (like test/bench/alert-latency.ts), from the POST
 *     until the Slack stand-in receives the alert's chat.postMessage. The rule
 *     has `for: 0s`, so its hold time is not part of the figure.
 *
 * Hazard: the Slack stand-in lives in this process; nothing here may block
 * the event loop (no sync child processes), or every Slack call of the
 * alerts worker would time out.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfluxDB, flux, fluxDateTime, type QueryApi } from '@influxdata/influxdb-client';
import { ANVIL_DEV_KEY } from '../../infra/stack/chain.ts';
import { FakeSlackServer } from '../../infra/stack/fake-slack-server.ts';
import { alertWorkflowId } from '../../lib/alerts/ids.ts';
import { MEASUREMENT } from '../../lib/influx/line-protocol.ts';
import type { Point } from '../../lib/point.ts';
import { ALERT_METADATA_EVENT } from '../../activities/slack/action-ids.ts';
import { onInterrupt, startBenchStack, type BenchStack } from './bench-stack.ts';
import { streamProgress, waitUntilCollected } from './collection-progress.ts';
import { LOAD_API_ENV, PointPool, burstLoad, nowNs, postPoints, steadyLoad } from './http-load.ts';
import { formatTable } from './report.ts';
import { latencySummary, roundFigures, summarizeTrials, type LatencySummary } from './stats.ts';

/** InfluxDB poll interval of the queryable reader, ms (the figures' resolution). */
export const POLL_MS = 50;
const PROBE_DEVICE = 'GPU-bench-latency-probe';
const PROBE_FIELD = 'bench_seq';
const SLACK_CHANNEL = 'C0BENCHALERT';

/** The one rule of this benchmark: fires on the first point above 90 °C. */
export const LATENCY_RULE = {
  name: 'bench-temp-critical',
  description: 'GPU overheating (benchmark rule, no hold time)',
  kind: 'threshold',
  severity: 'critical',
  field: 'temperature_c',
  op: '>',
  value: 90,
  clear: 87,
  for: '0s',
} as const;

export interface LatencyBenchOptions {
  seconds: number;
  rate?: number;
  calibrateSeconds: number;
  devices: number;
  alerts: number;
  trials: number;
  log: (msg: string) => void;
}

export type LatencyTrial = {
  /** Achieved load, points/s (accepted / seconds). */
  load_pps: number;
  queryable_ms: LatencySummary;
  notify_ms: LatencySummary;
};

export type LatencyBenchResult = {
  bench: 'latency';
  /** Maximum rate measured by the burst (absent with --rate). */
  rate_max_pps?: number;
  rate_pps: number;
  seconds: number;
  devices: number;
  alerts: number;
  poll_ms: number;
  trial_count: number;
  probes: { sent: number; seen: number };
} & LatencyTrial & { min: LatencyTrial; max: LatencyTrial; trials: LatencyTrial[] };

/** Tracks the probe device's points until InfluxDB returns them. */
class ProbeReader {
  private readonly pending = new Map<number, number>(); // seq → sent at (epoch ms)
  readonly latencies: number[] = [];
  sent = 0;
  constructor(
    private readonly q: QueryApi,
    private readonly bucket: string,
  ) {}

  point(seq: number, sentAtMs: number, tsNs: bigint): Point {
    this.pending.set(seq, sentAtMs);
    this.sent++;
    return { device: PROBE_DEVICE, ts: String(tsNs), tags: { host: 'bench-probe' }, fields: { temperature_c: 50, [PROBE_FIELD]: seq } };
  }

  get waiting(): number {
    return this.pending.size;
  }

  /** One query for the probe's points since the oldest one not yet seen. */
  async poll(): Promise<void> {
    if (!this.pending.size) return;
    const at = Date.now();
    const oldest = Math.min(...this.pending.values());
    const rows = await this.q.collectRows<{ _value: number }>(flux`from(bucket: ${this.bucket})
  |> range(start: ${fluxDateTime(new Date(oldest - 2_000).toISOString())})
  |> filter(fn: (r) => r._measurement == ${MEASUREMENT} and r.device == ${PROBE_DEVICE} and r._field == ${PROBE_FIELD})
  |> keep(columns: ["_value"])`);
    for (const r of rows) {
      const sentAt = this.pending.get(r._value);
      if (sentAt === undefined) continue;
      this.pending.delete(r._value);
      this.latencies.push(at - sentAt);
    }
  }
}

/** Polls every POLL_MS until `stop()` and then until every probe was seen (or `drainMs` passed). */
function pollProbes(reader: ProbeReader, drainMs = 60_000): { stop(): Promise<void> } {
  let stopping = false;
  const loop = (async () => {
    let deadline = Infinity;
    while (!stopping || (reader.waiting > 0 && Date.now() < deadline)) {
      if (stopping && deadline === Infinity) deadline = Date.now() + drainMs;
      const t = performance.now();
      // A failed query (InfluxDB busy) only delays the next look; the latency is still measured from the send.
      await reader.poll().catch(() => {});
      await sleep(Math.max(0, POLL_MS - (performance.now() - t)));
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
    },
  };
}

async function maxRate(stack: BenchStack, pool: PointPool, seconds: number): Promise<number> {
  const t0 = performance.now();
  const burst = await burstLoad({ apiUrl: stack.apiUrl, pool, seconds });
  const { lastSeq } = await streamProgress(stack.jsm, stack.cfg);
  const { at } = await waitUntilCollected(stack.jsm, stack.cfg, { expectedLastSeq: lastSeq, timeoutMs: 600_000 });
  return burst.accepted / ((at - t0) / 1_000);
}

/** Sequential anomalies, one fresh device each; ms from the POST to the alert's first chat.postMessage. */
async function notificationLatencies(stack: BenchStack, slack: FakeSlackServer, n: number, label: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = -1; i < n; i++) {
    // i = -1: warm-up (first alert workflow, first activities), not counted.
    const device = `GPU-bench-alert-${label}-${i < 0 ? 'warmup' : String(i).padStart(3, '0')}`;
    const alertId = alertWorkflowId(device, LATENCY_RULE.name);
    const now = nowNs();
    const points = [70, 80, 96].map((t, k) => ({ device, ts: String(now - BigInt(2 - k) * 1_000_000_000n), tags: { host: 'bench-alert' }, fields: { temperature_c: t } }));
    const sentAt = Date.now();
    const r = await postPoints(stack.apiUrl, points, `alert-${device}`);
    if (r.status !== 202) throw new Error(`POST of the anomaly for ${device} answered ${r.status}`);
    const deadline = Date.now() + 60_000;
    let postedAt: number | undefined;
    while (postedAt === undefined) {
      postedAt = slack.successesOf('chat.postMessage').find((c) => {
        const md = c.body.metadata as { event_type?: string; event_payload?: { alert_id?: unknown } } | undefined;
        return c.body.thread_ts === undefined && md?.event_type === ALERT_METADATA_EVENT && md.event_payload?.alert_id === alertId;
      })?.at;
      if (postedAt !== undefined) break;
      if (Date.now() > deadline) throw new Error(`no Slack post for ${alertId} within 60 s`);
      await sleep(5);
    }
    if (i >= 0) out.push(postedAt - sentAt);
    await sleep(200);
  }
  return out;
}

export async function runLatencyBench(o: LatencyBenchOptions): Promise<LatencyBenchResult> {
  const slack = await new FakeSlackServer().start();
  const confDir = mkdtempSync(join(tmpdir(), 'telemetry-bench-conf-'));
  const cleanUp = async () => {
    await slack.stop();
    rmSync(confDir, { recursive: true, force: true });
  };
  const unregister = onInterrupt(cleanUp);
  let stack: BenchStack | undefined;
  try {
    const rulesFile = join(confDir, 'alert-rules.json');
    const policyFile = join(confDir, 'escalation-policy.json');
    writeFileSync(rulesFile, JSON.stringify({ rules: [LATENCY_RULE] }));
    // One level with a long wait: no escalation traffic while measuring.
    writeFileSync(policyFile, JSON.stringify({ default: { levels: [{ name: 'on-call', channel: SLACK_CHANNEL, users: ['U0BENCH01'], waitFor: '1h' }], repeat: 0, autoResolveAfter: '10m', snoozeMax: '1h' } }));
    stack = await startBenchStack({
      chain: true,
      services: ['collect-worker', 'alerts-worker', 'api'],
      env: {
        ...LOAD_API_ENV,
        ALERT_RULES_FILE: rulesFile,
        ESCALATION_POLICY_FILE: policyFile,
        SLACK_BOT_TOKEN: 'xoxb-bench-0000000000-local',
        SLACK_SIGNING_SECRET: 'bench-signing-secret-0123456789',
        SLACK_API_URL: slack.apiUrl,
        SLACK_CHANNEL,
        // The stack sets CHAIN_RPC_URL, so the alerts worker needs the key explicitly.
        CHAIN_PRIVATE_KEY: ANVIL_DEV_KEY,
      },
      log: o.log,
    });
    const pool = new PointPool(o.devices);
    let rateMax: number | undefined;
    if (o.rate === undefined) {
      rateMax = await maxRate(stack, pool, o.calibrateSeconds);
      o.log(`maximum rate (HTTP burst of ${o.calibrateSeconds} s until collected): ${Math.round(rateMax).toLocaleString('en-US')} points/s`);
    }
    const rate = o.rate ?? rateMax! / 2;
    const q = new InfluxDB({ url: stack.influx.url, token: stack.influx.token, timeout: 30_000 }).getQueryApi(stack.influx.org);
    const trials: LatencyTrial[] = [];
    let probesSent = 0;
    let probesSeen = 0;
    for (let t = 1; t <= o.trials; t++) {
      const reader = new ProbeReader(q, stack.influx.bucket);
      const poller = pollProbes(reader);
      let load;
      try {
        load = await steadyLoad({ apiUrl: stack.apiUrl, pool, rate, seconds: o.seconds, extra: (k, sentAt, ns) => [reader.point(k, sentAt, ns)] });
      } finally {
        await poller.stop();
      }
      probesSent += reader.sent;
      probesSeen += reader.latencies.length;
      if (reader.waiting) o.log(`trial ${t}: ${reader.waiting} of ${reader.sent} probe points never became queryable`);
      const notify = await notificationLatencies(stack, slack, o.alerts, `t${t}`);
      const trial: LatencyTrial = { load_pps: load.accepted / load.seconds, queryable_ms: latencySummary(reader.latencies), notify_ms: latencySummary(notify) };
      trials.push(roundFigures(trial));
      o.log(
        `trial ${t}/${o.trials}: load ${Math.round(trial.load_pps)} points/s; queryable p50 ${trial.queryable_ms.p50} ms, p99 ${trial.queryable_ms.p99} ms; notification p50 ${trial.notify_ms.p50} ms, p99 ${trial.notify_ms.p99} ms`,
      );
    }
    const s = summarizeTrials(trials);
    return {
      bench: 'latency',
      ...(rateMax !== undefined ? { rate_max_pps: Math.round(rateMax) } : {}),
      rate_pps: Math.round(rate),
      seconds: o.seconds,
      devices: o.devices,
      alerts: o.alerts,
      poll_ms: POLL_MS,
      trial_count: trials.length,
      probes: { sent: probesSent, seen: probesSeen },
      ...s.median,
      min: s.min,
      max: s.max,
      trials,
    };
  } finally {
    await stack?.stop();
    await cleanUp();
    unregister();
  }
}

export function latencyTable(r: LatencyBenchResult): string {
  const row = (label: string, k: 'queryable_ms' | 'notify_ms') => [label, r[k].p50, r[k].p99, r[k].max, `${r.min[k].p50}–${r.max[k].p50}`, `${r.min[k].p99}–${r.max[k].p99}`];
  const head = `bench latency: load ${r.rate_pps.toLocaleString('en-US')} points/s${r.rate_max_pps ? ` (half of the measured maximum ${r.rate_max_pps.toLocaleString('en-US')})` : ''} over HTTP, ${r.devices} devices, ${r.seconds} s × ${r.trial_count} trial(s); ${r.alerts} anomalies per trial; InfluxDB polled every ${r.poll_ms} ms`;
  return `${head}\n${formatTable(
    [{ title: 'path (ms, median over trials)' }, { title: 'p50', numeric: true }, { title: 'p99', numeric: true }, { title: 'max', numeric: true }, { title: 'p50 range', numeric: true }, { title: 'p99 range', numeric: true }],
    [row('ingest (HTTP) → queryable in InfluxDB', 'queryable_ms'), row('anomaly (HTTP) → first Slack post', 'notify_ms')],
  )}\nprobe points queryable: ${r.probes.seen} of ${r.probes.sent}; achieved load ${Math.round(r.load_pps)} points/s\nnote: the Slack stand-in has no rate limit (real Slack: about 1 message/s per channel).`;
}

/**
 * The chaos scenarios, one entry each: the fault and when it strikes. Each
 * `run` ingests the scenario's data set while it injects the fault on the
 * real servers, checks what the fault itself must show (the stream really
 * full, a collector really retrying, the ingest really waiting…), and
 * returns once the ingest is over and the fault has ended. The runner
 * (chaos-run.ts) then judges points, pages, acks and the DLQ.
 *
 * Outages last `ctx.faultMs` (30 s by default); "restarts" are a stop and
 * an immediate start (down for ~1 s plus the server's start-up).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { collectorWorkflowId } from '../../lib/temporal-names.ts';
import { dlqStreamName } from '../../lib/stream/jetstream.ts';
import { pauseSignal, resumeSignal } from '../../workflows/partition-collector.ts';
import { CHAOS_API_HEADERS, alertState, attemptsToPost, dlqMessages } from './chaos-checks.ts';
import { CLOCK_SKEW_S } from './chaos-stack.ts';
import type { ScenarioContext } from './chaos-run.ts';
import { sendAckClick } from './slack-click.ts';

export interface ChaosScenario {
  name: string;
  summary: string;
  /** Dead letters the scenario plants (default 0). */
  expectedDlq?: number;
  /** Where recovery_s ends, counted from the fault's end: every point stored (default), the alert paged, or the ack on chain. */
  recoveryUntil?: 'stored' | 'paged' | 'ack-on-chain';
  run(ctx: ScenarioContext): Promise<void>;
  /** Acknowledges the alert (default: POST /v1/alerts/:id/ack). */
  acknowledge?(ctx: ScenarioContext): Promise<void>;
}

/** How long the API may take to answer an ack while the chain is down (issue 9: "within 5 s"). */
const ACK_ANSWER_BOUND_MS = 5_000;

/** A restart: down this long, plus the server's own start-up. */
const RESTART_DOWN_MS = 1_000;

/**
 * Starts the ingest, waits for `when` — a third of the batches published
 * (the collectors are then busy, far from done: ingest publishes about twice
 * as fast as they store), or the first batch published (the ingest itself is
 * mid-file) — injects `fault`, then waits for the ingest. Fails the scenario
 * if the fault came too late to hit the run in progress. (Triggers are read
 * from JetStream: a count in InfluxDB is too slow to poll on a busy machine.)
 */
async function duringIngest(ctx: ScenarioContext, when: 'collecting' | 'publishing', env: Record<string, string>, fault: () => Promise<void>): Promise<void> {
  const run = ctx.startIngest(env);
  let exited = false;
  void run.done.then(() => (exited = true));
  const ingest = ctx.ingestToEnd(run);
  const want = when === 'collecting' ? Math.max(1, Math.round(ctx.batches / 3)) : 1;
  const n = await ctx.until(() => ctx.published(), (c) => c >= want, 180_000, 25);
  if (when === 'collecting') {
    const backlog = await ctx.backlog().catch(() => -1);
    // Caught up with an ingest still publishing is still mid-ingest; caught up with the ingest over is not.
    if (backlog === 0 && exited) ctx.fail(`the fault came too late: the ingest was over and nothing left to collect (${n ?? 0} batches published)`);
    else ctx.note(`fault with ${n ?? 0} of ~${ctx.batches} batches published and ${backlog} not yet collected`);
  } else if (exited) ctx.fail('the fault came too late: the ingest had already finished');
  else ctx.note(`fault while the ingest was publishing (${n ?? 0} of ~${ctx.batches} batches in the stream)`);
  await fault();
  ctx.recovered();
  await ingest;
}

async function withTemporal<T>(ctx: ScenarioContext, fn: (c: Client) => Promise<T>): Promise<T> {
  const conn = await Connection.connect({ address: ctx.stack.bench.childEnv.TEMPORAL_ADDRESS! });
  try {
    return await fn(new Client({ connection: conn, namespace: ctx.stack.bench.cfg.TEMPORAL_NAMESPACE }));
  } finally {
    await conn.close();
  }
}

const partitions = (ctx: ScenarioContext) => Array.from({ length: ctx.stack.bench.cfg.PARTITIONS_PER_TOPIC }, (_, p) => p);

export const SCENARIOS: ChaosScenario[] = [
  {
    name: 'collect-worker-kill',
    summary: 'SIGKILL of the collect worker mid-batch, then a new one',
    run: (ctx) => duringIngest(ctx, 'collecting', {}, () => ctx.stack.killWorker('collect-worker')),
  },
  {
    name: 'ingest-kill',
    summary: 'SIGKILL of `ingest` mid-file, then the same command again',
    async run(ctx) {
      const first = ctx.startIngest();
      const n = await ctx.until(() => ctx.published(), (c) => c >= 3, 180_000, 25);
      first.kill();
      const r = await first.done;
      if (r.status === 0) ctx.fail('the first ingest finished before the kill');
      else ctx.note(`first ingest killed after ${n ?? 0} batches were published; rerun`);
      ctx.recovered();
      await ctx.ingestToEnd();
    },
  },
  {
    name: 'nats-restart',
    summary: 'nats-server stopped (SIGTERM) and started again mid-ingest',
    run: (ctx) => duringIngest(ctx, 'publishing', {}, () => ctx.stack.outage('nats', { downMs: RESTART_DOWN_MS })),
  },
  {
    name: 'nats-kill',
    summary: 'nats-server SIGKILLed and started again mid-ingest',
    run: (ctx) => duringIngest(ctx, 'publishing', {}, () => ctx.stack.outage('nats', { downMs: RESTART_DOWN_MS, kill: true })),
  },
  {
    name: 'influxdb-down',
    summary: 'influxd stopped mid-ingest for the fault duration',
    async run(ctx) {
      await duringIngest(ctx, 'collecting', {}, async () => {
        await ctx.stack.stopServer('influxdb');
        // While it is down a collector must be retrying (a held backlog, not a failed workflow).
        const downAt = performance.now();
        const retrying = await ctx.until(() => retryingCollector(ctx), (v) => v !== undefined, Math.max(ctx.faultMs - 1_000, 5_000), 300);
        if (!retrying) ctx.fail('no collector activity was retrying while InfluxDB was down');
        else ctx.note(`collector-p${retrying.p} retrying (attempt ${retrying.attempt}): ${retrying.failure.slice(0, 100)}`);
        await sleep(Math.max(0, ctx.faultMs - (performance.now() - downAt)));
        await ctx.stack.startServer('influxdb');
      });
    },
  },
  {
    name: 'temporal-restart',
    summary: 'Temporal dev server stopped and started again (same SQLite file) mid-ingest',
    run: (ctx) => duringIngest(ctx, 'collecting', {}, () => ctx.stack.outage('temporal', { downMs: RESTART_DOWN_MS })),
  },
  {
    name: 'evm-down-during-ack',
    summary: 'anvil stopped when the ack arrives, back after the fault duration',
    recoveryUntil: 'ack-on-chain',
    run: (ctx) => ctx.ingestToEnd(),
    async acknowledge(ctx) {
      const raised = await ctx.until(() => alertState(ctx.stack.bench.apiUrl, ctx.data.alertId), (s) => s?.raisedReceipt !== undefined, 60_000);
      if (!raised?.raisedReceipt) ctx.fail('the raise was not on chain before the outage');
      await ctx.stack.stopServer('chain');
      const downAt = performance.now();
      const r = await ctx.apiAck();
      // The API answers within its bound with the ack recorded in the workflow and the chain write pending.
      const body = JSON.parse(r.body || '{}') as { chain?: string; receipt?: unknown };
      if (r.status !== 202 || body.chain !== 'pending') ctx.fail(`the ack answered ${r.status} (chain ${body.chain}) during the outage, expected 202 with chain: pending`);
      if (r.ms > ACK_ANSWER_BOUND_MS) ctx.fail(`the ack took ${(r.ms / 1_000).toFixed(1)} s to answer during the outage (bound ${ACK_ANSWER_BOUND_MS / 1_000} s)`);
      ctx.note(`during the outage the API answered the ack in ${(r.ms / 1_000).toFixed(1)} s: HTTP ${r.status}, chain ${body.chain}`);
      const during = await ctx.until(() => alertState(ctx.stack.bench.apiUrl, ctx.data.alertId), (s) => s?.status === 'acknowledged', 15_000);
      if (during?.status !== 'acknowledged') ctx.fail(`while the chain was down the alert was ${during?.status ?? 'missing'}, not acknowledged`);
      else if (during.ack?.receipt) ctx.fail('a receipt while the chain was down');
      else ctx.note('acknowledged in Temporal while the chain was down, no receipt');
      await sleep(Math.max(0, ctx.faultMs - (performance.now() - downAt)));
      await ctx.stack.startServer('chain');
      ctx.recovered();
    },
  },
  {
    name: 'slack-429-then-500',
    summary: "from the alert's first post, Slack answers chat.postMessage 429 (Retry-After 1) for half the fault duration, then 500 for the other half",
    recoveryUntil: 'paged',
    async run(ctx) {
      const { slack } = ctx.stack;
      // The window opens at the alert's first post attempt (when that comes depends on the collectors):
      // refuse every post until then, and from then on 429 for half the fault duration, 500 for the other half.
      slack.failFor({ kind: 'ratelimit', retryAfterS: 1 }, 600_000, 'chat.postMessage');
      const ingest = ctx.ingestToEnd();
      try {
        const first = await ctx.until(async () => attemptsToPost(slack, ctx.data.alertId).length, (n) => n > 0, 300_000, 50);
        if (!first) ctx.fail('no attempt to post the alert');
      } finally {
        slack.clearFailures();
      }
      slack.failFor({ kind: 'ratelimit', retryAfterS: 1 }, ctx.faultMs / 2, 'chat.postMessage');
      slack.failFor({ kind: 'http', status: 500 }, ctx.faultMs / 2, 'chat.postMessage');
      await ingest;
      await sleep(Math.max(0, slack.failingUntil - Date.now()));
      ctx.recovered();
      await ctx.until(async () => attemptsToPost(slack, ctx.data.alertId).some((c) => c.ok), Boolean, 60_000, 100);
      const tries = attemptsToPost(slack, ctx.data.alertId);
      const statuses = tries.map((c) => c.status);
      if (!statuses.includes(429) || !statuses.includes(500)) ctx.fail(`the alert's post did not meet both the 429s and the 500s (statuses ${statuses.join(',')})`);
      ctx.note(`post attempts: ${statuses.filter((s) => s === 429).length} × 429, ${statuses.filter((s) => s === 500).length} × 500, ${statuses.filter((s) => s === 200).length} × 200`);
    },
  },
  {
    name: 'stream-full',
    summary: 'collectors paused with the stream capped at 8 batches: ingest must wait, HTTP answer 429',
    async run(ctx) {
      const { jsm, cfg, apiUrl } = ctx.stack.bench;
      const info = await jsm.streams.info(cfg.STREAM_NAME);
      const cap = info.state.messages + 8;
      await withTemporal(ctx, (c) => Promise.all(partitions(ctx).map((p) => c.workflow.getHandle(collectorWorkflowId(p)).signal(pauseSignal))));
      // A pause takes effect when the running collect activity returns (≤ its maxMs): wait until none runs.
      const idle = await ctx.until(() => runningCollectors(ctx), (n) => n === 0, 60_000, 300);
      if (idle !== 0) ctx.fail(`${idle} collector(s) still running 60 s after the pause`);
      try {
        // The ingest applies the topology with its own QUEUE_SIZE at start-up: that is the cap.
        const run = ctx.startIngest({ QUEUE_SIZE: String(cap) });
        let exited = false;
        void run.done.then(() => (exited = true));
        const ingest = ctx.ingestToEnd(run);
        const full = await ctx.until(async () => (await jsm.streams.info(cfg.STREAM_NAME)).state.messages, (n) => n >= cap, 60_000, 100);
        if ((full ?? 0) < cap) ctx.fail(`the stream never filled (${full} of ${cap} messages)`);
        const probe = await fetch(`${apiUrl}/v1/telemetry`, {
          method: 'POST',
          headers: CHAOS_API_HEADERS,
          body: JSON.stringify({ batchId: `chaos-full-${Date.now()}`, points: [{ device: 'GPU-chaos-full-probe', ts: String(BigInt(Date.now()) * 1_000_000n), fields: { temperature_c: 40 } }] }),
        });
        await probe.arrayBuffer();
        if (probe.status !== 429 || !probe.headers.get('retry-after')) ctx.fail(`HTTP ingest answered ${probe.status} (Retry-After ${probe.headers.get('retry-after')}) to a full stream, expected 429 with Retry-After`);
        else ctx.note(`stream full at ${cap} messages: HTTP 429, Retry-After ${probe.headers.get('retry-after')} s`);
        await sleep(ctx.faultMs);
        if (exited) ctx.fail('the ingest stopped while the stream was full (it must wait)');
        else ctx.note(`ingest still waiting after ${ctx.faultMs / 1_000} s of a full stream`);
        await jsm.streams.update(cfg.STREAM_NAME, { ...info.config, max_msgs: cfg.QUEUE_SIZE });
        await withTemporal(ctx, (c) => Promise.all(partitions(ctx).map((p) => c.workflow.getHandle(collectorWorkflowId(p)).signal(resumeSignal))));
        ctx.recovered();
        await ingest;
      } finally {
        // Whatever happened above, the next scenario needs the stream's room and running collectors.
        await jsm.streams.update(cfg.STREAM_NAME, { ...info.config, max_msgs: cfg.QUEUE_SIZE }).catch(() => {});
        await withTemporal(ctx, (c) => Promise.all(partitions(ctx).map((p) => c.workflow.getHandle(collectorWorkflowId(p)).signal(resumeSignal)))).catch(() => {});
      }
    },
  },
  {
    name: 'dlq-disk-full',
    summary: '4 poison batches while the dead-letter stream has room for 2: held and retried until room is made',
    expectedDlq: 4,
    async run(ctx) {
      const { jsm, nc, cfg } = ctx.stack.bench;
      const dlq = dlqStreamName(cfg);
      const info = await jsm.streams.info(dlq);
      const room = info.state.messages + 2;
      try {
        // The ingest applies the topology with its own DLQ_MAX_MSGS at start-up: that is the DLQ's room.
        await duringIngest(ctx, 'collecting', { DLQ_MAX_MSGS: String(room) }, async () => {
          const js = nc.jetstream();
          for (let i = 0; i < 4; i++)
            await js.publish(`${cfg.SUBJECT_PREFIX}.${i % cfg.PARTITIONS_PER_TOPIC}`, new TextEncoder().encode(`\u0000chaos poison ${ctx.data.host} ${i} {{{`), { msgID: `chaos-poison-${ctx.data.host}-${ctx.data.endMs}-${i}` });
          const filled = await ctx.until(() => dlqMessages(jsm, cfg), (n) => n >= room, 60_000, 200);
          if (filled !== room) ctx.fail(`the DLQ holds ${filled} messages, expected it full at ${room}`);
          const retrying = await ctx.until(() => retryingCollector(ctx), (v) => v !== undefined, 30_000, 300);
          if (!retrying) ctx.fail('no collector was retrying while the DLQ was full');
          else ctx.note(`DLQ full (${room} messages): collector-p${retrying.p} holds its batch, retrying (attempt ${retrying.attempt}): ${retrying.failure.slice(0, 80)}`);
          await sleep(ctx.faultMs);
          const still = await dlqMessages(jsm, cfg);
          if (still !== room) ctx.fail(`the full DLQ changed to ${still} messages (a dead letter was dropped or overflowed)`);
          // The operator makes room (here: the configured capacity again).
          await jsm.streams.update(dlq, { ...info.config, max_msgs: cfg.DLQ_MAX_MSGS });
        });
        const all = await ctx.until(() => dlqMessages(jsm, cfg), (n) => n >= info.state.messages + 4, 90_000, 300);
        ctx.note(`after room was made the DLQ holds ${(all ?? 0) - info.state.messages} new dead letters`);
      } finally {
        await jsm.streams.update(dlq, { ...info.config, max_msgs: cfg.DLQ_MAX_MSGS }).catch(() => {});
      }
    },
  },
  {
    name: 'clock-skew',
    summary: `API clock ±${CLOCK_SKEW_S / 60} min off: signed Slack clicks inside its ±5 min window accepted, outside refused`,
    run: (ctx) => ctx.ingestToEnd(),
    async acknowledge(ctx) {
      const msg = await ctx.until(() => ctx.alertMessage(), (m) => m !== undefined, 30_000);
      if (!msg) return ctx.fail('no Slack message to click on');
      const { ahead, behind } = ctx.stack.skewedApiUrl;
      const now = Date.now() / 1_000;
      const click = (apiUrl: string, timestamp: number) =>
        sendAckClick({ apiUrl, signingSecret: ctx.stack.signingSecret, alertId: ctx.data.alertId, channel: msg.channel, messageTs: msg.ts, user: { id: 'U0CHAOS01', name: 'chaos-oncall' }, timestamp });
      const cases = [
        { api: ahead, ts: now, want: 401, what: "API +10 min, click at Slack's true time (10 min stale to it)" },
        { api: ahead, ts: now + CLOCK_SKEW_S + 330, want: 401, what: 'API +10 min, click 5.5 min ahead of its clock' },
        { api: behind, ts: now - CLOCK_SKEW_S - 330, want: 401, what: 'API −10 min, click 5.5 min behind its clock' },
        { api: ahead, ts: now + CLOCK_SKEW_S - 240, want: 200, what: 'API +10 min, click 4 min behind its clock' },
        { api: behind, ts: now - CLOCK_SKEW_S + 240, want: 200, what: 'API −10 min, click 4 min ahead of its clock (a second ack: idempotent)' },
      ];
      for (const c of cases) {
        const status = await click(c.api, c.ts);
        if (status !== c.want) ctx.fail(`${c.what}: HTTP ${status}, expected ${c.want}`);
        if (c.want === 401) {
          const s = await alertState(ctx.stack.bench.apiUrl, ctx.data.alertId);
          if (s?.status !== 'firing') ctx.fail(`after a refused click the alert is ${s?.status}, expected still firing`);
        }
      }
      ctx.note(`clicks: ${cases.map((c) => `${c.want === 200 ? 'accepted' : 'refused'} (${c.what})`).join('; ')}`);
    },
  },
];

/** Collectors with an activity in progress. */
async function runningCollectors(ctx: ScenarioContext): Promise<number> {
  return withTemporal(ctx, async (c) => {
    let n = 0;
    for (const p of partitions(ctx)) if ((await c.workflow.getHandle(collectorWorkflowId(p)).describe()).raw.pendingActivities?.length) n++;
    return n;
  });
}

/** A collector whose activity is on its 2nd+ attempt (held backlog, retrying), if any. */
async function retryingCollector(ctx: ScenarioContext): Promise<{ p: number; attempt: number; failure: string } | undefined> {
  return withTemporal(ctx, async (c) => {
    for (const p of partitions(ctx)) {
      const d = await c.workflow.getHandle(collectorWorkflowId(p)).describe();
      const pending = d.raw.pendingActivities?.[0];
      if (d.status.name === 'RUNNING' && pending && (pending.attempt ?? 0) >= 2) return { p, attempt: pending.attempt ?? 0, failure: pending.lastFailure?.message ?? '' };
    }
    return undefined;
  });
}

/**
 * Issue 7: dead-man (absence) rules that know about backlog and backfill, on
 * the real servers.
 * - the collectors are paused for longer than the rule's `for:` while live
 *   devices keep reporting (their data queues in JetStream) → no absence page
 *   for any of them once the backlog is read; the stall itself is reported as
 *   the pipeline's own operational alert;
 * - a day-old log ingested into the running stack → no absence page;
 * - a live device that stops → paged, as before.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from 'nats';
import { publishPoints } from '../../../lib/stream/ingest.ts';
import { writeSample } from '../../../lib/sample/generate-sample.ts';
import { msToNs, type Point } from '../../../lib/point.ts';
import { alertWorkflowId } from '../../../lib/alerts/ids.ts';
import { OPS_DEVICE, opsRule } from '../../../activities/collect/collect-activities.ts';
import { pauseSignal, resumeSignal, statsQuery } from '../../../workflows/partition-collector.ts';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { eventually, runCliAsync, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { readerFor, temporalClient } from '../../support/pipeline.ts';

let s: TestStack;
let worker: ChildHandle | undefined;
let nc: NatsConnection;
let t: Awaited<ReturnType<typeof temporalClient>>;
const RULE = 'gpu-no-data';
const LIVE = ['GPU-live-a', 'GPU-live-b', 'GPU-live-c', 'GPU-live-d', 'GPU-live-e', 'GPU-live-f'];

before(async () => {
  const rules = join(process.env.TMPDIR ?? '/tmp', `deadman-rules-${process.pid}.json`);
  writeFileSync(rules, JSON.stringify({ rules: [{ name: RULE, kind: 'absence', severity: 'critical', for: '8s' }] }));
  s = await startTestStack({ env: { ALERT_RULES_FILE: rules, HEALTH_BACKEND: 'off', COLLECT_STALL_ALERT_S: '6' } });
  nc = await connect({ servers: s.env.NATS_URL! });
  worker = startCollectWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');
  t = await temporalClient(s);
});
after(async () => {
  await t?.close();
  await nc?.close();
  await worker?.stop();
  await s?.stop();
});

/** Alert workflow ids opened so far (the escalation workflows are started by signal-with-start). */
async function openedAlerts(): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const wf of t.client.workflow.list({ query: 'WorkflowType="alertEscalation"' })) ids.add(wf.workflowId);
  return ids;
}

/** Publishes one live point per device per second until stopped. */
let senders = 0;
function liveSender(devices: () => string[]) {
  let tick = 0;
  const id = senders++; // unique message ids per sender (JetStream drops repeats inside its duplicate window)
  let stopped = false;
  const target = {
    js: nc.jetstream(),
    subjectPrefix: s.cfg.SUBJECT_PREFIX,
    partitions: s.cfg.PARTITIONS_PER_TOPIC,
    batchPoints: 1_000,
    policy: { attempts: 3, backoffFactor: 2, initialDelayMs: 100, maxDelayMs: 1_000, waitWhenFull: true },
  };
  const loop = (async () => {
    while (!stopped) {
      const now = Date.now();
      const pts: Point[] = devices().map((device) => ({ device, ts: msToNs(now), tags: { host: 'live' }, fields: { temperature_c: 50 + (tick % 5) } }));
      if (pts.length) await publishPoints(target, `h:live-${process.pid}-${id}-${tick}`, pts);
      tick++;
      await sleep(1_000);
    }
  })();
  return { stop: async () => ((stopped = true), await loop) };
}

async function allCollectors(fn: (h: ReturnType<typeof t.client.workflow.getHandle>) => Promise<unknown>) {
  await Promise.all(Array.from({ length: s.cfg.PARTITIONS_PER_TOPIC }, (_, p) => fn(t.client.workflow.getHandle(`collector-p${p}`))));
}

test('a stalled collector pages nobody for devices whose data is queued; the stall is its own operational alert', async () => {
  const sender = liveSender(() => LIVE);
  await eventually(() => readerFor(s).countPoints({ from: new Date(Date.now() - 60_000).toISOString() }), (c) => c >= LIVE.length * 2, 60_000, 'live data stored');

  // Pause every collector and wait until no collect activity runs: from now on data only queues.
  await allCollectors((h) => h.signal(pauseSignal));
  await eventually(
    async () => {
      let running = 0;
      for (let p = 0; p < s.cfg.PARTITIONS_PER_TOPIC; p++) {
        const h = t.client.workflow.getHandle(`collector-p${p}`);
        const [d, st] = await Promise.all([h.describe(), h.query(statsQuery)]);
        if (!st.paused || (d.raw.pendingActivities?.length ?? 0) > 0) running++;
      }
      return running;
    },
    (n) => n === 0,
    60_000,
    'collectors paused',
  );
  await sleep(20_000); // > 2 × the rule's `for:` (8 s), devices still sending
  const queued = (await nc.jetstreamManager().then((m) => m.streams.info(s.cfg.STREAM_NAME))).state.messages;
  assert.ok(queued >= 10, `data queued during the stall (${queued} messages)`);
  await allCollectors((h) => h.signal(resumeSignal));

  // The backlog drains; give the dead-man rule every chance to misfire.
  await eventually(() => nc.jetstreamManager().then((m) => m.streams.info(s.cfg.STREAM_NAME)).then((i) => i.state.messages), (n) => n <= LIVE.length, 60_000, 'backlog read');
  await sleep(12_000);
  const opened = await openedAlerts();
  for (const d of LIVE) assert.ok(!opened.has(alertWorkflowId(d, RULE)), `no absence page for ${d} (its data was queued, not missing)`);
  assert.ok(opened.has(alertWorkflowId(OPS_DEVICE, opsRule('collect-stalled'))), `the stall is reported as the pipeline's own alert (${[...opened]})`);

  // A day-old log of healthy GPUs, ingested into the running stack: backfill never arms a dead-man timer.
  const file = join(s.dataDir, 'yesterday.csv');
  await writeSample(file, { gpus: 4, samples: 120, startMs: Math.floor((Date.now() - 86_400_000) / 1_000) * 1_000, seed: 3, host: 'yesterday' });
  const r = await runCliAsync(['ingest', file, '--json', '--no-progress'], s.env);
  assert.equal(r.status, 0, r.stderr);
  await eventually(() => readerFor(s).countPoints({ from: new Date(Date.now() - 2 * 86_400_000).toISOString(), to: new Date(Date.now() - 3_600_000).toISOString() }), (c) => c === 480, 60_000, 'backfill stored');

  // A live device that stops is still paged (the others keep reporting).
  const stopped = LIVE[2]!;
  await sender.stop();
  const rest = liveSender(() => LIVE.filter((d) => d !== stopped));
  try {
    await eventually(openedAlerts, (ids) => ids.has(alertWorkflowId(stopped, RULE)), 60_000, `${stopped} paged after it stopped`);
    await sleep(3_000);
    const after = await openedAlerts();
    for (const d of LIVE.filter((x) => x !== stopped)) assert.ok(!after.has(alertWorkflowId(d, RULE)), `${d} keeps reporting: no page`);
    const backfilled = [...after].filter((id) => id.endsWith(`-${RULE}`) && !LIVE.some((d) => id === alertWorkflowId(d, RULE)));
    assert.deepEqual(backfilled, [], 'no absence page for the day-old log');
  } finally {
    await rest.stop();
  }
});

/**
 * Issue 7: every InfluxDB answer does the right thing, on the real servers.
 * - token revoked mid-ingest → nothing dead-lettered, backlog held, an
 *   operational alert; token restored → every point exactly once, alert resolved;
 * - bucket renamed → the same;
 * - InfluxDB answering 503 and timing out for 60 s while /health is OK →
 *   nothing dead-lettered, exact count afterwards;
 * - a batch mixing valid and invalid lines → the valid ones stored, only the
 *   bad ones in the DLQ; `dlq replay` after the fix → exact counts.
 * The collector writes through a fault proxy (test/support/fault-proxy.ts)
 * with its own write-only token, so the test can revoke it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { writeSample } from '../../../lib/sample/generate-sample.ts';
import { dlqStreamName } from '../../../lib/stream/jetstream.ts';
import { publishPoints } from '../../../lib/stream/ingest.ts';
import { alertWorkflowId } from '../../../lib/alerts/ids.ts';
import { OPS_DEVICE, opsRule } from '../../../activities/collect/collect-activities.ts';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { eventually, runCliAsync, startAlertsWorker, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { readerFor, temporalClient, waitForCount } from '../../support/pipeline.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';

let s: TestStack;
let proxy: FaultProxy;
let collect: ChildHandle | undefined;
let alerts: ChildHandle | undefined;
let nc: NatsConnection;
let jsm: JetStreamManager;
let t: Awaited<ReturnType<typeof temporalClient>>;
let writeAuthId = '';
let bucketId = '';
let orgId = '';
const GPUS = 8;

async function influxApi(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const ep = s.stack.endpoints.influxdb!;
  const r = await fetch(`${ep.url}${path}`, {
    method,
    headers: { Authorization: `Token ${ep.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

const dlqCount = async () => (await jsm.streams.info(dlqStreamName(s.cfg))).state.messages;
const backlog = async () => (await jsm.streams.info(s.cfg.STREAM_NAME)).state.messages;

/** Writes a sample of GPUS × samples (1 s apart) starting `minutesAgo` before now; returns its time range (tests use disjoint ones). */
async function sample(name: string, samples: number, minutesAgo: number, seed: number) {
  const startMs = Math.floor((Date.now() - minutesAgo * 60_000) / 1_000) * 1_000;
  const file = join(s.dataDir, `${name}.csv`);
  await writeSample(file, { gpus: GPUS, samples, startMs, seed, host: name });
  return { file, from: new Date(startMs).toISOString(), to: new Date(startMs + samples * 1_000).toISOString(), points: GPUS * samples };
}

async function opsAlertStatus(kind: Parameters<typeof opsRule>[0]): Promise<string | undefined> {
  try {
    return (await t.client.workflow.getHandle(alertWorkflowId(OPS_DEVICE, opsRule(kind))).describe()).status.name;
  } catch {
    return undefined;
  }
}

before(async () => {
  const policy = join(process.env.TMPDIR ?? '/tmp', `ops-policy-${process.pid}.json`);
  writeFileSync(policy, JSON.stringify({ default: { levels: [{ name: 'on-call', waitFor: '10m' }], repeat: 1, autoResolveAfter: '1s', snoozeMax: '1h' } }));
  s = await startTestStack({ env: { RETRY_INITIAL_MS: '300', RETRY_MAX_MS: '2000', RETRY_ATTEMPTS: '1000', ESCALATION_POLICY_FILE: policy } });
  const ep = s.stack.endpoints.influxdb!;
  proxy = await startFaultProxy(ep.url);
  const orgs = (await influxApi('GET', `/api/v2/orgs?org=${s.cfg.INFLUXDB_ORG}`)) as { orgs: { id: string }[] };
  orgId = orgs.orgs[0]!.id;
  const buckets = (await influxApi('GET', `/api/v2/buckets?name=${s.cfg.INFLUXDB_BUCKET}&orgID=${orgId}`)) as { buckets: { id: string }[] };
  bucketId = buckets.buckets[0]!.id;
  const auth = (await influxApi('POST', '/api/v2/authorizations', {
    orgID: orgId,
    description: 'collector (test)',
    permissions: ['read', 'write'].map((action) => ({ action, resource: { type: 'buckets', orgID: orgId, id: bucketId } })),
  })) as { id: string; token: string };
  writeAuthId = auth.id;
  const workerEnv = { ...s.env, INFLUXDB_URL: proxy.url, INFLUXDB_TOKEN: auth.token, INFLUX_WRITE_TIMEOUT_MS: '3000', STATE_FLUSH_MS: '200' };
  collect = startCollectWorker(workerEnv);
  alerts = startAlertsWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-alerts');
  nc = await connect({ servers: s.env.NATS_URL! });
  jsm = await nc.jetstreamManager();
  t = await temporalClient(s);
});
after(async () => {
  await t?.close();
  await nc?.close();
  await collect?.stop();
  await alerts?.stop();
  await proxy?.close();
  await s?.stop();
});

async function heldThenRecovered(name: string, minutesAgo: number, kind: 'auth' | 'not-found', breakIt: () => Promise<void>, fixIt: () => Promise<void>, seed: number, bucketWhileBroken?: string) {
  const reader = readerFor(s);
  const d = await sample(name, 3_000, minutesAgo, seed);
  const ingest = runCliAsync(['ingest', d.file, '--json', '--no-progress'], s.env);
  await eventually(() => reader.countPoints(d), (c) => c >= 2_000, 120_000, 'first points stored', 200);
  await breakIt();
  const r = await ingest;
  assert.equal(r.status, 0, r.stderr);

  // Held: the operational alert opens, the backlog stays in JetStream, nothing goes to the DLQ.
  await eventually(() => opsAlertStatus(kind), (st) => st === 'RUNNING', 60_000, `operational alert ${opsRule(kind)} raised`);
  const brokenReader = bucketWhileBroken ? readerFor({ ...s, stack: { ...s.stack, endpoints: { ...s.stack.endpoints, influxdb: { ...s.stack.endpoints.influxdb!, bucket: bucketWhileBroken } } } }) : reader;
  const stuck = await brokenReader.countPoints(d);
  assert.ok(stuck < d.points, `writes stopped (${stuck} of ${d.points})`);
  assert.ok((await backlog()) > 0, 'the backlog is held in JetStream');
  await sleep(3_000);
  assert.equal(await dlqCount(), 0, 'nothing dead-lettered while InfluxDB refuses us');
  assert.equal(await brokenReader.countPoints(d), stuck, 'nothing written while broken');

  // Fixed → resumes by itself: exact count (no loss, no duplicates), alert recovered and auto-resolved.
  await fixIt();
  assert.equal(await waitForCount(s, d.points, 120_000, d), d.points);
  await eventually(() => opsAlertStatus(kind), (st) => st === 'COMPLETED', 60_000, `operational alert ${opsRule(kind)} resolved`);
  await eventually(backlog, (n) => n === 0, 30_000, 'backlog drained');
  await sleep(1_000);
  assert.equal(await reader.countPoints(d), d.points, 'exactly once');
  assert.equal(await dlqCount(), 0);
}

test('token revoked mid-ingest: held with an operational alert, nothing dead-lettered; restored → every point exactly once', async () => {
  await heldThenRecovered(
    'revoked',
    240,
    'auth',
    () => influxApi('PATCH', `/api/v2/authorizations/${writeAuthId}`, { status: 'inactive' }).then(() => undefined),
    () => influxApi('PATCH', `/api/v2/authorizations/${writeAuthId}`, { status: 'active' }).then(() => undefined),
    21,
  );
});

test('bucket renamed mid-ingest: held with an operational alert; renamed back → every point exactly once', async () => {
  await heldThenRecovered(
    'renamed',
    180,
    'not-found',
    () => influxApi('PATCH', `/api/v2/buckets/${bucketId}`, { name: `${s.cfg.INFLUXDB_BUCKET}-moved` }).then(() => undefined),
    () => influxApi('PATCH', `/api/v2/buckets/${bucketId}`, { name: s.cfg.INFLUXDB_BUCKET }).then(() => undefined),
    22,
    `${s.cfg.INFLUXDB_BUCKET}-moved`,
  );
});

test('InfluxDB answering 503, then timing out, for 60 s while /health is OK: nothing dead-lettered, exact count', async () => {
  const reader = readerFor(s);
  const d = await sample('slow', 3_000, 120, 23);
  const ingest = runCliAsync(['ingest', d.file, '--json', '--no-progress'], s.env);
  await eventually(() => reader.countPoints(d), (c) => c >= 2_000, 120_000, 'first points stored', 200);
  proxy.mode = '503';
  const r = await ingest;
  assert.equal(r.status, 0, r.stderr);
  const health = await fetch(`${proxy.url}/health`);
  assert.equal(health.status, 200, '/health answers pass through the fault');
  await sleep(30_000);
  proxy.mode = 'hang';
  await sleep(30_000);
  assert.ok(proxy.seen['503'] > 0 && proxy.seen.hang > 0, `the collector kept retrying (${JSON.stringify(proxy.seen)})`);
  assert.equal(await dlqCount(), 0, 'nothing dead-lettered during 60 s of 503s and timeouts');
  proxy.mode = 'pass';
  assert.equal(await waitForCount(s, d.points, 180_000, d), d.points);
  await sleep(1_000);
  assert.equal(await reader.countPoints(d), d.points);
  assert.equal(await dlqCount(), 0);
});

test('a batch mixing valid and invalid lines: valid stored, only the bad lines dead-lettered; replay after the fix → exact', async () => {
  const reader = readerFor(s);
  // Invalid for this bucket: older than its retention (1 h). InfluxDB answers 422 "partial write".
  await influxApi('PATCH', `/api/v2/buckets/${bucketId}`, { retentionRules: [{ type: 'expire', everySeconds: 3_600, shardGroupDurationSeconds: 3_600 }] });
  const now = Math.floor(Date.now() / 1_000) * 1_000;
  const good = Array.from({ length: 400 }, (_, i) => ({ device: 'GPU-mixed-a', ts: new Date(now - 600_000 + i * 1_000).toISOString(), fields: { temperature_c: 40 + (i % 20) } }));
  const old = Array.from({ length: 40 }, (_, i) => ({ device: 'GPU-mixed-b', ts: new Date(now - 2 * 86_400_000 + i * 1_000).toISOString(), fields: { temperature_c: 55 } }));
  const mixed = [...good.slice(0, 200), ...old, ...good.slice(200)];
  const pts = mixed.map((p) => ({ device: p.device, ts: String(BigInt(Date.parse(p.ts)) * 1_000_000n), tags: { host: 'mixed' }, fields: p.fields }));
  await publishPoints(
    {
      js: nc.jetstream(),
      subjectPrefix: s.cfg.SUBJECT_PREFIX,
      partitions: s.cfg.PARTITIONS_PER_TOPIC,
      batchPoints: 5_000,
      policy: { attempts: 3, backoffFactor: 2, initialDelayMs: 100, maxDelayMs: 1_000, waitWhenFull: true },
    },
    'h:mixed-1',
    pts,
  );
  assert.equal(await waitForCount(s, 400, 60_000, { device: 'GPU-mixed-a' }), 400, 'every valid line stored');
  await eventually(dlqCount, (n) => n >= 1, 30_000, 'the bad lines dead-lettered');
  const list = await runCliAsync(['dlq', 'list', '--json'], s.env);
  assert.equal(list.status, 0, list.stderr);
  const entries = (list.json as { entries: { kind: string; points?: number }[] }).entries;
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.kind, 'influx-data');
  assert.equal(entries[0]!.points, 40, 'only the 40 rejected lines, not the batch');
  assert.equal(await reader.countPoints({ device: 'GPU-mixed-b', from: new Date(now - 3 * 86_400_000).toISOString() }), 0);

  // The fix: a longer retention. Replay brings exactly those points back, once.
  await influxApi('PATCH', `/api/v2/buckets/${bucketId}`, { retentionRules: [{ type: 'expire', everySeconds: 0 }] });
  const replay = await runCliAsync(['dlq', 'replay', '--reason', 'influx-data', '--json'], s.env);
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal((replay.json as { replayed: number }).replayed, 1);
  const range = { device: 'GPU-mixed-b', from: new Date(now - 3 * 86_400_000).toISOString() };
  assert.equal(await waitForCount(s, 40, 60_000, range), 40);
  await sleep(1_500);
  assert.equal(await reader.countPoints(range), 40);
  assert.equal(await reader.countPoints({ device: 'GPU-mixed-a' }), 400);
  assert.equal(await dlqCount(), 0, 'the DLQ is empty after the replay');
  const again = await runCliAsync(['dlq', 'replay', '--reason', 'influx-data', '--json'], s.env);
  assert.equal((again.json as { replayed: number }).replayed, 0, 'a second replay brings nothing');
});

/**
 * Poison batches on real servers: a message that is not JSON and one that is
 * JSON but not a valid batch, published straight onto `telemetry.p.0` between
 * valid batches, are moved to the DLQ stream with a reason header naming the
 * problem; the valid data is stored exactly; the collectors keep running.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { encodeBatch } from '../../../lib/stream/codec.ts';
import { dlqStreamName, dlqSubject } from '../../../lib/stream/jetstream.ts';
import type { Point } from '../../../lib/point.ts';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { eventually, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { readerFor, temporalClient, waitForCount } from '../../support/pipeline.ts';
import { statsQuery } from '../../../workflows/partition-collector.ts';

let s: TestStack;
let worker: ChildHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

const T0 = BigInt(Date.UTC(2025, 3, 1, 0, 0, 0)) * 1_000_000n;
function points(device: string, from: number, n: number): Point[] {
  return Array.from({ length: n }, (_, i) => ({
    device,
    ts: String(T0 + BigInt(from + i) * 1_000_000_000n),
    tags: { host: 'dlq-host' },
    fields: { temperature_c: 40 + ((from + i) % 30), power_w: 100 + (from + i) * 0.5 },
  }));
}

before(async () => {
  // One partition: every collector message in this file goes through collector-p0.
  s = await startTestStack({ env: { PARTITIONS_PER_TOPIC: '1', HEALTH_BACKEND: 'off' } });
  worker = startCollectWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');
  nc = await connect({ servers: s.env.NATS_URL });
  jsm = await nc.jetstreamManager();
  js = nc.jetstream();
});
after(async () => {
  await nc?.close();
  await worker?.stop();
  await s?.stop();
});

test('garbage and schema-invalid batches go to the DLQ with the reason; valid data around them is stored exactly', async () => {
  const subject = `${s.cfg.SUBJECT_PREFIX}.0`;
  const garbage = Buffer.from('\u0000not json at all {{{');
  // Valid JSON, valid shape except the timestamp of the second point (an RFC 3339 string, not ns).
  const invalid = Buffer.from(
    JSON.stringify({ v: 1, origin: 'bad:1', devices: {}, points: [['GPU-dlq-x', String(T0), { a: 1 }], ['GPU-dlq-x', '2025-04-01T00:00:00Z', { a: 2 }]] }),
  );
  const before1 = points('GPU-dlq-a', 0, 300);
  const before2 = points('GPU-dlq-b', 0, 200);
  const after1 = points('GPU-dlq-a', 300, 250);

  const seqs: Record<string, number> = {};
  seqs.before1 = (await js.publish(subject, encodeBatch('dlq:before1', before1), { msgID: 'dlq-before1' })).seq;
  seqs.before2 = (await js.publish(subject, encodeBatch('dlq:before2', before2), { msgID: 'dlq-before2' })).seq;
  seqs.garbage = (await js.publish(subject, garbage, { msgID: 'dlq-garbage' })).seq;
  seqs.invalid = (await js.publish(subject, invalid, { msgID: 'dlq-invalid' })).seq;
  seqs.after1 = (await js.publish(subject, encodeBatch('dlq:after1', after1), { msgID: 'dlq-after1' })).seq;

  // Exactly the valid points, and nothing from the poison batches (GPU-dlq-x's first point was valid on its own).
  assert.equal(await waitForCount(s, 750, 90_000), 750);
  const reader = readerFor(s);
  assert.equal(await reader.countPoints({ device: 'GPU-dlq-a' }), 550);
  assert.equal(await reader.countPoints({ device: 'GPU-dlq-b' }), 200);
  assert.equal(await reader.countPoints({ device: 'GPU-dlq-x' }), 0, 'no partial write of the invalid batch');
  assert.deepEqual(await reader.pointAt('GPU-dlq-a', after1[249]!.ts), after1[249]!.fields);

  // Both poison messages are in the DLQ, byte for byte, with reason and provenance headers.
  const dlq = dlqStreamName(s.cfg);
  await eventually(() => jsm.streams.info(dlq).then((i) => i.state.messages), (n) => n === 2, 30_000, 'DLQ to hold 2 messages');
  const msgs = [await jsm.streams.getMessage(dlq, { seq: 1 }), await jsm.streams.getMessage(dlq, { seq: 2 })];
  const byOrigSeq = new Map(msgs.map((m) => [Number(m.header.get('Telemetry-Original-Seq')), m]));
  const g = byOrigSeq.get(seqs.garbage);
  const v = byOrigSeq.get(seqs.invalid);
  assert.ok(g && v, `DLQ holds the two poison messages (original seqs ${[...byOrigSeq.keys()]})`);
  assert.match(g.header.get('Telemetry-Dlq-Reason'), /^decode: batch is not valid JSON/);
  assert.match(v.header.get('Telemetry-Dlq-Reason'), /^decode: invalid batch at points\.1\.1: /);
  for (const m of [g, v]) {
    assert.equal(m.header.get('Telemetry-Original-Subject'), subject);
    assert.equal(m.subject, dlqSubject(s.cfg, 0));
  }
  assert.deepEqual(Buffer.from(g.data), garbage);
  assert.deepEqual(Buffer.from(v.data), invalid);

  // Everything was acked: with interest retention the telemetry stream is empty again.
  await eventually(() => jsm.streams.info(s.cfg.STREAM_NAME).then((i) => i.state.messages), (n) => n === 0, 30_000, 'telemetry stream drained');

  // The collector is still running, counted the DLQ moves, and keeps collecting.
  const t = await temporalClient(s);
  try {
    const h = t.client.workflow.getHandle('collector-p0');
    assert.equal((await h.describe()).status.name, 'RUNNING');
    const stats = await eventually(() => h.query(statsQuery), (st) => st.dlq >= 2, 30_000, 'stats.dlq to reach 2');
    assert.equal(stats.dlq, 2);
    assert.equal(stats.activityFailures, 0, `no failed activity (last error: ${stats.lastError})`);
  } finally {
    await t.close();
  }
  const later = points('GPU-dlq-b', 200, 100);
  await js.publish(subject, encodeBatch('dlq:later', later), { msgID: 'dlq-later' });
  assert.equal(await waitForCount(s, 850, 60_000), 850);
  // Settle: no late duplicates or late poison writes.
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(await reader.countPoints(), 850);
  assert.equal((await jsm.streams.info(dlq)).state.messages, 2, 'nothing else dead-lettered');
});

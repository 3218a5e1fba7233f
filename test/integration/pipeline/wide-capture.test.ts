/**
 * Issue 7 on real servers: a 212-column nvidia-smi capture (≈4 KB per point)
 * at the default BATCH_POINTS=2000 would make ≈8 MB messages, over any
 * max_payload. `telemetry-stack ingest` cuts batches by encoded bytes below the
 * limit the server announces, so every point is stored exactly once and
 * nothing reaches the dead-letter stream. The same holds for an HTTP body
 * larger than one message: it is split, never refused for its size.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { connect, type NatsConnection } from 'nats';
import { partitionFor } from '../../../lib/partition.ts';
import type { Point } from '../../../lib/point.ts';
import { parseStream } from '../../../lib/parse/index.ts';
import { dlqStreamName, messageByteLimit, STREAM_MAX_MSG_BYTES } from '../../../lib/stream/jetstream.ts';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { runCli, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { readerFor, waitForCount } from '../../support/pipeline.ts';
import { startApi } from '../../support/api-server.ts';
import { gpuUuid, wideCaptureCsv, WIDE_COLUMNS } from '../../support/wide-capture.ts';

const ROWS = 5_000;
const GPUS = 8;
const HTTP_POINTS = 3_000;
/** Room for a ≈14 MB JSON body of wide points (the default 5 MiB would refuse it before publishing). */
const BODY_LIMIT = 32 * 1024 * 1024;

let s: TestStack;
let worker: ChildHandle;
let nc: NatsConnection;
let csv: string;
let api: Awaited<ReturnType<typeof startApi>>;

/** Messages a points-only split (BATCH_POINTS per partition) would publish for these devices' counts. */
function pointsOnlyBatches(counts: Map<string, number>): number {
  const perPartition = new Map<number, number>();
  for (const [device, n] of counts) {
    const p = partitionFor(device, s.cfg.PARTITIONS_PER_TOPIC);
    perPartition.set(p, (perPartition.get(p) ?? 0) + n);
  }
  return [...perPartition.values()].reduce((n, pts) => n + Math.ceil(pts / s.cfg.BATCH_POINTS), 0);
}

before(async () => {
  s = await startTestStack({ env: { BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
  csv = join(s.dataDir, 'wide-212.csv');
  writeFileSync(csv, wideCaptureCsv(ROWS, GPUS));
  worker = startCollectWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');
  nc = await connect({ servers: s.env.NATS_URL });
  api = await startApi(s.cfg);
});
after(async () => {
  await api?.close();
  await nc?.close();
  await worker?.stop();
  await s?.stop();
});

test('the local nats-server announces a max_payload that fits the stream max_msg_size', () => {
  assert.ok(nc.info!.max_payload >= STREAM_MAX_MSG_BYTES, `max_payload ${nc.info!.max_payload}`);
  assert.equal(messageByteLimit(nc), STREAM_MAX_MSG_BYTES);
});

test(`a ${WIDE_COLUMNS}-column capture repeated to 5,000 rows → exact count, DLQ empty`, async () => {
  assert.equal(s.cfg.BATCH_POINTS, 2_000, 'the default batch size');
  assert.equal(readFileSync(csv, 'utf8').split('\n', 1)[0]!.split(',').length, WIDE_COLUMNS);

  const r = runCli(['ingest', csv, '--json'], s.env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.json!.points, ROWS);
  assert.equal(r.json!.rejected, 0);
  assert.equal(r.json!.duplicates, 0);

  // Proof of byte splitting: more messages than a points-only split would publish.
  const byPoints = pointsOnlyBatches(new Map(Array.from({ length: GPUS }, (_, g) => [gpuUuid(g), ROWS / GPUS])));
  // The server's count: nothing else publishes on this stack's stream, so its last sequence = messages stored.
  const jsm = await nc.jetstreamManager();
  const batches = (await jsm.streams.info(s.cfg.STREAM_NAME)).state.last_seq;
  assert.ok(batches > byPoints, `${batches} messages published; a ${s.cfg.BATCH_POINTS}-point split gives ${byPoints}`);

  assert.equal(await waitForCount(s, ROWS, 240_000), ROWS);
  const reader = readerFor(s);
  for (let g = 0; g < GPUS; g++) assert.equal(await reader.countPoints({ device: gpuUuid(g) }), ROWS / GPUS, `GPU ${g}`);

  const dlq = await jsm.streams.info(dlqStreamName(s.cfg));
  assert.equal(dlq.state.messages, 0, 'nothing dead-lettered');
});

test('an HTTP body larger than one message is split into several (202), stored exactly; a retry is all duplicates', async () => {
  // The same capture an hour later (no overlap with the file's points), as a JSON body of ≈14 MB.
  const gen = parseStream(Readable.from([wideCaptureCsv(HTTP_POINTS, GPUS, Date.UTC(2026, 5, 24, 11, 0, 0))]), { fileName: 'http.csv' });
  const points: Point[] = [];
  for (let n = await gen.next(); !n.done; n = await gen.next()) points.push(...n.value.points);
  const body = JSON.stringify({ batchId: 'wide-http-1', points });
  assert.ok(body.length > messageByteLimit(nc), `${body.length}-byte body`);

  const post = () =>
    fetch(`${api.url}/v1/telemetry`, { method: 'POST', headers: { 'x-api-key': 'dev-admin-key', 'content-type': 'application/json' }, body });
  const res = await post();
  const j = (await res.json()) as { accepted: number; batches: number; duplicates: number };
  assert.equal(res.status, 202, JSON.stringify(j));
  assert.equal(j.accepted, HTTP_POINTS);
  const byPoints = pointsOnlyBatches(new Map(Array.from({ length: GPUS }, (_, g) => [gpuUuid(g), HTTP_POINTS / GPUS])));
  assert.ok(j.batches > byPoints, `${j.batches} messages; a ${s.cfg.BATCH_POINTS}-point split gives ${byPoints}`);

  const again = await post();
  assert.equal(again.status, 202);
  assert.deepEqual(await again.json(), { ...j, duplicates: HTTP_POINTS }, 'the same batches, the same msg ids');

  assert.equal(await waitForCount(s, ROWS + HTTP_POINTS, 240_000), ROWS + HTTP_POINTS);
  const dlq = await (await nc.jetstreamManager()).streams.info(dlqStreamName(s.cfg));
  assert.equal(dlq.state.messages, 0, 'nothing dead-lettered');
});

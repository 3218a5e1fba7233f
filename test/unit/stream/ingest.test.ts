/**
 * Byte-bounded publishing without a server (fake JetStream client): an HTTP
 * body or a file larger than one message becomes several messages, each under
 * the server's limit, with deterministic Nats-Msg-Ids that name both limits
 * (so a batch cut differently never reuses an id, and an old checkpoint is not
 * trusted for differently cut batches).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JetStreamClient, PubAck } from 'nats';
import { ingestFile, publishPoints, type IngestTarget } from '../../../lib/stream/ingest.ts';
import { batchByteLimit, HEADER_HEADROOM_BYTES, type PublishPolicy } from '../../../lib/stream/publisher.ts';
import { decodeBatch } from '../../../lib/stream/codec.ts';
import type { Point } from '../../../lib/point.ts';
import { wideCaptureCsv } from '../../support/wide-capture.ts';

const MIB = 1024 * 1024;
const policy: PublishPolicy = { attempts: 1, backoffFactor: 2, initialDelayMs: 1, maxDelayMs: 1, waitWhenFull: false };

/** Records every publish; refuses, like nats.js, a message over `maxPayload` (data + headers). */
function fakeJs(maxPayload: number) {
  const published: { subject: string; msgID: string; bytes: number; points: Point[] }[] = [];
  const seen = new Set<string>();
  const js = {
    async publish(subject: string, data: Uint8Array, opts: { msgID: string }) {
      if (data.byteLength + HEADER_HEADROOM_BYTES > maxPayload) throw Object.assign(new Error('MAX_PAYLOAD_EXCEEDED'), { code: 'MAX_PAYLOAD_EXCEEDED' });
      published.push({ subject, msgID: opts.msgID, bytes: data.byteLength, points: decodeBatch(data).points });
      const duplicate = seen.has(opts.msgID);
      seen.add(opts.msgID);
      return { stream: 'TELEMETRY', seq: published.length, duplicate, domain: '' } as PubAck;
    },
  } as unknown as JetStreamClient;
  return { js, published };
}

function target(js: JetStreamClient, maxMessageBytes: number | undefined, checkpointDir?: string): IngestTarget {
  return { js, subjectPrefix: 'telemetry.p', partitions: 4, batchPoints: 2_000, maxMessageBytes, policy, checkpointDir };
}

/** `n` points of ~120 fields (≈4 KB each), spread over 8 devices. */
function widePoints(n: number): Point[] {
  const fields = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`ecc_errors_uncorrected_aggregate_field_${i}`, i * 1.25]));
  return Array.from({ length: n }, (_, i) => ({
    device: `GPU-${i % 8}`,
    ts: String(1_740_830_400_000_000_000n + BigInt(i) * 1_000_000_000n),
    tags: { host: 'node-07', gpu_index: String(i % 8), model: 'NVIDIA H100 80GB HBM3' },
    fields: { ...fields, temperature_c: 40 + (i % 30) },
  }));
}

describe('publishPoints (HTTP bodies) bounded by the server max_payload', () => {
  test('a body larger than one message is split into several, each under the limit; every point once', async () => {
    const { js, published } = fakeJs(MIB);
    const pts = widePoints(3_000); // ≈12 MB of batch JSON
    const r = await publishPoints(target(js, MIB), 'h:client-1', pts);
    assert.equal(r.batches, published.length);
    assert.ok(published.length >= 12, `${published.length} messages`);
    assert.ok(published.every((m) => m.bytes <= batchByteLimit(MIB)!));
    assert.equal(published.reduce((s, m) => s + m.points.length, 0), 3_000);
    assert.deepEqual(new Set(published.flatMap((m) => m.points.map((p) => p.ts))).size, 3_000);
  });

  test('msg ids are deterministic: a retried body is all duplicates; ids carry the byte limit', async () => {
    const { js, published } = fakeJs(MIB);
    const pts = widePoints(1_500);
    const first = await publishPoints(target(js, MIB), 'h:client-2', pts);
    const ids = published.map((m) => m.msgID).sort();
    const again = await publishPoints(target(js, MIB), 'h:client-2', pts);
    assert.equal(again.batches, first.batches);
    assert.equal(again.duplicates, 1_500);
    assert.deepEqual(published.slice(first.batches).map((m) => m.msgID).sort(), ids);
    assert.ok(ids.every((id) => id.startsWith('h:client-2:p') && id.endsWith(`:m${batchByteLimit(MIB)}`)), ids[0]);
  });

  test('without maxMessageBytes the ids keep their points-only form', async () => {
    const { js, published } = fakeJs(64 * MIB);
    await publishPoints(target(js, undefined), 'h:client-3', widePoints(10));
    assert.ok(published.every((m) => /^h:client-3:p\d+:b\d+$/.test(m.msgID)), published[0]?.msgID);
  });
});

describe('ingestFile bounded by the server max_payload', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ingest-bytes-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a wide capture at BATCH_POINTS=2000 publishes under the limit; a rerun with another limit does not trust the old checkpoint', async () => {
    const file = join(dir, 'wide.csv');
    writeFileSync(file, wideCaptureCsv(3_000, 8));
    const checkpoints = join(dir, 'ingest');

    const small = fakeJs(MIB);
    const a = await ingestFile(file, target(small.js, MIB, checkpoints));
    assert.equal(a.points, 3_000);
    assert.equal(a.batches, small.published.length);
    assert.ok(small.published.every((m) => m.bytes <= batchByteLimit(MIB)!));
    assert.equal(small.published.reduce((s, m) => s + m.points.length, 0), 3_000);
    assert.ok(small.published.every((m) => m.msgID.endsWith(`:n2000:m${batchByteLimit(MIB)}`)));

    // Same limit again: the checkpoint says everything is stored.
    const same = fakeJs(MIB);
    const b = await ingestFile(file, target(same.js, MIB, checkpoints));
    assert.equal(same.published.length, 0);
    assert.equal(b.duplicates, 3_000);

    // A server with a larger limit cuts other batches: they are all published, under new ids.
    const big = fakeJs(4 * MIB);
    const c = await ingestFile(file, target(big.js, 4 * MIB, checkpoints));
    assert.equal(big.published.reduce((s, m) => s + m.points.length, 0), 3_000);
    assert.ok(c.batches < a.batches);
    const old = new Set(small.published.map((m) => m.msgID));
    assert.ok(big.published.every((m) => !old.has(m.msgID)));
  });
});

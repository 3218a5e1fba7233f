/**
 * Publisher pieces without a server: PartitionBatcher must cut the same
 * batches (and so the same Nats-Msg-Ids) for the same input however it is fed;
 * backoffDelay grows geometrically up to its cap; publishWithRetry retries,
 * gives up with PublishError, and treats a full stream as back-pressure.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { JetStreamClient, PubAck } from 'nats';
import { partitionFor } from '../../../lib/partition.ts';
import { PartitionBatcher, PublishError, StreamFullError, backoffDelay, publishWithRetry, type PartitionBatch, type PublishPolicy } from '../../../lib/stream/publisher.ts';
import { HEADER_HEADROOM_BYTES, ORIGIN_RESERVE_BYTES, PointTooLargeError, batchByteLimit } from '../../../lib/stream/publisher.ts';
import { encodeBatch } from '../../../lib/stream/codec.ts';
import { STREAM_MAX_MSG_BYTES, messageByteLimit } from '../../../lib/stream/jetstream.ts';
import { parseStream } from '../../../lib/parse/index.ts';
import { wideCaptureCsv, WIDE_COLUMNS } from '../../support/wide-capture.ts';
import { Readable } from 'node:stream';
import type { Point } from '../../../lib/point.ts';

const pointsArb = fc.array(
  fc.record({
    device: fc.constantFrom('GPU-a', 'GPU-b', 'GPU-c', 'GPU-d', 'GPU-e', 'host-1:0', 'host-1:1'),
    ts: fc.nat().map(String),
    fields: fc.constant({ t: 1 }),
    tags: fc.constant({}),
  }),
  { maxLength: 300 },
);

/** Feeds `points` to a fresh batcher in chunks of the given sizes (then the rest), then flushes. */
function batchAll(points: Point[], partitions: number, batchPoints: number, chunks: number[] = [], maxBytes?: number): PartitionBatch[] {
  const b = new PartitionBatcher(partitions, batchPoints, maxBytes);
  const out: PartitionBatch[] = [];
  let i = 0;
  for (const c of chunks) {
    out.push(...b.add(points.slice(i, i + c)));
    i += c;
  }
  out.push(...b.add(points.slice(i)));
  out.push(...b.flush());
  // The pre-encoded pieces are an encoding detail (checked byte for byte in codec.test.ts), not part of the cut.
  return out.map(({ partition, seq, points: p }) => ({ partition, seq, points: p }));
}

const key = (b: PartitionBatch) => `${b.partition}:${b.seq}`;

describe('PartitionBatcher', () => {
  test('deterministic: the same input gives the same batches and seqs, however it is chunked', () => {
    fc.assert(
      fc.property(pointsArb, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 40 }), fc.array(fc.nat({ max: 60 }), { maxLength: 10 }), (pts, n, size, chunks) => {
        const a = batchAll(pts, n, size);
        const again = batchAll(pts, n, size);
        assert.deepEqual(again, a);
        // Chunking changes the interleaving of emitted batches across partitions, not their content.
        const chunked = new Map(batchAll(pts, n, size, chunks).map((b) => [key(b), b.points]));
        assert.deepEqual(new Map(a.map((b) => [key(b), b.points])), chunked);
      }),
      { numRuns: 300 },
    );
  });

  test('every point exactly once, in input order within its partition, in the batch of its own partition', () => {
    fc.assert(
      fc.property(pointsArb, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 40 }), (pts, n, size) => {
        const batches = batchAll(pts, n, size);
        for (let p = 0; p < n; p++) {
          const mine = batches.filter((b) => b.partition === p).sort((x, y) => x.seq - y.seq);
          // seqs are 0..k-1, contiguous; all full except possibly the last.
          assert.deepEqual(mine.map((b) => b.seq), mine.map((_, i) => i));
          mine.forEach((b, i) => {
            assert.ok(b.points.length >= 1 && b.points.length <= size);
            if (i < mine.length - 1) assert.equal(b.points.length, size);
            for (const pt of b.points) assert.equal(partitionFor(pt.device, n), p);
          });
          assert.deepEqual(mine.flatMap((b) => b.points), pts.filter((pt) => partitionFor(pt.device, n) === p));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a full batch is emitted by add() as soon as it fills; flush() returns only the remainders', () => {
    const b = new PartitionBatcher(1, 3);
    const mk = (i: number): Point => ({ device: 'd', ts: String(i), tags: {}, fields: { x: i } });
    assert.deepEqual(b.add([mk(0), mk(1)]), []);
    const full = b.add([mk(2), mk(3)]);
    assert.deepEqual(full.map((x) => [x.seq, x.points.map((p) => p.ts)]), [[0, ['0', '1', '2']]]);
    assert.deepEqual(b.flush().map((x) => [x.seq, x.points.map((p) => p.ts)]), [[1, ['3']]]);
    assert.deepEqual(b.flush(), [], 'nothing left after a flush');
  });
});

describe('PartitionBatcher bounded by encoded bytes', () => {
  /** The longest origin the batcher reserves room for (JSON-quoted it is ORIGIN_RESERVE_BYTES). */
  const LONGEST_ORIGIN = `h:${'x'.repeat(ORIGIN_RESERVE_BYTES - 4)}`;
  const encodedBytes = (pts: Point[]) => encodeBatch(LONGEST_ORIGIN, pts).byteLength;

  // Varied devices (ones that are special object keys too), unicode tags, ragged field sets.
  const richPointsArb = fc.array(
    fc.record({
      device: fc.constantFrom('GPU-a', 'GPU-b', 'GPU-ü-€', '__proto__', 'constructor', '0', '17', 'host-1:0'),
      ts: fc.bigInt({ min: 0n, max: 9_999_999_999_999_999_999n }).map(String),
      tags: fc.dictionary(fc.constantFrom('host', 'model', 'gpu_index', 'note'), fc.string({ maxLength: 40, unit: 'grapheme' }), { maxKeys: 4 }),
      fields: fc.dictionary(fc.string({ minLength: 1, maxLength: 24 }), fc.double({ noNaN: true, noDefaultInfinity: true }), { minKeys: 1, maxKeys: 12 }),
    }),
    { maxLength: 200 },
  );

  test('every batch encodes to ≤ maxBytes, and a batch is cut only when the next point would not fit (the size is exact)', () => {
    fc.assert(
      fc.property(richPointsArb, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1_000, max: 6_000 }), (pts, n, size, maxBytes) => {
        let batches: PartitionBatch[];
        try {
          batches = batchAll(pts, n, size, [], maxBytes);
        } catch (err) {
          // Only legitimate when some point cannot fit even alone.
          assert.ok(err instanceof PointTooLargeError, String(err));
          assert.ok(pts.some((p) => encodedBytes([p]) > maxBytes));
          return;
        }
        for (let p = 0; p < n; p++) {
          const mine = batches.filter((b) => b.partition === p).sort((x, y) => x.seq - y.seq);
          assert.deepEqual(mine.map((b) => b.seq), mine.map((_, i) => i));
          assert.deepEqual(mine.flatMap((b) => b.points), pts.filter((pt) => partitionFor(pt.device, n) === p), 'every point once, in order');
          mine.forEach((b, i) => {
            assert.ok(b.points.length >= 1 && b.points.length <= size);
            assert.ok(encodedBytes(b.points) <= maxBytes, `batch ${p}/${b.seq}: ${encodedBytes(b.points)} > ${maxBytes}`);
            const next = mine[i + 1]?.points[0];
            if (next && b.points.length < size) assert.ok(encodedBytes([...b.points, next]) > maxBytes, 'cut early although the next point fitted');
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  test('deterministic: the same input and limits give the same batches however it is chunked', () => {
    fc.assert(
      fc.property(richPointsArb, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 80 }), fc.array(fc.nat({ max: 60 }), { maxLength: 10 }), (pts, n, size, chunks) => {
        const maxBytes = 50_000; // every generated point fits alone
        const a = batchAll(pts, n, size, [], maxBytes);
        assert.deepEqual(batchAll(pts, n, size, [], maxBytes), a);
        const chunked = new Map(batchAll(pts, n, size, chunks, maxBytes).map((b) => [key(b), b.points]));
        assert.deepEqual(new Map(a.map((b) => [key(b), b.points])), chunked);
      }),
      { numRuns: 200 },
    );
  });

  test('maxBytes large enough (or absent): exactly the batches of the points-only batcher', () => {
    fc.assert(
      fc.property(pointsArb, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 40 }), (pts, n, size) => {
        const pointsOnly = batchAll(pts, n, size);
        assert.deepEqual(batchAll(pts, n, size, [], STREAM_MAX_MSG_BYTES), pointsOnly);
        assert.deepEqual(batchAll(pts, n, size, [], undefined), pointsOnly);
      }),
      { numRuns: 200 },
    );
  });

  test(`a ${WIDE_COLUMNS}-column H100 capture: 2,000-point batches would be ≈8 MB; byte-bounded ones stay under a 1 MiB server's limit`, async () => {
    const gen = parseStream(Readable.from([wideCaptureCsv(4_000, 8)]), { fileName: 'wide.csv' });
    const pts: Point[] = [];
    for (let n = await gen.next(); !n.done; n = await gen.next()) pts.push(...n.value.points);
    assert.equal(pts.length, 4_000);
    assert.ok(Object.keys(pts[0]!.fields).length >= 100, `${Object.keys(pts[0]!.fields).length} fields per point`);
    assert.ok(encodeBatch('o', pts.slice(0, 2_000)).byteLength > 4 * 1024 * 1024, 'the points-only batch is far over any limit');

    for (const serverMax of [1024 * 1024, STREAM_MAX_MSG_BYTES]) {
      const limit = batchByteLimit(serverMax)!;
      const batches = batchAll(pts, 4, 2_000, [], limit);
      for (const b of batches) {
        const bytes = encodeBatch(`f:${'0'.repeat(24)}:${b.partition}:${b.seq}`, b.points).byteLength;
        assert.ok(bytes <= limit, `${bytes} > ${limit}`);
        assert.ok(bytes + HEADER_HEADROOM_BYTES <= serverMax);
      }
      assert.equal(batches.reduce((s, b) => s + b.points.length, 0), 4_000);
      const pointsOnly = batchAll(pts, 4, 2_000).length;
      assert.ok(batches.length > pointsOnly, `${batches.length} byte-bounded batches vs ${pointsOnly} by points`);
      // Same file → same batches (→ same Nats-Msg-Ids), fed in the parser's chunks or at once.
      assert.deepEqual(batchAll(pts, 4, 2_000, [1, 999, 37], limit), batches);
    }
  });

  test('a point that alone exceeds maxBytes → PointTooLargeError naming device and ts; the failed add() changes nothing', () => {
    const fields = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`field_number_${i}`, i + 0.5]));
    const huge: Point = { device: 'GPU-wide', ts: '1740830400000000000', tags: { host: 'node-07' }, fields };
    const small: Point = { device: 'GPU-wide', ts: '1740830401000000000', tags: { host: 'node-07' }, fields: { power_w: 1 } };
    const b = new PartitionBatcher(2, 2, 4_096);
    assert.deepEqual(b.add([small]), []);
    assert.throws(
      // `small` would complete a batch before `huge` is reached: the whole call is refused first.
      () => b.add([small, huge]),
      (e: Error) => {
        assert.ok(e instanceof PointTooLargeError);
        assert.equal(e.name, 'PointTooLargeError');
        assert.equal(e.device, 'GPU-wide');
        assert.equal(e.ts, '1740830400000000000');
        assert.equal(e.maxBytes, 4_096);
        assert.ok(e.bytes > 4_096);
        assert.match(e.message, /GPU-wide.*1740830400000000000.*4096/);
        return true;
      },
    );
    // Only what was buffered before the failed call is there, still as seq 0.
    assert.deepEqual(b.flush().map((x) => [x.seq, x.points.map((p) => p.ts)]), [[0, ['1740830401000000000']]]);
    assert.deepEqual(b.flush(), []);
  });

  test('batchByteLimit keeps HEADER_HEADROOM_BYTES for headers; messageByteLimit reads max_payload, capped by the stream', () => {
    assert.equal(batchByteLimit(undefined), undefined);
    assert.equal(batchByteLimit(1024 * 1024), 1024 * 1024 - HEADER_HEADROOM_BYTES);
    assert.throws(() => batchByteLimit(HEADER_HEADROOM_BYTES + 10), RangeError);
    assert.throws(() => new PartitionBatcher(1, 10, 20), RangeError);
    assert.equal(messageByteLimit({ info: { max_payload: 1_048_576 } as never }), 1_048_576);
    assert.equal(messageByteLimit({ info: { max_payload: 8 * 1024 * 1024 } as never }), STREAM_MAX_MSG_BYTES);
    assert.throws(() => messageByteLimit({ info: undefined }), /max_payload/);
  });
});

describe('backoffDelay', () => {
  const p = { backoffFactor: 2, initialDelayMs: 500, maxDelayMs: 30_000 };
  test('attempt 1 waits the initial delay, then it doubles, then stays at the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 50].map((a) => backoffDelay(a, p)), [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });
  test('property: non-decreasing, never above the cap, never below min(initial, cap)', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 5, noNaN: true }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100_000 }), (factor, initial, max) => {
        const q = { backoffFactor: factor, initialDelayMs: initial, maxDelayMs: max };
        let prev = 0;
        for (let a = 1; a <= 60; a++) {
          const d = backoffDelay(a, q);
          if (!(d >= prev && d <= max && d >= Math.min(initial, max))) return false;
          prev = d;
        }
        return true;
      }),
    );
  });
});

describe('publishWithRetry (fake JetStream client)', () => {
  const policy = (o: Partial<PublishPolicy> = {}): PublishPolicy => ({ attempts: 3, backoffFactor: 2, initialDelayMs: 1, maxDelayMs: 5, waitWhenFull: false, ...o });
  const ack = (duplicate = false): PubAck => ({ stream: 'S', seq: 1, duplicate, domain: '' }) as PubAck;
  const fullErr = () => Object.assign(new Error('maximum messages exceeded'), { api_error: { code: 503, err_code: 10077, description: 'maximum messages exceeded' } });
  /** Publishes fail with the given errors in order, then succeed. */
  function fakeJs(failures: Error[]) {
    const calls: { subject: string; msgID?: string; header?: string }[] = [];
    const js = {
      async publish(subject: string, _data: Uint8Array, opts: { msgID?: string; headers?: { get(k: string): string } }) {
        calls.push({ subject, msgID: opts.msgID, header: opts.headers?.get('Nats-Msg-Id') });
        const f = failures.shift();
        if (f) throw f;
        return ack();
      },
    } as unknown as JetStreamClient;
    return { js, calls };
  }

  test('retries transient failures with the same Nats-Msg-Id, and succeeds', async () => {
    const { js, calls } = fakeJs([new Error('timeout'), new Error('timeout')]);
    const retries: number[] = [];
    await publishWithRetry(js, 'telemetry.p.0', new Uint8Array([1]), 'f:x:p0:b0', policy({ onRetry: (i) => retries.push(i.attempt) }));
    assert.equal(calls.length, 3);
    assert.ok(calls.every((c) => c.msgID === 'f:x:p0:b0' && c.header === 'f:x:p0:b0'));
    assert.deepEqual(retries, [1, 2]);
  });

  test('gives up after `attempts` with a PublishError naming the subject and the cause', async () => {
    const { js, calls } = fakeJs([new Error('connection refused'), new Error('connection refused'), new Error('connection refused'), new Error('x')]);
    await assert.rejects(publishWithRetry(js, 'telemetry.p.2', new Uint8Array([1]), 'id', policy()), (e: Error) => {
      assert.ok(e instanceof PublishError);
      assert.equal(e.name, 'PublishError');
      assert.equal(e.attempts, 3);
      assert.match(e.message, /telemetry\.p\.2.*3 attempt.*connection refused/);
      assert.ok(e.cause instanceof Error);
      return true;
    });
    assert.equal(calls.length, 3);
  });

  test('full stream and waitWhenFull=false → StreamFullError at once (HTTP answers 429)', async () => {
    const { js, calls } = fakeJs([fullErr()]);
    await assert.rejects(publishWithRetry(js, 's', new Uint8Array([1]), 'id', policy()), (e: Error) => e instanceof StreamFullError && e.retryAfterS > 0);
    assert.equal(calls.length, 1);
  });

  test('full stream and waitWhenFull=true → waits without spending attempts, then publishes', async () => {
    const { js, calls } = fakeJs([fullErr(), fullErr()]);
    const fulls: boolean[] = [];
    const r = await publishWithRetry(js, 's', new Uint8Array([1]), 'id', policy({ attempts: 1, waitWhenFull: true, onRetry: (i) => fulls.push(i.full) }));
    assert.equal(r.seq, 1);
    assert.equal(calls.length, 3, '2 full answers did not use up the single attempt');
    assert.deepEqual(fulls, [true, true]);
  });
});

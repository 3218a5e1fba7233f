/**
 * The JetStream wire format: what encodeBatch writes (binary v2, with each
 * point's line protocol), decodeBatch reads back exactly; JSON v1 is still
 * read; anything else is poison and the error names where it is wrong (the
 * collector copies that message into the DLQ reason header).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BATCH_VERSION_V1, BatchDecodeError, decodeBatch, encodeBatch, encodeBatchV1, WIRE } from '../../../lib/stream/codec.ts';
import { toLine } from '../../../lib/influx/line-protocol.ts';
import type { Point } from '../../../lib/point.ts';

const enc = (o: unknown) => Buffer.from(JSON.stringify(o));
const valid = () => ({
  v: BATCH_VERSION_V1,
  origin: 'f:abc:0:0',
  devices: { 'GPU-1': { host: 'h1' } },
  points: [['GPU-1', '1738324800250000000', { temperature_c: 41, power_w: 110.75 }]],
});

/** Points whose tags are a function of the device (the codec stores tags once per device). */
const pointsArb = fc
  .dictionary(
    // Names of Object.prototype members are covered by their own (currently failing) test below.
    fc.string({ minLength: 1, maxLength: 40 }).filter((d) => !(d in Object.prototype) && d !== '__proto__'),
    fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_]{0,11}$/), fc.string({ maxLength: 30 }), { maxKeys: 4, noNullPrototype: true }),
    { minKeys: 1, maxKeys: 6, noNullPrototype: true },
  )
  .chain((devices) =>
    fc.array(
      fc.record({
        device: fc.constantFrom(...Object.keys(devices)),
        ts: fc.bigInt({ min: 0n, max: 9_223_372_036_854_775_807n }).map(String),
        fields: fc.dictionary(
          fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/),
          // -0 has no JSON spelling (it comes back as 0); finite only, like the schema.
          fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
          { minKeys: 1, maxKeys: 8, noNullPrototype: true },
        ),
      }).map((p): Point => ({ ...p, tags: devices[p.device]! })),
      { minLength: 0, maxLength: 50 },
    ),
  );

describe('encodeBatch / decodeBatch', () => {
  test('round trip (v2): every point comes back identical and in order, with its line protocol', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), pointsArb, (origin, points) => {
        const back = decodeBatch(encodeBatch(origin, points));
        assert.equal(back.origin, origin);
        assert.deepEqual(back.points, points);
        assert.equal(back.lines?.length, points.length);
        points.forEach((p, i) => assert.equal(Buffer.from(back.lines![i]!).toString('utf8'), toLine(p)));
      }),
      { numRuns: 300 },
    );
  });

  test('round trip (v1 JSON, still read: batches already in a stream or the DLQ at an upgrade)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), pointsArb, (origin, points) => {
        const back = decodeBatch(encodeBatchV1(origin, points));
        assert.equal(back.origin, origin);
        assert.deepEqual(back.points, points);
        assert.equal(back.lines, undefined, 'v1 carries no lines: the collector builds them');
      }),
      { numRuns: 200 },
    );
  });

  test('any corruption of a v2 message is a BatchDecodeError or decodes to points whose lines still match them', () => {
    const pts = Array.from({ length: 20 }, (_, i) => ({ device: `GPU-${i % 3}`, ts: String(1_700_000_000_000_000_000n + BigInt(i)), tags: { host: `h${i % 2}` }, fields: { t: 40 + i, p: 100.5 } }));
    const good = Buffer.from(encodeBatch('o', pts));
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.boolean(), (at, xor, truncate) => {
        const bad = Buffer.from(good);
        bad[at] = bad[at]! ^ xor;
        const msg = truncate ? bad.subarray(0, at) : bad;
        try {
          const back = decodeBatch(msg);
          // A flipped value byte is a different valid number; the series key and time of each line still match.
          back.points.forEach((p, i) => {
            const line = back.lines![i]!;
            assert.ok(Buffer.from(line).toString('utf8').endsWith(` ${p.ts}`));
          });
        } catch (e) {
          assert.ok(e instanceof BatchDecodeError, `${(e as Error).name}: ${(e as Error).message}`);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  const v2 = () => encodeBatch('o', [
    { device: 'GPU-1', ts: '1700000000000000001', tags: { host: 'h1' }, fields: { t: 41, p: 110.75 } },
    { device: 'GPU-2', ts: '1700000000000000002', tags: { host: 'h2' }, fields: { t: 42 } },
  ]);
  const lineStart = (b: Buffer) => b.indexOf('gpu,device=');
  const v2invalid: [string, (b: Buffer) => Buffer, RegExp][] = [
    ['unknown binary version', (b) => ((b[3] = 9), b), /at v: unknown binary batch version 9/],
    ['shorter than the frame', (b) => b.subarray(0, 6), /shorter than the 12-byte frame/],
    ['header length past the end', (b) => (b.writeUInt32LE(1e6, 4), b), /at header: header of 1000000 bytes runs past the end/],
    ['header not JSON', (b) => (b.write('!', 8), b), /at header: not valid JSON/],
    ['device index out of range', (b) => (b.writeUInt32LE(7, 8 + b.readUInt32LE(4) + 4), b), /at points\.0\.device: index 7 is not in the 2 devices/],
    ['timestamp out of int64', (b) => (b.writeDoubleLE(1e12, 8 + b.readUInt32LE(4) + 8), b), /at points\.0\.ts: expected a ns timestamp within int64/],
    ['shape index out of range', (b) => (b.writeUInt32LE(5, 8 + b.readUInt32LE(4) + 4 + 16), b), /at points\.0\.shape: index 5 is not in the 2 shapes/],
    ['non-finite value', (b) => (b.writeDoubleLE(Number.NaN, 8 + b.readUInt32LE(4) + 4 + WIRE.rowBytes), b), /at points\.0\.fields\.t: expected a finite number/],
    ['line of another device', (b) => (b.write('gpu,device=GPU-2,host=h2', lineStart(b)), b), /at points\.0\.line: line does not start with the series key of the point's device/],
    ['line at another time', (b) => (b[b.indexOf('1700000000000000001', lineStart(b))  + 18] = 0x39, b), /at points\.0\.line: line does not end with the point's timestamp/],
    ['newline inside a line', (b) => ((b[lineStart(b) + 30] = 0x0a), b), /at points\.0\.line: line contains a newline/],
    ['bytes after the last line', (b) => Buffer.concat([b, Buffer.from('x')]), /1 bytes after the last line/],
    ['truncated line region', (b) => b.subarray(0, b.length - 3), /at points\.1\.line: line runs past the end or is not terminated/],
  ];
  for (const [what, mutate, path] of v2invalid)
    test(`corrupt v2 (${what}) → BatchDecodeError naming where`, () => {
      assert.doesNotThrow(() => decodeBatch(v2()), 'the untouched message decodes');
      assert.throws(() => decodeBatch(mutate(Buffer.from(v2()))), (e: Error) => e instanceof BatchDecodeError && path.test(e.message), what);
    });

  test('v2 stores tags once per device, each field name and field set once, and only finite values', () => {
    const tags = { host: 'gpu-node-01', model: 'NVIDIA A100-SXM4-40GB', gpu_uuid: 'GPU-aaaa' };
    const pts = Array.from({ length: 2_000 }, (_, i) => ({ device: 'GPU-aaaa', ts: String(1e9 + i), tags, fields: { temperature_c: i, power_w: i / 2, xid: i === 5 ? Number.NaN : 0 } }));
    const buf = Buffer.from(encodeBatch('o', pts));
    const header = JSON.parse(buf.toString('utf8', 8, 8 + buf.readUInt32LE(4)));
    assert.deepEqual(header.devices, [['GPU-aaaa', tags]]);
    assert.deepEqual(header.fields, ['temperature_c', 'power_w', 'xid']);
    assert.deepEqual(header.shapes, [[0, 1, 2], [0, 1]]);
    const back = decodeBatch(buf).points;
    assert.deepEqual(back[5]!.fields, { temperature_c: 5, power_w: 2.5 }, 'a non-finite value is absent, like in line protocol');
    assert.equal(back[6]!.fields.xid, 0);
  });

  test('a non-canonical timestamp (leading zeros) is carried in its canonical form, in the row and the line', () => {
    const back = decodeBatch(encodeBatch('o', [{ device: 'd', ts: '000123', tags: {}, fields: { x: 1 } }]));
    assert.equal(back.points[0]!.ts, '123');
    assert.equal(Buffer.from(back.lines![0]!).toString(), 'gpu,device=d x=1 123');
  });

  test('a field named "__proto__" is an own field after decoding, not a prototype', () => {
    const fields = Object.defineProperty({ a: 1 }, '__proto__', { value: 2, enumerable: true, writable: true, configurable: true }) as Record<string, number>;
    const back = decodeBatch(encodeBatch('o', [{ device: 'd', ts: '1', tags: {}, fields }])).points[0]!;
    assert.ok(Object.hasOwn(back.fields, '__proto__'));
    assert.equal(back.fields['__proto__'], 2);
    assert.equal(Object.getPrototypeOf(back.fields), Object.prototype);
  });

  test('the largest ns timestamp of int64 and 0 round-trip exactly', () => {
    for (const ts of ['9223372036854775807', '0', '999999999', '1000000000']) assert.equal(decodeBatch(encodeBatch('o', [{ device: 'd', ts, tags: {}, fields: { x: 1 } }])).points[0]!.ts, ts);
  });

  test('decodes a view into a larger buffer (byteOffset ≠ 0), as NATS hands messages over', () => {
    const body = encodeBatch('o', [{ device: 'd', ts: '1', tags: {}, fields: { x: 1 } }]);
    const big = Buffer.concat([Buffer.from('garbage-before'), body, Buffer.from('garbage-after')]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 14, body.byteLength);
    assert.deepEqual(decodeBatch(view).points, [{ device: 'd', ts: '1', tags: {}, fields: { x: 1 } }]);
  });

  test('not JSON → BatchDecodeError saying so', () => {
    for (const junk of ['', 'not json', '{"v":1,', '\u0000\u0001\u0002']) {
      assert.throws(
        () => decodeBatch(Buffer.from(junk)),
        (e: Error) => e instanceof BatchDecodeError && e.name === 'BatchDecodeError' && /not valid JSON/.test(e.message) && e.cause !== undefined,
        JSON.stringify(junk),
      );
    }
  });

  const invalid: [string, (b: ReturnType<typeof valid>) => unknown, RegExp][] = [
    ['wrong version', (b) => ({ ...b, v: 3 }), /at v: expected 1 \(JSON\) or a binary v2 batch/],
    ['missing origin', ({ origin: _o, ...b }) => b, /at origin:/],
    ['empty origin', (b) => ({ ...b, origin: '' }), /at origin:/],
    ['points not an array', (b) => ({ ...b, points: {} }), /at points:/],
    ['empty device', (b) => ({ ...b, points: [['', '1', { a: 1 }]] }), /at points\.0\.0:/],
    ['ts not ns digits', (b) => ({ ...b, points: [b.points[0], ['GPU-1', '2025-01-01T00:00:00Z', { a: 1 }]] }), /at points\.1\.1:/],
    ['ts too long (> 19 digits)', (b) => ({ ...b, points: [['GPU-1', '12345678901234567890', { a: 1 }]] }), /at points\.0\.1:/],
    ['string field value', (b) => ({ ...b, points: [['GPU-1', '1', { temperature_c: 'hot' }]] }), /at points\.0\.2\.temperature_c:/],
    ['tuple too short', (b) => ({ ...b, points: [['GPU-1', '1']] }), /at points\.0/],
    ['tag value not a string', (b) => ({ ...b, devices: { 'GPU-1': { host: 7 } } }), /at devices\.GPU-1\.host:/],
    ['a JSON array at the root', () => [1, 2, 3], /at \(root\):/],
  ];
  for (const [what, mutate, path] of invalid)
    test(`schema-invalid (${what}) → BatchDecodeError naming the path`, () => {
      assert.throws(() => decodeBatch(enc(mutate(valid()))), (e: Error) => e instanceof BatchDecodeError && path.test(e.message) && /^invalid batch at /.test(e.message), what);
    });

  test('the untouched sample batch decodes (the invalid cases differ from it only by their mutation)', () => {
    assert.deepEqual(decodeBatch(enc(valid())).points, [
      { device: 'GPU-1', ts: '1738324800250000000', tags: { host: 'h1' }, fields: { temperature_c: 41, power_w: 110.75 } },
    ]);
  });

  // Regression (fixed in 89d0077): `p.device in devices` on a plain object skipped ids naming an
  // Object.prototype member, and decode handed out the inherited function as the tags.
  test('device ids named like Object.prototype members keep their tags through the codec', () => {
    for (const device of ['constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
      const back = decodeBatch(encodeBatch('o', [{ device, ts: '1', tags: { host: 'h1', model: 'A100' }, fields: { a: 1 } }]));
      assert.deepEqual(back.points[0]!.tags, { host: 'h1', model: 'A100' }, device);
    }
  });

  // Any string is a valid device id (over HTTP, or in a CSV device column), "__proto__" too.
  test('the device id "__proto__" keeps its tags through the codec (v2 and v1)', () => {
    for (const encode of [encodeBatch, encodeBatchV1]) {
      const back = decodeBatch(encode('o', [{ device: '__proto__', ts: '1', tags: { host: 'h1' }, fields: { a: 1 } }]));
      assert.deepEqual(back.points[0]!.tags, { host: 'h1' });
    }
  });

  test('a point whose device has no entry in `devices` decodes with empty tags', () => {
    const b = { ...valid(), devices: {} };
    assert.deepEqual(decodeBatch(enc(b)).points[0]!.tags, {});
  });
});

test('a batch cut by bytes is encoded from the lines and layout the batcher built, byte-identical to encodeBatch (also for "__proto__" and unicode ids)', async () => {
  const { PartitionBatcher } = await import('../../../lib/stream/publisher.ts');
  const { encodePartitionBatch } = await import('../../../lib/stream/codec.ts');
  const pts = ['GPU-a', '__proto__', 'gpu ü/1', 'GPU-a'].flatMap((device, i) =>
    Array.from({ length: 5 }, (_, k) => ({ device, ts: String(1_700_000_000_000_000_000n + BigInt(i * 10 + k)), tags: { host: `h${i % 2}`, model: 'NVIDIA "H100"' }, fields: { temperature_c: 40 + k, power_w: 100.25 } })),
  );
  const b = new PartitionBatcher(1, 7, 1_000_000);
  const batches = [...b.add(pts), ...b.flush()];
  assert.ok(batches.length >= 3 && batches.every((x) => x.encoded));
  for (const x of batches) assert.deepEqual(Buffer.from(encodePartitionBatch('o:1', x)), Buffer.from(encodeBatch('o:1', x.points)));
});

// A host rename or a new label mid-file puts one device in a batch with two tag sets: each point must
// keep its own tags (as one header entry per tag set), not be refused as poison and dead-lettered.
test('a device whose tags change within one batch keeps each point’s tags (batcher and encodeBatch)', async () => {
  const { PartitionBatcher } = await import('../../../lib/stream/publisher.ts');
  const { encodePartitionBatch } = await import('../../../lib/stream/codec.ts');
  const tagsOf = (k: number) => ({ host: k < 2 ? 'a' : k < 4 ? 'b' : 'a' });
  const pts: Point[] = Array.from({ length: 6 }, (_, k) => ({ device: 'd', ts: String(1_700_000_000_000_000_000n + BigInt(k)), tags: tagsOf(k), fields: { p: k } }));
  const b = new PartitionBatcher(1, 100);
  const [batch] = [...b.add(pts), ...b.flush()];
  for (const bytes of [encodePartitionBatch('o', batch!), encodeBatch('o', pts)]) {
    const back = decodeBatch(bytes);
    assert.deepEqual(
      back.points.map((p) => [p.tags.host, p.fields.p]),
      pts.map((p) => [p.tags.host, p.fields.p]),
    );
    assert.deepEqual(
      back.lines!.map((l) => Buffer.from(l!).toString()),
      pts.map((p) => toLine(p)),
    );
  }
});

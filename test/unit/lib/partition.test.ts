/**
 * Device → partition mapping (jump consistent hash over FNV-1a 64). The
 * properties that matter to the pipeline: a device always lands on the same
 * partition (per-device ordering), partitions are balanced, and growing the
 * partition count moves only ~1/(n+1) of the devices, all to the new one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fnv1a64, jumpHash, partitionFor, partitionSubject } from '../../../lib/partition.ts';

/** Independent reference: Lamping & Veach's C++ code transcribed literally (divide, then multiply, in doubles). */
function referenceJump(key: bigint, buckets: number): number {
  let b = -1;
  let j = 0;
  let k = BigInt.asUintN(64, key);
  while (j < buckets) {
    b = j;
    k = BigInt.asUintN(64, k * 2862933555777941757n + 1n);
    j = Math.trunc((b + 1) * (2 ** 31 / Number((k >> 33n) + 1n)));
  }
  return b;
}

/** Independent FNV-1a 64 over UTF-8 (TextEncoder, BigInt.asUintN) to cross-check the library's. */
function referenceFnv(key: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(key)) h = BigInt.asUintN(64, (h ^ BigInt(byte)) * 0x100000001b3n);
  return h;
}

/** Deterministic pseudo-random device ids (seeded: the statistical checks must not flake). */
function deviceIds(n: number, seed: number): string[] {
  return fc.sample(fc.uuid().map((u) => `GPU-${u}`), { numRuns: n, seed });
}

describe('fnv1a64', () => {
  test('matches the published FNV-1a 64-bit test vectors', () => {
    assert.equal(fnv1a64(''), 0xcbf29ce484222325n);
    assert.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn);
    assert.equal(fnv1a64('foobar'), 0x85944171f73967e8n);
  });
  test('hashes UTF-8 bytes, like an independent implementation', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => fnv1a64(s) === referenceFnv(s)));
  });
});

describe('jumpHash', () => {
  test('matches the published jump-hash test vectors (go-jump, python-jump-consistent-hash)', () => {
    const vectors: [bigint, number, number][] = [
      [1n, 1, 0],
      [42n, 57, 43],
      [0xdead10ccn, 1, 0],
      [0xdead10ccn, 666, 361],
      [256n, 1024, 520],
      [1n, 128, 55],
      [129n, 128, 120],
      [0xffffffffffffffffn, 128, 92],
      [128n, 100_000_000, 38_172_097],
    ];
    for (const [key, buckets, expected] of vectors) assert.equal(jumpHash(key, buckets), expected, `jumpHash(${key}, ${buckets})`);
  });

  test('agrees with the paper\'s reference code for arbitrary 64-bit keys', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 1, max: 5_000 }), (key, n) => jumpHash(key, n) === referenceJump(key, n)),
      { numRuns: 2_000 },
    );
  });

  test('rejects a bucket count that is not a positive integer, naming it', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => jumpHash(1n, bad), (e: Error) => e instanceof RangeError && /buckets/.test(e.message));
  });
});

describe('partitionFor', () => {
  test('fixed vector: ids → partitions computed by the independent reference implementation', () => {
    // Expected values computed here from referenceFnv + referenceJump (not from the library).
    const ids = ['GPU-00000000-aaaa-bbbb-cccc-000000000000', 'gpu-node-01:0', 'host-a:7', 'GPU-ü-unicode', ''];
    for (const id of ids)
      for (const n of [1, 2, 4, 8, 16, 1024]) assert.equal(partitionFor(id, n), referenceJump(referenceFnv(id), n), `${JSON.stringify(id)} over ${n}`);
    // Literal expectations, worked out once with the reference above, so a change of hash or of the
    // UTF-8 handling shows up as a diff here (it would re-partition every device of a running system).
    const literal: [string, number, number][] = [
      ['GPU-00000000-aaaa-bbbb-cccc-000000000000', 8, 0],
      ['GPU-00000000-aaaa-bbbb-cccc-000000000000', 1024, 216],
      ['gpu-node-01:0', 4, 2],
      ['gpu-node-01:0', 1024, 652],
      ['host-a:7', 1024, 353],
      ['GPU-ü-unicode', 8, 6],
      ['GPU-ü-unicode', 1024, 725],
    ];
    for (const [id, n, expected] of literal) assert.equal(partitionFor(id, n), expected, `${id} over ${n}`);
    assert.equal(fnv1a64('GPU-ü-unicode'), 0xfab8abef54356d79n);
  });

  test('stable: the same id maps to the same partition on every call', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 1_024 }), (id, n) => {
        const first = partitionFor(id, n);
        return partitionFor(id, n) === first && partitionFor(String(id), n) === first;
      }),
      { numRuns: 1_000 },
    );
  });

  test('range: always an integer in [0, n)', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 100_000 }), (id, n) => {
        const p = partitionFor(id, n);
        return Number.isInteger(p) && p >= 0 && p < n;
      }),
      { numRuns: 2_000 },
    );
  });

  test('balance: 10,000 random ids over 8 partitions, each within ±15 % of the mean', () => {
    const counts = new Array<number>(8).fill(0);
    for (const id of deviceIds(10_000, 1234)) counts[partitionFor(id, 8)]!++;
    const mean = 10_000 / 8;
    for (const [p, c] of counts.entries()) assert.ok(Math.abs(c - mean) <= mean * 0.15, `partition ${p}: ${c} ids (mean ${mean}); all: ${counts}`);
  });

  test('growing n → n+1 moves ≈ 1/(n+1) of ids, all to the new partition; modulo would move most', () => {
    const ids = deviceIds(10_000, 99);
    for (const n of [1, 3, 4, 7, 8, 15]) {
      let moved = 0;
      let movedModulo = 0;
      for (const id of ids) {
        const before = partitionFor(id, n);
        const after = partitionFor(id, n + 1);
        if (after !== before) {
          moved++;
          assert.equal(after, n, `${id} moved from ${before} to ${after}, not to the new partition ${n}`);
        }
        const h = fnv1a64(id);
        if (h % BigInt(n) !== h % BigInt(n + 1)) movedModulo++;
      }
      const expected = ids.length / (n + 1);
      assert.ok(Math.abs(moved - expected) <= expected * 0.15 + 30, `n=${n}: ${moved} moved, expected ≈ ${expected.toFixed(0)}`);
      if (n >= 3) assert.ok(movedModulo > ids.length / 2 && movedModulo > moved * 2, `n=${n}: modulo moved ${movedModulo}, jump ${moved}`);
    }
  });

  test('property: any id either stays or moves to the new partition when n grows', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 512 }), (id, n) => {
        const a = partitionFor(id, n);
        const b = partitionFor(id, n + 1);
        return b === a || b === n;
      }),
      { numRuns: 2_000 },
    );
  });

  test('partitionSubject appends the partition to the prefix', () => {
    assert.equal(partitionSubject('telemetry.p', 3), 'telemetry.p.3');
  });
});

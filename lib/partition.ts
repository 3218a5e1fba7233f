/**
 * Consistent hashing of device ids onto JetStream partitions.
 *
 * Jump consistent hash (Lamping & Veach, 2014): when the partition count goes
 * from n to n+1, only ~1/(n+1) of keys move, all of them to the new bucket.
 * NATS' own `partition()` subject mapping is a plain modulo, which moves most
 * keys on resize; that would reorder a device's points across partitions.
 */

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/** FNV-1a 64-bit over the UTF-8 bytes of `key`: stable across processes and versions. */
export function fnv1a64(key: string): bigint {
  let h = FNV_OFFSET;
  for (const byte of Buffer.from(key, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * FNV_PRIME) & MASK64;
  }
  return h;
}

/** Jump hash: maps a 64-bit key to a bucket in [0, buckets). */
export function jumpHash(key: bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
  let b = -1n;
  let j = 0n;
  let k = key & MASK64;
  const n = BigInt(buckets);
  while (j < n) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & MASK64;
    j = BigInt(Math.floor((Number(b + 1n) * 2 ** 31) / Number((k >> 33n) + 1n)));
  }
  return Number(b);
}

/** Partition of a device id over `partitions` partitions. */
export function partitionFor(device: string, partitions: number): number {
  return jumpHash(fnv1a64(device), partitions);
}

/** Subject a partition's batches are published on. */
export function partitionSubject(prefix: string, partition: number): string {
  return `${prefix}.${partition}`;
}

/**
 * Wire format of one JetStream message: a batch of points of one partition.
 *
 * Tags are stored once per device in the batch (`devices`), and each point is
 * a compact tuple: a 2,000-point batch of 8-field GPU samples is ~200 KB of
 * JSON instead of ~500 KB. Wide points are far larger (≈4 KB for a 212-column
 * capture), so PartitionBatcher also bounds each batch by this encoding's exact
 * byte length: a change here must keep its size accounting in step.
 */
import type { Point } from '../point.ts';

export const BATCH_VERSION = 1;

/** The wire shape; decodeBatch checks it by hand (a schema library cost ≈ 3× more per point). */
export interface EncodedBatch {
  v: typeof BATCH_VERSION;
  /** Where the batch came from (file digest + chunk, or HTTP client batch id). */
  origin: string;
  /** Tags once per device. */
  devices: Record<string, Record<string, string>>;
  /** [device, ts (ns decimal string within int64), fields] */
  points: [string, string, Record<string, number>][];
}

export class BatchDecodeError extends Error {
  override name = 'BatchDecodeError';
}

export function encodeBatch(origin: string, points: Point[]): Uint8Array {
  // Own-key checks only: a device named "constructor" or "toString" is a valid id.
  const devices: Record<string, Record<string, string>> = {};
  const tuples: [string, string, Record<string, number>][] = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (!Object.hasOwn(devices, p.device)) Object.defineProperty(devices, p.device, { value: p.tags, enumerable: true, writable: true, configurable: true });
    tuples[i] = [p.device, p.ts, p.fields];
  }
  return Buffer.from(JSON.stringify({ v: BATCH_VERSION, origin, devices, points: tuples }));
}

/** Pre-encoded pieces of a batch: `"id":{tags}` per device (first appearance order) and one JSON tuple per point. */
export interface BatchParts {
  devices: string[];
  tuples: string[];
}

/** The bytes encodeBatch would produce, from pieces already encoded (the batcher builds them to bound the size). */
export function encodeBatchParts(origin: string, parts: BatchParts): Uint8Array {
  return Buffer.from(`{"v":${BATCH_VERSION},"origin":${JSON.stringify(origin)},"devices":{${parts.devices.join(',')}},"points":[${parts.tuples.join(',')}]}`);
}

/** Encodes a batch cut by PartitionBatcher, reusing its pre-encoded pieces when it has them. */
export function encodePartitionBatch(origin: string, b: { points: Point[]; parts?: BatchParts }): Uint8Array {
  return b.parts ? encodeBatchParts(origin, b.parts) : encodeBatch(origin, b.points);
}

const INT64_MAX = '9223372036854775807';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (path: string, message: string): never => {
  throw new BatchDecodeError(`invalid batch at ${path || '(root)'}: ${message}`);
};

/** ns timestamp as decimal digits within int64 (InfluxDB's range); no sign, no exponent. */
function validTs(ts: unknown): ts is string {
  if (typeof ts !== 'string' || ts.length === 0 || ts.length > 19) return false;
  for (let i = 0; i < ts.length; i++) {
    const c = ts.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return ts.length < 19 || ts <= INT64_MAX;
}

/**
 * Decodes and validates a batch; throws BatchDecodeError naming what is wrong
 * (poison). Hand-written checks instead of a schema library: this runs for
 * every point the collector stores (≈ 3× faster than the zod schema it replaced,
 * which `EncodedBatch` documents).
 */
export function decodeBatch(data: Uint8Array): { origin: string; points: Point[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (err) {
    throw new BatchDecodeError(`batch is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isRecord(raw)) return fail('', 'expected an object');
  if (raw.v !== BATCH_VERSION) fail('v', `expected ${BATCH_VERSION}`);
  const origin = raw.origin;
  if (typeof origin !== 'string' || origin.length === 0) fail('origin', 'expected a non-empty string');
  const devices = raw.devices;
  if (!isRecord(devices)) return fail('devices', 'expected a record');
  // Own keys only: any string (also "__proto__") is a valid device id.
  for (const d of Object.keys(devices)) {
    const tags = devices[d];
    if (!isRecord(tags)) fail(`devices.${d}`, 'expected a record of strings');
    for (const k of Object.keys(tags as Record<string, unknown>)) {
      if (typeof (tags as Record<string, unknown>)[k] !== 'string') fail(`devices.${d}.${k}`, 'expected a string');
    }
  }
  const tuples = raw.points;
  if (!Array.isArray(tuples)) return fail('points', 'expected an array');
  const EMPTY: Record<string, string> = {};
  const points: Point[] = new Array(tuples.length);
  for (let i = 0; i < tuples.length; i++) {
    const t: unknown = tuples[i];
    if (!Array.isArray(t) || t.length !== 3) fail(`points.${i}`, 'expected a [device, ts, fields] tuple');
    const [device, ts, fields] = t as unknown[];
    if (typeof device !== 'string' || device.length === 0) fail(`points.${i}.0`, 'expected a non-empty device id');
    if (!validTs(ts)) fail(`points.${i}.1`, 'expected a ns timestamp (decimal digits within int64)');
    if (!isRecord(fields)) return fail(`points.${i}.2`, 'expected a record of numbers');
    for (const k in fields) {
      const v = fields[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`points.${i}.2.${k}`, 'expected a finite number');
    }
    const tags = Object.hasOwn(devices, device as string) ? (devices[device as string] as Record<string, string>) : EMPTY;
    points[i] = { device: device as string, ts: ts as string, tags, fields: fields as Record<string, number> };
  }
  return { origin: origin as string, points };
}

/**
 * Wire format of one JetStream message: a batch of points of one partition.
 *
 * Tags are stored once per device in the batch (`devices`), and each point is
 * a compact tuple: a 2,000-point batch of 8-field GPU samples is ~200 KB of
 * JSON instead of ~500 KB. Wide points are far larger (≈4 KB for a 212-column
 * capture), so PartitionBatcher also bounds each batch by this encoding's exact
 * byte length: a change here must keep its size accounting in step.
 */
import { z } from 'zod';
import type { Point } from '../point.ts';

export const BATCH_VERSION = 1;

const batchSchema = z.object({
  v: z.literal(BATCH_VERSION),
  /** Where the batch came from (file digest + chunk, or HTTP client batch id). */
  origin: z.string().min(1),
  devices: z.record(z.string(), z.record(z.string(), z.string())),
  /** [device, ts (ns decimal string), fields] */
  points: z.array(
    z.tuple([z.string().min(1), z.string().regex(/^\d{1,19}$/), z.record(z.string(), z.number().finite())]),
  ),
});

export type EncodedBatch = z.infer<typeof batchSchema>;

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

/** Decodes and validates a batch; throws BatchDecodeError naming what is wrong (poison). */
export function decodeBatch(data: Uint8Array): { origin: string; points: Point[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (err) {
    throw new BatchDecodeError(`batch is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = batchSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new BatchDecodeError(`invalid batch at ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const { origin, points } = parsed.data;
  // Tags are looked up on the JSON.parse output (own keys only): zod's record drops a
  // "__proto__" key, and any string is a valid device id. Values are checked here instead.
  const devices = (raw as { devices: Record<string, unknown> }).devices;
  for (const [device] of points) {
    const tags = Object.hasOwn(devices, device) ? devices[device] : undefined;
    if (tags !== undefined && (typeof tags !== 'object' || tags === null || Object.values(tags).some((v) => typeof v !== 'string')))
      throw new BatchDecodeError(`invalid batch at devices.${device}: expected a record of strings`);
  }
  return {
    origin,
    points: points.map(([device, ts, fields]) => ({ device, ts, tags: (Object.hasOwn(devices, device) ? devices[device] : {}) as Record<string, string>, fields })),
  };
}

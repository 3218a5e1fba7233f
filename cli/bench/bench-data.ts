/**
 * The benchmarks' data: a seeded nvidia-smi capture written to a file (the
 * 16-column `--query-gpu` log of lib/sample/generate-sample.ts, or the
 * 212-column capture of lib/sample/wide-capture.ts), the in-process parse
 * timing, and the same points prepared for the raw baselines: InfluxDB line
 * protocol and the JetStream batches `ingest` cuts from the file.
 */
import { createReadStream, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sampleLines, writeLines } from '../../lib/sample/generate-sample.ts';
import { wideCaptureLines, WIDE_COLUMNS } from '../../lib/sample/wide-capture.ts';
import { parseStream, type ParseSummary } from '../../lib/parse/index.ts';
import type { Point } from '../../lib/point.ts';
import { toLines } from '../../lib/influx/line-protocol.ts';
import { encodeBatch } from '../../lib/stream/codec.ts';
import { PartitionBatcher, batchByteLimit } from '../../lib/stream/publisher.ts';

export const FIELD_SETS = ['16', 'wide'] as const;
export type FieldSet = (typeof FIELD_SETS)[number];

/** First sample of every bench file: a fixed past instant, so the same options give the same bytes. */
const START_MS = Date.UTC(2025, 5, 1);

export interface BenchFile {
  path: string;
  /** Data rows = points (one row per GPU per sample). */
  points: number;
  devices: number;
  /** Samples of the first devices (the others may have one fewer). */
  samples: number;
  columns: number;
  bytes: number;
}

/**
 * Writes exactly `points` rows: whole samples of every device, the last one
 * cut short when `points` is not a multiple of `devices` (so runs with
 * different fleet sizes carry the same number of points).
 */
/** The header line and at most `rows` rows after it. */
function* headerAndRows(lines: Iterable<string>, rows: number): Generator<string> {
  let n = -1; // the header is not a row
  for (const line of lines) {
    if (n++ === rows) return;
    yield line;
  }
}

export async function writeBenchFile(dir: string, o: { points: number; devices: number; fields: FieldSet }): Promise<BenchFile> {
  const path = join(dir, `bench-${o.fields}-${o.devices}gpu-${o.points}.csv`);
  const samples = Math.ceil(o.points / o.devices);
  const lines = o.fields === 'wide' ? wideCaptureLines(o.points, o.devices, START_MS) : sampleLines({ gpus: o.devices, samples, startMs: START_MS, seed: 11 });
  await writeLines(path, headerAndRows(lines, o.points));
  return { path, points: o.points, devices: o.devices, samples, columns: o.fields === 'wide' ? WIDE_COLUMNS : 16, bytes: statSync(path).size };
}

async function eachChunk(path: string, fn: (points: Point[]) => void): Promise<ParseSummary> {
  const gen = parseStream(createReadStream(path, { highWaterMark: 256 * 1024 }), { fileName: basename(path) });
  for (let r = await gen.next(); ; r = await gen.next()) {
    if (r.done) return r.value;
    fn(r.value.points);
  }
}

/** `parseStream` over the file in this process (one core); the points are counted and dropped. */
export async function timeParse(path: string): Promise<{ rows: number; points: number; seconds: number }> {
  let points = 0;
  const t0 = performance.now();
  const summary = await eachChunk(path, (p) => (points += p.length));
  return { rows: summary.rows, points, seconds: (performance.now() - t0) / 1_000 };
}

export interface RawBatch {
  partition: number;
  seq: number;
  points: number;
  data: Uint8Array;
}

export interface RawData {
  points: number;
  /** The points as line protocol (measurement `gpu`), in file order. */
  lines: string[];
  /** The batches `ingest` publishes for this file (same partitions and limits), encoded. */
  batches: RawBatch[];
}

/**
 * Parses the file once into what the raw baselines send. The batches are cut
 * exactly as `ingest` cuts them (PartitionBatcher over the file order with the
 * same point and byte limits), so their count is the number of messages the
 * pipeline run must find in the stream. `payloads: false` only counts (no
 * lines, empty batch data): for runs without the baselines.
 */
export async function prepareRawData(path: string, o: { partitions: number; batchPoints: number; maxMessageBytes: number; payloads?: boolean }): Promise<RawData> {
  const payloads = o.payloads !== false;
  const batcher = new PartitionBatcher(o.partitions, o.batchPoints, batchByteLimit(o.maxMessageBytes));
  const lines: string[] = [];
  const batches: RawBatch[] = [];
  let points = 0;
  const keep = (cut: { partition: number; seq: number; points: Point[] }[]) => {
    for (const b of cut)
      batches.push({ partition: b.partition, seq: b.seq, points: b.points.length, data: payloads ? encodeBatch(`bench:${b.partition}:${b.seq}`, b.points) : new Uint8Array(0) });
  };
  await eachChunk(path, (chunk) => {
    points += chunk.length;
    if (payloads) for (const l of toLines(chunk)) lines.push(l);
    keep(batcher.add(chunk));
  });
  keep(batcher.flush());
  return { points, lines, batches };
}

/**
 * File ingestion: parse (streaming) → partition → batch → publish, with a
 * resumable checkpoint. Message ids are derived from the file's content digest
 * and the batch position, so a rerun (or a retried publish) is deduplicated by
 * JetStream, and the checkpoint lets an interrupted ingestion skip what it had
 * already stored without re-sending it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { JetStreamClient } from 'nats';
import { parseStream, type ParseOptions, type ParseSummary } from '../parse/index.ts';
import { partitionSubject } from '../partition.ts';
import { encodeBatch } from './codec.ts';
import { publishMetrics, parseMetrics } from './metrics.ts';
import { PartitionBatcher, publishWithRetry, type PartitionBatch, type PublishPolicy } from './publisher.ts';

export interface IngestTarget {
  js: JetStreamClient;
  subjectPrefix: string;
  partitions: number;
  batchPoints: number;
  policy: PublishPolicy;
  /** Folder for resume checkpoints (DATA_DIR/ingest). */
  checkpointDir?: string;
  /** Publishes kept in flight at once (pipelining; order within a partition is preserved per connection). */
  inFlight?: number;
}

export interface IngestSummary {
  file: string;
  format: string;
  rows: number;
  points: number;
  rejected: number;
  rejections: ParseSummary['rejections'];
  /** Points not stored again: batches JetStream reported as duplicates + batches skipped by the checkpoint. */
  duplicates: number;
  batches: number;
  identity: string;
  warnings: string[];
  elapsed_s: number;
  points_per_s: number;
}

export interface IngestProgress {
  rows: number;
  points: number;
  bytes: number;
  totalBytes?: number;
}

/** sha256 of the file content, streamed. */
export async function fileDigest(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface Checkpoint {
  digest: string;
  file: string;
  partitions: number;
  batchPoints: number;
  /** Per partition: highest seq such that every batch ≤ it is stored. */
  done: Record<string, number>;
  complete: boolean;
}

function loadCheckpoint(dir: string | undefined, digest: string, partitions: number, batchPoints: number): Checkpoint | undefined {
  if (!dir) return undefined;
  const f = join(dir, `${digest}.json`);
  if (!existsSync(f)) return undefined;
  const cp = JSON.parse(readFileSync(f, 'utf8')) as Checkpoint;
  // A different partitioning cuts different batches: the old checkpoint does not apply.
  return cp.partitions === partitions && cp.batchPoints === batchPoints ? cp : undefined;
}

function saveCheckpoint(dir: string | undefined, cp: Checkpoint): void {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const f = join(dir, `${cp.digest}.json`);
  writeFileSync(`${f}.tmp`, JSON.stringify(cp));
  renameSync(`${f}.tmp`, f);
}

/** Tracks completions that may arrive out of order and exposes the contiguous watermark per partition. */
class Watermarks {
  private readonly pending = new Map<number, Set<number>>();
  constructor(readonly done: Record<string, number>) {}
  complete(partition: number, seq: number): void {
    let set = this.pending.get(partition);
    if (!set) this.pending.set(partition, (set = new Set()));
    set.add(seq);
    let mark = this.done[partition] ?? -1;
    while (set.has(mark + 1)) {
      set.delete(mark + 1);
      mark++;
    }
    this.done[partition] = mark;
  }
  isDone(partition: number, seq: number): boolean {
    return seq <= (this.done[partition] ?? -1);
  }
}

export async function ingestFile(
  path: string,
  target: IngestTarget,
  parseOpts: Partial<ParseOptions> = {},
  onProgress?: (p: IngestProgress) => void,
): Promise<IngestSummary> {
  const started = performance.now();
  const digest = await fileDigest(path);
  const prior = loadCheckpoint(target.checkpointDir, digest, target.partitions, target.batchPoints);
  const cp: Checkpoint = prior ?? {
    digest,
    file: basename(path),
    partitions: target.partitions,
    batchPoints: target.batchPoints,
    done: {},
    complete: false,
  };
  const marks = new Watermarks(cp.done);
  const origin = `f:${digest.slice(0, 24)}`;
  const batcher = new PartitionBatcher(target.partitions, target.batchPoints);
  const inFlightMax = target.inFlight ?? 16;
  const inFlight = new Set<Promise<void>>();
  let duplicates = 0;
  let batches = 0;
  let firstError: unknown;
  let lastSave = Date.now();

  const send = async (b: PartitionBatch) => {
    batches++;
    if (marks.isDone(b.partition, b.seq)) {
      duplicates += b.points.length; // stored by an earlier, interrupted run
      return;
    }
    const msgId = `${origin}:p${b.partition}:b${b.seq}:n${target.batchPoints}`;
    publishMetrics.batchPoints.observe(b.points.length);
    const ack = await publishWithRetry(
      target.js,
      partitionSubject(target.subjectPrefix, b.partition),
      encodeBatch(`${origin}:${b.partition}:${b.seq}`, b.points),
      msgId,
      target.policy,
    );
    if (ack.duplicate) duplicates += b.points.length;
    marks.complete(b.partition, b.seq);
    if (Date.now() - lastSave > 1_000) {
      lastSave = Date.now();
      saveCheckpoint(target.checkpointDir, cp);
    }
  };
  const schedule = async (b: PartitionBatch) => {
    const p = send(b).catch((err) => {
      firstError ??= err;
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= inFlightMax) await Promise.race(inFlight);
    if (firstError) throw firstError;
  };

  const gen = parseStream(createReadStream(path), { fileName: basename(path), ...parseOpts });
  let rows = 0;
  let points = 0;
  let summary: ParseSummary;
  for (;;) {
    const next = await gen.next();
    if (next.done) {
      summary = next.value;
      break;
    }
    points += next.value.points.length;
    for (const b of batcher.add(next.value.points)) await schedule(b);
    onProgress?.({ rows: next.value.endLine, points, bytes: 0 });
  }
  for (const b of batcher.flush()) await schedule(b);
  await Promise.all(inFlight);
  if (firstError) {
    saveCheckpoint(target.checkpointDir, cp);
    throw firstError;
  }
  cp.complete = true;
  saveCheckpoint(target.checkpointDir, cp);
  rows = summary.rows;
  parseMetrics.rows.inc({ format: summary.format }, rows);
  parseMetrics.points.inc({ format: summary.format }, summary.points);
  parseMetrics.rejected.inc({ format: summary.format }, summary.rejected);
  const elapsed = (performance.now() - started) / 1_000;
  return {
    file: path,
    format: summary.format,
    rows,
    points: summary.points,
    rejected: summary.rejected,
    rejections: summary.rejections,
    duplicates,
    batches,
    identity: summary.identity,
    warnings: summary.warnings,
    elapsed_s: Number(elapsed.toFixed(3)),
    points_per_s: Math.round(summary.points / Math.max(elapsed, 1e-6)),
  };
}

/** Publishes already-parsed points (HTTP ingestion): one origin = the client's batch id. */
export async function publishPoints(
  target: Omit<IngestTarget, 'checkpointDir'>,
  origin: string,
  points: import('../point.ts').Point[],
): Promise<{ batches: number; duplicates: number }> {
  const batcher = new PartitionBatcher(target.partitions, target.batchPoints);
  const all = [...batcher.add(points), ...batcher.flush()];
  let duplicates = 0;
  // HTTP handlers must not block on a full stream: waitWhenFull is false in their policy.
  await Promise.all(
    all.map(async (b) => {
      const ack = await publishWithRetry(
        target.js,
        partitionSubject(target.subjectPrefix, b.partition),
        encodeBatch(`${origin}:${b.partition}:${b.seq}`, b.points),
        `${origin}:p${b.partition}:b${b.seq}`,
        target.policy,
      );
      if (ack.duplicate) duplicates += b.points.length;
    }),
  );
  return { batches: all.length, duplicates };
}

/**
 * File ingestion: parse (streaming) → partition → batch → publish, with a
 * resumable checkpoint. Message ids are derived from the file's content digest,
 * the options fingerprint (lib/parse/fingerprint.ts) and the batch position, so
 * a rerun (or a retried publish) with the same options is deduplicated by
 * JetStream, and the checkpoint (keyed by digest + fingerprint) lets an
 * interrupted ingestion skip what it had already stored without re-sending it.
 * Invariant: different options that change the points never share a message id
 * or a checkpoint, so a corrected re-ingest is never skipped as a duplicate.
 */
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { JetStreamClient } from 'nats';
import {
  optionsFingerprint,
  parseStream,
  pointOptions,
  resolveBaseTime,
  type BaseTimeSource,
  type ParseOptions,
  type ParseSummary,
  type PointOptions,
} from '../parse/index.ts';
import { partitionSubject } from '../partition.ts';
import { encodePartitionBatch } from './codec.ts';
import { publishMetrics, parseMetrics } from './metrics.ts';
import { PartitionBatcher, batchByteLimit, publishWithRetry, type PartitionBatch, type PublishPolicy } from './publisher.ts';

export interface IngestTarget {
  js: JetStreamClient;
  subjectPrefix: string;
  partitions: number;
  batchPoints: number;
  /**
   * Largest message (headers included) the server accepts, from its INFO
   * (`messageByteLimit(nc)`); batches are also cut by encoded bytes below it.
   * Unset → batches are bounded by points only.
   */
  maxMessageBytes?: number;
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
  /** Points per identity source (how device ids were built). */
  identities: ParseSummary['identities'];
  warnings: string[];
  elapsed_s: number;
  points_per_s: number;
  /** Points JetStream stored as new in this run (not duplicates, not skipped). */
  published: number;
  /** Short hash of `options`: part of every message id and of the checkpoint key. */
  fingerprint: string;
  /** The normalised parse options that shape the points. */
  options: PointOptions;
  /** Base time for derived timestamps (formats without absolute time) and where it came from. */
  baseTime: { time: string; source: BaseTimeSource };
  timeSource: ParseSummary['timeSource'];
  /** Nothing new was published: the file was already fully ingested with the same options. */
  alreadyIngested: boolean;
  /** Published again regardless of the checkpoint, with fresh message ids (`--force`). */
  forced: boolean;
  /** What a person should be told about this run (e.g. "already ingested …; use --force to publish again"). */
  notice?: string;
}

export interface IngestFileOptions {
  /**
   * Publish again regardless of the checkpoint and with fresh message ids (a
   * nonce), so neither the checkpoint nor JetStream's duplicate window drops it.
   */
  force?: boolean;
  /**
   * False when the file's mtime is not a stable base time (stdin spooled to a
   * temp file): without `baseTimeMs`, derived timestamps then use the current
   * time and the summary warns. Default true.
   */
  stableMtime?: boolean;
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
  /** File name stem: `<sha256>-<options fingerprint>`. */
  key: string;
  digest: string;
  fingerprint: string;
  /** The normalised options behind the fingerprint (for people reading the file). */
  options: PointOptions;
  file: string;
  partitions: number;
  batchPoints: number;
  /** Byte bound the batches were cut with: a different one cuts different batches. */
  maxBytes?: number;
  /** Per partition: highest seq such that every batch ≤ it is stored. */
  done: Record<string, number>;
  complete: boolean;
}

function loadCheckpoint(dir: string | undefined, key: string, partitions: number, batchPoints: number, maxBytes: number | undefined): Checkpoint | undefined {
  if (!dir) return undefined;
  const f = join(dir, `${key}.json`);
  if (!existsSync(f)) return undefined;
  const cp = JSON.parse(readFileSync(f, 'utf8')) as Checkpoint;
  // A different partitioning cuts different batches: the old checkpoint does not apply.
  return cp.partitions === partitions && cp.batchPoints === batchPoints && cp.maxBytes === maxBytes ? cp : undefined;
}

function saveCheckpoint(dir: string | undefined, cp: Checkpoint): void {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const f = join(dir, `${cp.key}.json`);
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
  opts: IngestFileOptions = {},
): Promise<IngestSummary> {
  const started = performance.now();
  const digest = await fileDigest(path);
  // One rule for formats without absolute time: baseTimeMs, else the file's mtime, else now (warned).
  const base = resolveBaseTime(parseOpts.baseTimeMs, opts.stableMtime === false ? undefined : (await stat(path)).mtimeMs);
  const fullOpts: ParseOptions = { fileName: basename(path), ...parseOpts, baseTimeMs: base.ms, baseTimeSource: base.source };
  const options = pointOptions(fullOpts);
  const fingerprint = optionsFingerprint(fullOpts);
  const force = opts.force === true;
  const key = `${digest}-${fingerprint}`;
  const maxBytes = batchByteLimit(target.maxMessageBytes);
  // --force: the old checkpoint is ignored (and replaced by this run's).
  const prior = force ? undefined : loadCheckpoint(target.checkpointDir, key, target.partitions, target.batchPoints, maxBytes);
  const cp: Checkpoint = prior ?? {
    key,
    digest,
    fingerprint,
    options,
    file: basename(path),
    partitions: target.partitions,
    batchPoints: target.batchPoints,
    maxBytes,
    done: {},
    complete: false,
  };
  const marks = new Watermarks(cp.done);
  // A forced run gets a nonce: fresh ids, so JetStream's duplicate window does not drop the re-publish.
  const origin = `f:${digest.slice(0, 24)}:o${fingerprint}` + (force ? `:r${randomBytes(4).toString('hex')}` : '');
  const batcher = new PartitionBatcher(target.partitions, target.batchPoints, maxBytes);
  const inFlightMax = target.inFlight ?? 16;
  const inFlight = new Set<Promise<void>>();
  let duplicates = 0;
  let published = 0;
  let batches = 0;
  let firstError: unknown;
  let lastSave = Date.now();

  const send = async (b: PartitionBatch) => {
    batches++;
    if (marks.isDone(b.partition, b.seq)) {
      duplicates += b.points.length; // stored by an earlier, interrupted run
      return;
    }
    // Both limits shape the batches, so both are in the id: the same seq cut differently is different content.
    const msgId = `${origin}:p${b.partition}:b${b.seq}:n${target.batchPoints}${maxBytes === undefined ? '' : `:m${maxBytes}`}`;
    publishMetrics.batchPoints.observe(b.points.length);
    const ack = await publishWithRetry(
      target.js,
      partitionSubject(target.subjectPrefix, b.partition),
      encodePartitionBatch(`${origin}:${b.partition}:${b.seq}`, b),
      msgId,
      target.policy,
    );
    if (ack.duplicate) duplicates += b.points.length;
    else published += b.points.length;
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

  const gen = parseStream(createReadStream(path), fullOpts);
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
  const alreadyIngested = !force && summary.points > 0 && published === 0 && duplicates >= summary.points;
  const out: IngestSummary = {
    file: path,
    format: summary.format,
    rows,
    points: summary.points,
    rejected: summary.rejected,
    rejections: summary.rejections,
    duplicates,
    batches,
    identity: summary.identity,
    identities: summary.identities,
    warnings: summary.warnings,
    elapsed_s: Number(elapsed.toFixed(3)),
    points_per_s: Math.round(summary.points / Math.max(elapsed, 1e-6)),
    published,
    fingerprint,
    options,
    baseTime: { time: new Date(base.ms).toISOString(), source: base.source },
    timeSource: summary.timeSource,
    alreadyIngested,
    forced: force,
  };
  if (alreadyIngested) {
    out.notice = `already ingested with the same options (fingerprint ${fingerprint}): ${summary.points} points, nothing published; use --force to publish again`;
  } else if (force) {
    out.notice = `published again (--force, fresh message ids): ${published} points`;
  }
  return out;
}

/** Publishes already-parsed points (HTTP ingestion): one origin = the client's batch id. */
export async function publishPoints(
  target: Omit<IngestTarget, 'checkpointDir'>,
  origin: string,
  points: import('../point.ts').Point[],
): Promise<{ batches: number; duplicates: number }> {
  // Bodies larger than one message become several, each under the server's limit (ids stay deterministic).
  const maxBytes = batchByteLimit(target.maxMessageBytes);
  const batcher = new PartitionBatcher(target.partitions, target.batchPoints, maxBytes);
  const all = [...batcher.add(points), ...batcher.flush()];
  let duplicates = 0;
  // HTTP handlers must not block on a full stream: waitWhenFull is false in their policy.
  await Promise.all(
    all.map(async (b) => {
      const ack = await publishWithRetry(
        target.js,
        partitionSubject(target.subjectPrefix, b.partition),
        encodePartitionBatch(`${origin}:${b.partition}:${b.seq}`, b),
        `${origin}:p${b.partition}:b${b.seq}${maxBytes === undefined ? '' : `:m${maxBytes}`}`,
        target.policy,
      );
      if (ack.duplicate) duplicates += b.points.length;
    }),
  );
  return { batches: all.length, duplicates };
}

/**
 * Publishing batches to JetStream with deduplication, retries with exponential
 * backoff, and back-pressure when the stream is full.
 */
import { headers, type JetStreamClient, type PubAck } from 'nats';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Point } from '../point.ts';
import { partitionFor } from '../partition.ts';
import { appendPointLine, BatchLayout, deviceEntryJson, sameTags, type PreEncoded } from './codec.ts';
import { LineArena } from '../influx/line-protocol.ts';
import { isStreamFull } from './jetstream.ts';
import { publishMetrics } from './metrics.ts';

/** The stream is at capacity; HTTP answers 429/503 with Retry-After, files wait. */
export class StreamFullError extends Error {
  override name = 'StreamFullError';
  constructor(readonly retryAfterS: number, options?: { cause?: unknown }) {
    super(`the telemetry stream is full; retry after ${retryAfterS}s`, options);
  }
}

/** Publishing failed after every attempt (NATS down, timeouts). */
export class PublishError extends Error {
  override name = 'PublishError';
  constructor(
    readonly subject: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(
      `publish to ${subject} failed after ${attempts} attempt(s): ${(options?.cause as Error | undefined)?.message ?? 'unknown error'}`,
      options,
    );
  }
}

export interface PublishPolicy {
  attempts: number;
  backoffFactor: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** true: wait (without limit, until `signal`) while the stream is full; false: throw StreamFullError. */
  waitWhenFull: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  onRetry?: (info: { attempt: number; delayMs: number; error: Error; full: boolean }) => void;
}

export function backoffDelay(attempt: number, p: Pick<PublishPolicy, 'backoffFactor' | 'initialDelayMs' | 'maxDelayMs'>): number {
  return Math.min(p.maxDelayMs, p.initialDelayMs * p.backoffFactor ** (attempt - 1));
}

/**
 * Publishes one message with `Nats-Msg-Id` = msgId, so a retried publish of the
 * same batch is dropped by the server as a duplicate (PubAck.duplicate).
 */
export async function publishWithRetry(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  msgId: string,
  policy: PublishPolicy,
): Promise<PubAck> {
  let attempt = 0;
  let fullWaits = 0;
  for (;;) {
    attempt++;
    try {
      const h = headers();
      h.set('Nats-Msg-Id', msgId);
      const ack = await js.publish(subject, data, { msgID: msgId, headers: h, timeout: policy.timeoutMs ?? 5_000 });
      publishMetrics.messages.inc({ result: ack.duplicate ? 'duplicate' : 'stored' });
      return ack;
    } catch (err) {
      const error = err as Error;
      if (policy.signal?.aborted) throw error;
      if (isStreamFull(err)) {
        publishMetrics.full.inc();
        if (!policy.waitWhenFull) throw new StreamFullError(2, { cause: err });
        // A full stream is back-pressure, not a failure: wait for the collectors to drain it.
        attempt--;
        fullWaits++;
        const delayMs = Math.min(2_000, 100 * 2 ** Math.min(fullWaits, 5));
        policy.onRetry?.({ attempt, delayMs, error, full: true });
        await sleep(delayMs, undefined, { signal: policy.signal });
        continue;
      }
      publishMetrics.retries.inc();
      if (attempt >= policy.attempts) {
        publishMetrics.messages.inc({ result: 'failed' });
        throw new PublishError(subject, attempt, { cause: err });
      }
      const delayMs = backoffDelay(attempt, policy);
      policy.onRetry?.({ attempt, delayMs, error, full: false });
      await sleep(delayMs, undefined, { signal: policy.signal });
    }
  }
}

export interface PartitionBatch {
  partition: number;
  /** What the batcher built for its byte bound (each point's line, the layout), reused by encodePartitionBatch. */
  encoded?: PreEncoded & { layout: BatchLayout; shapes: Uint32Array };
  /** 0-based sequence of this batch within its partition for this origin. */
  seq: number;
  points: Point[];
}

/**
 * Bytes kept free below the server's max_payload for what travels beside the
 * payload: headers (`Nats-Msg-Id`, and the collector's DLQ reason headers of
 * up to ~1.2 KB when it republishes a batch to the dead-letter stream).
 */
export const HEADER_HEADROOM_BYTES = 4 * 1024;

/**
 * Room the batcher reserves for the batch's `origin` string (JSON-quoted),
 * which it does not know when it cuts. Origins are `f:<24 hex>:<p>:<seq>`,
 * `h:<batchId ≤ 128>` or `s:<tag>:<ms>`, all far shorter.
 */
export const ORIGIN_RESERVE_BYTES = 256;

/** An empty batch's encoded size with the origin reserve. */
const ENVELOPE_BYTES = new BatchLayout(ORIGIN_RESERVE_BYTES).bytes;

/**
 * The payload limit for batches published to a server that accepts messages of
 * `maxMessageBytes` (headers included): that minus HEADER_HEADROOM_BYTES.
 * undefined → batches are bounded by points only.
 */
export function batchByteLimit(maxMessageBytes: number | undefined): number | undefined {
  if (maxMessageBytes === undefined) return undefined;
  const limit = maxMessageBytes - HEADER_HEADROOM_BYTES;
  if (!Number.isFinite(limit) || limit <= ENVELOPE_BYTES)
    throw new RangeError(`a message limit of ${maxMessageBytes} bytes leaves no room for a batch (${HEADER_HEADROOM_BYTES} bytes are kept for headers)`);
  return limit;
}

/** One point alone encodes to more than a message may carry: it can never be published. */
export class PointTooLargeError extends Error {
  override name = 'PointTooLargeError';
  constructor(
    readonly device: string,
    readonly ts: string,
    /** Encoded size of a batch holding only this point. */
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(
      `the point of device ${JSON.stringify(device)} at ts ${ts} encodes to ${bytes} bytes, more than one message may carry (${maxBytes} bytes); it cannot be published — send fewer fields or shorter tags`,
    );
  }
}

interface PartitionBuffer {
  points: Point[];
  /** Each point's line as bytes (built once, for the byte bound) and its size; the encoder copies them. */
  arena: LineArena;
  lineBytes: number[];
  shapes: number[];
  /** Exact layout of `points` (size with an origin of ORIGIN_RESERVE_BYTES). */
  layout: BatchLayout;
}

/** A fresh buffer; its arena sized like the batch before it (no regrowth in the steady state). */
const emptyBuffer = (arenaBytes = 64 * 1024): PartitionBuffer => ({
  points: [],
  arena: new LineArena(arenaBytes),
  lineBytes: [],
  shapes: [],
  layout: new BatchLayout(ORIGIN_RESERVE_BYTES),
});

/**
 * Groups points by partition and cuts a partition's batch when it holds
 * `batchPoints` points or when the next point would make its encoded size
 * (codec v2: header tables, one row and one line per point) exceed `maxBytes`.
 * Batches are a pure function of the input order and the two limits, so the
 * same file always produces the same batches (and the same Nats-Msg-Ids) —
 * callers must put both limits in anything keyed by batch seq (msg ids,
 * checkpoints).
 *
 * The size is tracked exactly per buffer with the codec's own BatchLayout
 * (each point's line is built once, on add, and reused by the encoder), never
 * by re-encoding the buffer.
 */
export class PartitionBatcher {
  private readonly buffers = new Map<number, PartitionBuffer>();
  private readonly seqs = new Map<number, number>();
  constructor(
    private readonly partitions: number,
    private readonly batchPoints: number,
    /** Bound on each batch's encoded byte length (origin ≤ ORIGIN_RESERVE_BYTES); undefined = points only. */
    private readonly maxBytes?: number,
  ) {
    if (maxBytes !== undefined && !(maxBytes > ENVELOPE_BYTES)) throw new RangeError(`maxBytes ${maxBytes} leaves no room for a point`);
  }

  /**
   * Adds points; returns the batches that became full. Throws PointTooLargeError
   * for a point that exceeds maxBytes on its own — before anything changes, so a
   * failed add() leaves the batcher as it was.
   */
  add(points: Point[]): PartitionBatch[] {
    // Lines first, into one scratch arena: the size check below must see every point before anything
    // changes. Each line is then copied into its partition's arena (one memcpy, cheaper than building it twice).
    const scratch = this.scratch;
    scratch.reset(16 * 1024 * 1024);
    const lineAt = new Uint32Array(points.length);
    const lineLen = new Uint32Array(points.length);
    for (let i = 0; i < points.length; i++) {
      lineAt[i] = scratch.len;
      lineLen[i] = appendPointLine(scratch, points[i]!);
    }
    if (this.maxBytes !== undefined) {
      for (let i = 0; i < points.length; i++) {
        const p = points[i]!;
        // A point's whole encoding is at most ~11× its line (the line holds the id, every tag and field
        // name; JSON may escape a byte as 6; a value is 8 bytes for ≥ 4 bytes of line): exact only near the limit.
        if (ENVELOPE_BYTES + 64 + 12 * lineLen[i]! < this.maxBytes) continue;
        const bytes = ENVELOPE_BYTES + new BatchLayout(ORIGIN_RESERVE_BYTES).probe(p, lineLen[i]!, this.entryOf).grow;
        if (bytes > this.maxBytes) throw new PointTooLargeError(p.device, p.ts, bytes, this.maxBytes);
      }
    }
    const out: PartitionBatch[] = [];
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const part = this.partitionOf(p.device);
      let buf = this.buffers.get(part);
      if (!buf) this.buffers.set(part, (buf = emptyBuffer()));
      const lb = lineLen[i]!;
      let pr = buf.layout.probe(p, lb, this.entryOf);
      if (this.maxBytes !== undefined && buf.points.length && buf.layout.bytes + pr.grow > this.maxBytes) {
        out.push(this.cut(part));
        buf = this.buffers.get(part)!;
        pr = buf.layout.probe(p, lb, this.entryOf);
      }
      buf.shapes.push(buf.layout.commit(pr));
      buf.points.push(p);
      buf.lineBytes.push(lb);
      if (lb > 0) {
        const a = buf.arena;
        a.ensure(lb + 1);
        a.len += scratch.buf.copy(a.buf, a.len, lineAt[i]!, lineAt[i]! + lb + 1);
      }
      if (buf.points.length >= this.batchPoints) out.push(this.cut(part));
    }
    return out;
  }
  private readonly scratch = new LineArena();

  /** Partition per device id, cached: the hash is per device, not per point (bounded: the cache restarts past 100,000 ids). */
  private readonly partCache = new Map<string, number>();
  private partitionOf(device: string): number {
    let part = this.partCache.get(device);
    if (part === undefined) {
      if (this.partCache.size >= 100_000) this.partCache.clear();
      part = partitionFor(device, this.partitions);
      this.partCache.set(device, part);
    }
    return part;
  }

  /** A device's header entry `[id,{tags}]`, reused while its tags stay equal (bounded like the partition cache). */
  private readonly deviceJson = new Map<string, { tags: Record<string, string>; entry: string }>();
  private readonly entryOf = (p: Point): string => {
    const hit = this.deviceJson.get(p.device);
    if (hit && (hit.tags === p.tags || sameTags(hit.tags, p.tags))) return hit.entry;
    if (this.deviceJson.size >= 100_000) this.deviceJson.clear();
    const entry = deviceEntryJson(p.device, p.tags);
    this.deviceJson.set(p.device, { tags: p.tags, entry });
    return entry;
  };

  /** Remaining partial batches. */
  flush(): PartitionBatch[] {
    const out: PartitionBatch[] = [];
    for (const [part, buf] of this.buffers) if (buf.points.length) out.push(this.cut(part));
    return out;
  }

  private cut(part: number): PartitionBatch {
    const seq = this.seqs.get(part) ?? 0;
    this.seqs.set(part, seq + 1);
    const buf = this.buffers.get(part)!;
    this.buffers.set(part, emptyBuffer(buf.arena.len + 4096));
    // The lines and layout built for the byte bound are reused: building them again would cost as much.
    return {
      partition: part,
      seq,
      points: buf.points,
      encoded: { text: buf.arena.buf, textBytes: buf.arena.len, lineBytes: buf.lineBytes, layout: buf.layout, shapes: Uint32Array.from(buf.shapes) },
    };
  }
}

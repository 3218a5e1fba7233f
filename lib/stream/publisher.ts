/**
 * Publishing batches to JetStream with deduplication, retries with exponential
 * backoff, and back-pressure when the stream is full.
 */
import { headers, type JetStreamClient, type PubAck } from 'nats';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Point } from '../point.ts';
import { partitionFor } from '../partition.ts';
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
  /** 0-based sequence of this batch within its partition for this origin. */
  seq: number;
  points: Point[];
}

/**
 * Groups points by partition and cuts batches of `batchPoints`. Batches are a
 * pure function of the input order, so the same file always produces the same
 * batches (and the same Nats-Msg-Ids).
 */
export class PartitionBatcher {
  private readonly buffers = new Map<number, Point[]>();
  private readonly seqs = new Map<number, number>();
  constructor(
    private readonly partitions: number,
    private readonly batchPoints: number,
  ) {}

  /** Adds points; returns the batches that became full. */
  add(points: Point[]): PartitionBatch[] {
    const out: PartitionBatch[] = [];
    for (const p of points) {
      const part = partitionFor(p.device, this.partitions);
      let buf = this.buffers.get(part);
      if (!buf) this.buffers.set(part, (buf = []));
      buf.push(p);
      if (buf.length >= this.batchPoints) out.push(this.cut(part));
    }
    return out;
  }

  /** Remaining partial batches. */
  flush(): PartitionBatch[] {
    const out: PartitionBatch[] = [];
    for (const [part, buf] of this.buffers) if (buf.length) out.push(this.cut(part));
    return out;
  }

  private cut(part: number): PartitionBatch {
    const seq = this.seqs.get(part) ?? 0;
    this.seqs.set(part, seq + 1);
    const points = this.buffers.get(part)!;
    this.buffers.set(part, []);
    return { partition: part, seq, points };
  }
}

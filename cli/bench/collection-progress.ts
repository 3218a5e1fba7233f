/**
 * When is everything collected? Asked of JetStream, never of InfluxDB (a
 * count over millions of points would load influxd while it is being
 * measured): the telemetry stream's last sequence has reached what was
 * published, and every partition consumer has nothing pending and nothing
 * awaiting an ack. The collector acks a batch only after its InfluxDB write
 * and the collector-state flush, so this is "durably stored".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamManager } from 'nats';
import type { Config } from '../../lib/config.ts';
import { consumerLag, type StreamConfig } from '../../lib/stream/jetstream.ts';

export interface StreamProgress {
  lastSeq: number;
  /** Σ over partitions of num_pending + num_ack_pending. */
  backlog: number;
  byPartition: Record<number, number>;
}

export async function streamProgress(jsm: JetStreamManager, cfg: StreamConfig): Promise<StreamProgress> {
  const info = await jsm.streams.info(cfg.STREAM_NAME);
  const lag = await consumerLag(jsm, cfg);
  const byPartition = Object.fromEntries(Object.entries(lag).map(([p, l]) => [p, l.pending + l.ackPending]));
  return { lastSeq: info.state.last_seq, backlog: Object.values(byPartition).reduce((a, b) => a + b, 0), byPartition };
}

export class CollectionTimeoutError extends Error {
  override name = 'CollectionTimeoutError';
  constructor(
    readonly expectedLastSeq: number,
    readonly last: StreamProgress | undefined,
    timeoutMs: number,
  ) {
    super(`not collected after ${timeoutMs} ms: stream last sequence ${last?.lastSeq ?? '?'} of ${expectedLastSeq}, backlog ${last?.backlog ?? '?'} messages`);
  }
}

/**
 * Polls until the stream's last sequence is ≥ `expectedLastSeq` and the
 * backlog is 0; resolves with `performance.now()` of the first poll that saw
 * it. `abort` (e.g. the ingest child failed) ends the wait with its reason.
 */
export async function waitUntilCollected(
  jsm: JetStreamManager,
  cfg: Config,
  o: { expectedLastSeq: number; timeoutMs: number; intervalMs?: number; abort?: AbortSignal },
): Promise<{ at: number; progress: StreamProgress }> {
  const deadline = Date.now() + o.timeoutMs;
  let last: StreamProgress | undefined;
  for (;;) {
    o.abort?.throwIfAborted();
    last = await streamProgress(jsm, cfg);
    const at = performance.now();
    if (last.lastSeq >= o.expectedLastSeq && last.backlog === 0) return { at, progress: last };
    if (Date.now() > deadline) throw new CollectionTimeoutError(o.expectedLastSeq, last, o.timeoutMs);
    await sleep(o.intervalMs ?? 100);
  }
}

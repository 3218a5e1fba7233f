/**
 * The JetStream baseline: the batches `ingest` would publish for a file,
 * already encoded, published straight to a stream of their own (file storage
 * and message-size limit like the telemetry stream, no consumers), with
 * `Nats-Msg-Id` and the same number of publishes in flight as `ingest`. No
 * parse, no collection.
 */
import { DiscardPolicy, RetentionPolicy, StorageType, nanos, type JetStreamManager, type NatsConnection, type PubAck } from 'nats';
import { DUPLICATE_WINDOW_MS, STREAM_MAX_MSG_BYTES } from '../../lib/stream/jetstream.ts';
import type { RawBatch } from './bench-data.ts';

export const RAW_STREAM = 'BENCH_RAW';
/** ingestFile's default publish pipelining depth. */
export const INGEST_IN_FLIGHT = 16;

/** Publishes every batch; resolves with the seconds until the last ack and the stream's message count afterwards. */
export async function publishRaw(nc: NatsConnection, jsm: JetStreamManager, batches: readonly RawBatch[], inFlight = INGEST_IN_FLIGHT): Promise<{ seconds: number; stored: number }> {
  await jsm.streams.add({
    name: RAW_STREAM,
    subjects: ['bench.raw.*'],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_msg_size: STREAM_MAX_MSG_BYTES,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  });
  const js = nc.jetstream();
  const pending = new Set<Promise<PubAck>>();
  const t0 = performance.now();
  for (const b of batches) {
    const p = js.publish(`bench.raw.${b.partition}`, b.data, { msgID: `bench:p${b.partition}:b${b.seq}`, timeout: 30_000 });
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => {});
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  const seconds = (performance.now() - t0) / 1_000;
  const stored = (await jsm.streams.info(RAW_STREAM)).state.messages;
  await jsm.streams.delete(RAW_STREAM);
  return { seconds, stored };
}

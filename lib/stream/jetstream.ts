/**
 * JetStream topology, created idempotently from config at start-up:
 * - stream TELEMETRY on `telemetry.p.*` (file storage, interest retention,
 *   discard new, capacity QUEUE_SIZE messages / QUEUE_MAX_BYTES of backlog,
 *   2-minute duplicate window);
 * - one durable pull consumer per partition (`collector-p<N>`);
 * - stream TELEMETRY_DLQ for poison batches, with the reason in headers;
 * - KV bucket for collector state that must survive worker restarts.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  connect,
  nanos,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import type { Config } from '../config.ts';
import { collectorWorkflowId } from '../temporal-names.ts';

export type StreamConfig = Pick<
  Config,
  'STREAM_NAME' | 'SUBJECT_PREFIX' | 'QUEUE_SIZE' | 'QUEUE_MAX_BYTES' | 'VISIBILITY_TIMEOUT' | 'PARTITIONS_PER_TOPIC' | 'STREAM_REPLICAS'
> &
  // Unset → the config defaults (callers that build a StreamConfig by hand need not know the DLQ's size).
  Partial<Pick<Config, 'DLQ_MAX_MSGS' | 'DLQ_MAX_BYTES'>>;

export const DUPLICATE_WINDOW_MS = 120_000;
/**
 * The stream's max_msg_size (headers + payload). Batches are cut below
 * min(this, the server's max_payload) − headroom (`messageByteLimit`), so a
 * batch the server accepts on the wire is never refused by the stream. The
 * local stack's nats-server runs with max_payload 8 MB (≥ this) so this is the
 * binding limit there; against a server with the default 1 MiB max_payload
 * batches are simply cut smaller.
 */
export const STREAM_MAX_MSG_BYTES = 4 * 1024 * 1024;
export const STATE_BUCKET = 'collector_state';

export function dlqStreamName(cfg: Pick<Config, 'STREAM_NAME'>): string {
  return `${cfg.STREAM_NAME}_DLQ`;
}
export function dlqSubject(cfg: Pick<Config, 'SUBJECT_PREFIX'>, partition: number): string {
  return `${cfg.SUBJECT_PREFIX.replace(/\.p$/, '')}.dlq.${partition}`;
}
export function consumerName(partition: number): string {
  return collectorWorkflowId(partition);
}

/**
 * Largest message (headers included) this connection may publish to the
 * telemetry stream: the server's max_payload, read from its INFO (never
 * assumed), capped by STREAM_MAX_MSG_BYTES.
 */
export function messageByteLimit(nc: Pick<NatsConnection, 'info'>): number {
  const maxPayload = nc.info?.max_payload;
  if (typeof maxPayload !== 'number' || !(maxPayload > 0))
    throw new Error('the NATS server did not announce max_payload in its INFO; cannot size batches (is the connection open?)');
  return Math.min(maxPayload, STREAM_MAX_MSG_BYTES);
}

export async function connectNats(url: string, name = 'telemetry-stack'): Promise<NatsConnection> {
  // noAsyncTraces: otherwise every request (each publish ack, ackAck, KV put, pull) builds two
  // Errors with stack traces up front, in case it times out — at fleet scale (one KV put per
  // device per state flush) that was the collector's largest cost after GC. A timeout still
  // rejects with a NatsError naming it; it only lacks the caller's async stack.
  return connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 500, noAsyncTraces: true });
}

/**
 * Creates or updates the stream, the DLQ, the KV bucket and one consumer per
 * partition. Safe to call from every process at start-up.
 *
 * Consumers use max_deliver = -1 on purpose: a bounded max_deliver silently
 * stops redelivering a batch after N attempts, so an InfluxDB outage longer
 * than N × ack_wait would lose data. Only data is poison: the collector moves
 * undecodable batches, and the lines InfluxDB rejects by content, to the DLQ;
 * every other failure holds the backlog and retries.
 */
/** Unacked batches a partition consumer hands out; the collector flushes (and acks) before it holds half of them. */
export const MAX_ACK_PENDING = 1_000;

/** The DLQ's size when the config does not say (the same as lib/config.ts's defaults). */
const DLQ_DEFAULT_MAX_MSGS = 1_000_000;
const DLQ_DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;

export async function ensureTopology(jsm: JetStreamManager, cfg: StreamConfig): Promise<void> {
  const subjects = [`${cfg.SUBJECT_PREFIX}.*`];
  const streamCfg = {
    name: cfg.STREAM_NAME,
    subjects,
    storage: StorageType.File,
    // Interest: a batch leaves the stream once every consumer has acked it, so
    // QUEUE_SIZE bounds the backlog, not the total ever ingested. (Limits
    // retention would keep acked batches and refuse all ingestion once full.)
    retention: RetentionPolicy.Interest,
    discard: DiscardPolicy.New,
    max_msgs: cfg.QUEUE_SIZE,
    max_bytes: cfg.QUEUE_MAX_BYTES,
    max_msg_size: STREAM_MAX_MSG_BYTES,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    num_replicas: cfg.STREAM_REPLICAS,
  };
  await upsertStream(jsm, streamCfg);
  await upsertStream(jsm, {
    name: dlqStreamName(cfg),
    subjects: [dlqSubject(cfg, 0).replace(/\.0$/, '.*')],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    // New, not Old: a full DLQ refuses the move, so the collector holds the poison batch and retries
    // (operational alert) instead of silently dropping the oldest dead letter to make room.
    discard: DiscardPolicy.New,
    max_msgs: cfg.DLQ_MAX_MSGS ?? DLQ_DEFAULT_MAX_MSGS,
    max_bytes: cfg.DLQ_MAX_BYTES ?? DLQ_DEFAULT_MAX_BYTES,
    num_replicas: cfg.STREAM_REPLICAS,
  });
  for (let p = 0; p < cfg.PARTITIONS_PER_TOPIC; p++) {
    const durable = consumerName(p);
    const consumerCfg = {
      durable_name: durable,
      filter_subject: `${cfg.SUBJECT_PREFIX}.${p}`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(cfg.VISIBILITY_TIMEOUT * 1_000),
      max_deliver: -1,
      max_ack_pending: MAX_ACK_PENDING,
    };
    try {
      await jsm.consumers.info(cfg.STREAM_NAME, durable);
      await jsm.consumers.update(cfg.STREAM_NAME, durable, { ack_wait: consumerCfg.ack_wait, max_ack_pending: MAX_ACK_PENDING });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(cfg.STREAM_NAME, consumerCfg);
    }
  }
  const js = jsm.jetstream();
  await js.views.kv(STATE_BUCKET, { history: 1, replicas: cfg.STREAM_REPLICAS });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function upsertStream(jsm: JetStreamManager, cfg: any): Promise<void> {
  try {
    await jsm.streams.info(cfg.name);
    await jsm.streams.update(cfg.name, cfg);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(cfg);
  }
}

export function isNotFound(err: unknown): boolean {
  const e = err as { api_error?: { code?: number }; code?: string; message?: string };
  return e?.api_error?.code === 404 || e?.code === '404' || /not found/i.test(e?.message ?? '');
}

/** JetStream answered that the stream is at capacity (discard new). */
export function isStreamFull(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number; description?: string }; message?: string };
  const text = `${e?.api_error?.description ?? ''} ${e?.message ?? ''}`;
  return /maximum (messages|bytes)/i.test(text) || e?.api_error?.err_code === 10077 || e?.api_error?.err_code === 10047;
}

/** Pending (not yet delivered) + ack-pending messages of each partition's consumer: the backlog. */
export async function consumerLag(jsm: JetStreamManager, cfg: StreamConfig): Promise<Record<number, { pending: number; ackPending: number; redelivered: number }>> {
  const out: Record<number, { pending: number; ackPending: number; redelivered: number }> = {};
  for (let p = 0; p < cfg.PARTITIONS_PER_TOPIC; p++) {
    try {
      const ci = await jsm.consumers.info(cfg.STREAM_NAME, consumerName(p));
      out[p] = { pending: ci.num_pending, ackPending: ci.num_ack_pending, redelivered: ci.num_redelivered };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return out;
}

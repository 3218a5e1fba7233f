/** prom-client metrics of the streamer (parse + publish). Registered on the default registry. */
import { Counter, Histogram } from 'prom-client';

export const publishMetrics = {
  messages: new Counter({
    name: 'telemetry_publish_messages_total',
    help: 'JetStream publishes by result (stored, duplicate, failed)',
    labelNames: ['result'] as const,
  }),
  retries: new Counter({ name: 'telemetry_publish_retries_total', help: 'Publish attempts retried after an error' }),
  full: new Counter({ name: 'telemetry_publish_stream_full_total', help: 'Publishes refused because the stream was full' }),
  batchPoints: new Histogram({
    name: 'telemetry_publish_batch_points',
    help: 'Points per published batch',
    buckets: [1, 10, 100, 500, 1_000, 2_000, 5_000, 10_000],
  }),
};

export const parseMetrics = {
  rows: new Counter({ name: 'telemetry_parse_rows_total', help: 'Data rows read', labelNames: ['format'] as const }),
  points: new Counter({ name: 'telemetry_parse_points_total', help: 'Points accepted', labelNames: ['format'] as const }),
  rejected: new Counter({ name: 'telemetry_parse_rejected_total', help: 'Rows/values rejected', labelNames: ['format'] as const }),
};

/** Dead-letter replays (lib/stream/dlq.ts), by reason kind. */
export const dlqMetrics = {
  replayed: new Counter({ name: 'telemetry_dlq_replayed_total', help: 'Dead letters republished to their original subject and removed from the DLQ', labelNames: ['kind'] as const }),
  replayFailed: new Counter({ name: 'telemetry_dlq_replay_failed_total', help: 'Dead-letter replays that failed (left in the DLQ)', labelNames: ['kind'] as const }),
};

/** prom-client metrics of the collectors, exposed on each worker's /metrics. */
import { Counter, Gauge, Histogram } from 'prom-client';

export const collectMetrics = {
  batches: new Counter({ name: 'telemetry_collect_batches_total', help: 'Batches written and acked', labelNames: ['partition'] as const }),
  points: new Counter({ name: 'telemetry_collect_points_total', help: 'Points written to InfluxDB', labelNames: ['partition'] as const }),
  dlq: new Counter({ name: 'telemetry_collect_dlq_total', help: 'Poison batches moved to the dead-letter stream', labelNames: ['reason'] as const }),
  writeErrors: new Counter({ name: 'telemetry_collect_write_errors_total', help: 'InfluxDB write failures', labelNames: ['kind'] as const }),
  writeSeconds: new Histogram({
    name: 'telemetry_influx_write_seconds',
    help: 'InfluxDB write latency per fetched group of batches',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  lag: new Gauge({ name: 'telemetry_consumer_lag_messages', help: 'Batches not yet collected (pending + ack-pending)', labelNames: ['partition'] as const }),
  healthScored: new Counter({ name: 'telemetry_health_points_total', help: 'Points scored by the health model', labelNames: ['class'] as const }),
  alertEvents: new Counter({ name: 'telemetry_alert_events_total', help: 'Rule transitions', labelNames: ['type'] as const }),
};

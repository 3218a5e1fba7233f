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
  healthLines: new Counter({ name: 'telemetry_health_lines_total', help: 'gpu_health lines written (on change, while not healthy, and at least every HEALTH_WRITE_EVERY_S)', labelNames: ['partition'] as const }),
  healthScored: new Counter({ name: 'telemetry_health_points_total', help: 'Points scored by the health model', labelNames: ['class'] as const }),
  alertEvents: new Counter({ name: 'telemetry_alert_events_total', help: 'Rule transitions', labelNames: ['type'] as const }),
  dlqPoints: new Counter({ name: 'telemetry_collect_dlq_points_total', help: 'Points dead-lettered (only the lines InfluxDB rejected)', labelNames: ['reason'] as const }),
  held: new Counter({
    name: 'telemetry_collect_held_total',
    help: 'Fetched groups held back (not acked, not dead-lettered) because InfluxDB answered about us: auth, not found, config, transient',
    labelNames: ['partition', 'kind'] as const,
  }),
  stateDevices: new Gauge({ name: 'telemetry_collect_state_devices', help: 'Device records in the collector state (per partition)', labelNames: ['partition'] as const }),
  stateBytes: new Gauge({ name: 'telemetry_collect_state_bytes', help: 'Encoded size of the device records in the collector state (per partition)', labelNames: ['partition'] as const }),
  stateRecordBytes: new Histogram({
    name: 'telemetry_collect_state_record_bytes',
    help: 'Encoded size of one device record when written',
    buckets: [128, 256, 512, 1_024, 2_048, 4_096, 16_384, 65_536],
  }),
  stateWrites: new Counter({ name: 'telemetry_collect_state_writes_total', help: 'Device/partition records written (compare-and-set)', labelNames: ['partition'] as const }),
  stateConflicts: new Counter({ name: 'telemetry_collect_state_conflicts_total', help: 'Compare-and-set conflicts (another attempt wrote newer state)', labelNames: ['partition'] as const }),
  statePruned: new Counter({ name: 'telemetry_collect_state_pruned_total', help: 'Device records deleted (silent too long, or beyond the per-partition bound)', labelNames: ['partition'] as const }),
  stateLoadSeconds: new Histogram({ name: 'telemetry_collect_state_load_seconds', help: 'Time to load one partition\'s state from KV', buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30] }),
  opsAlerts: new Gauge({ name: 'telemetry_collect_ops_alert', help: 'Operational alerts currently raised by the collector (1 = raised)', labelNames: ['partition', 'kind'] as const }),
};

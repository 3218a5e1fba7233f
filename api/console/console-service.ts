/**
 * Reads behind the console's pages that the JSON API did not have yet: the
 * fleet with health and KPIs, downsampled history (`aggregateWindow`), a
 * device's health timeline and driver signals, and the pipeline (collector
 * `stats` queries, JetStream stream and DLQ sizes, task-queue pollers, links
 * into the Temporal UI). Over the real clients; every per-device and
 * per-partition structure is bounded (see the constants).
 */
import { flux, fluxDateTime, fluxDuration, InfluxDB, type QueryApi } from '@influxdata/influxdb-client';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { JetStreamManager } from 'nats';
import { MEASUREMENT } from '../../lib/influx/line-protocol.ts';
import { HEALTH_MEASUREMENT } from '../../lib/health/measurements.ts';
import type { InfluxTarget } from '../../lib/influx/writer.ts';
import { collectorWorkflowId, TASK_QUEUES } from '../../lib/temporal-names.ts';
import { statsQuery, type CollectorStats } from '../../workflows/partition-collector.ts';
import type { AlertsService, QueryService } from '../services.ts';
import { assembleFleet, KPI_ALERT_WINDOW, type FleetView, type HealthInput } from './fleet-view.ts';
import { downsampleEverySeconds, healthSegments, type HealthSegment } from './health-segments.ts';

/** The driver's own verdicts, shown on the device page (lib/point.ts FIELD_DOCS). */
export const DRIVER_SIGNAL_FIELDS = [
  'xid',
  'ecc_dbe',
  'ecc_dbe_volatile',
  'ecc_sbe',
  'gpu_recovery_action',
  'remapped_rows_uncorrectable',
  'remapped_rows_pending',
  'remapped_rows_failure',
  'retired_pages_dbe',
  'retired_pages_pending',
  'temp_headroom_c',
  'throttle_thermal',
  'throttle_hw_slowdown',
  'throttle_power',
  'fabric_state',
] as const;
/** Most fields one history request may ask for. */
export const MAX_HISTORY_FIELDS = 8;
/** Health samples read per timeline request (the segments are far fewer). */
const MAX_HEALTH_SAMPLES = 5_000;
/** Acknowledgement times remembered for the MTTA KPI (alert id → time); oldest dropped first. */
const MAX_ACK_CACHE = 1_000;
/** An alert without an ack is asked again after this long. */
const NO_ACK_RECHECK_MS = 30_000;
/** Collector `stats` queries in flight at once (PARTITIONS_PER_TOPIC may be up to 1024). */
const STATS_CONCURRENCY = 16;

export interface HistoryResult {
  device: string;
  everySeconds: number;
  from: string;
  to: string;
  series: { field: string; points: { time: string; value: number }[] }[];
}
export interface DeviceHealthResult {
  device: string;
  segments: HealthSegment[];
  latest: { time: string; class: string; score: number; reasons: string[] } | null;
  signals: { field: string; value: number; time: string }[];
}
export interface PartitionView {
  partition: number;
  workflowId: string;
  status: string;
  stats: CollectorStats | null;
  error?: string;
  temporalUrl: string | null;
}
export interface PipelineView {
  partitions: PartitionView[];
  stream: { messages: number; bytes: number } | null;
  dlq: { messages: number; bytes: number } | null;
  workers: { taskQueue: string; pollers: number; lastAccess: string | null }[];
  pointsWritten: number;
  pointsPerSecond: number | null;
  temporalUi: string | null;
  generatedAt: string;
}

export interface ConsoleService {
  fleet(limit: number): Promise<FleetView>;
  history(input: { device: string; fields: string[]; from: string; to: string; points: number }): Promise<HistoryResult>;
  deviceHealth(input: { device: string; from: string; to: string }): Promise<DeviceHealthResult>;
  pipeline(): Promise<PipelineView>;
  /** Temporal UI link of a workflow (null: no UI configured). */
  workflowUrl(workflowId: string): string | null;
}

export interface ConsoleServiceDeps {
  influx: InfluxTarget;
  client: Client;
  namespace: string;
  jsm: JetStreamManager;
  streamName: string;
  dlqStreamName: string;
  partitions: number;
  alerts: AlertsService;
  query: QueryService;
  temporalUi: string | null;
  now?: () => number;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

export function createConsoleService(deps: ConsoleServiceDeps): ConsoleService {
  const q: QueryApi = new InfluxDB({ url: deps.influx.url, token: deps.influx.token, timeout: deps.influx.timeoutMs ?? 30_000 }).getQueryApi(deps.influx.org);
  const bucket = deps.influx.bucket;
  const now = deps.now ?? Date.now;
  const ackAt = new Map<string, string>();
  const noAckUntil = new Map<string, number>();
  let lastTotal: { at: number; points: number } | undefined;
  let lastRate: number | null = null;

  const workflowUrl = (id: string) =>
    deps.temporalUi ? `${deps.temporalUi.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(deps.namespace)}/workflows/${encodeURIComponent(id)}` : null;

  async function latestHealth(): Promise<Map<string, HealthInput>> {
    const rows = await q.collectRows<{ device: string; _field: string; _value: unknown; _time: string }>(flux`from(bucket: ${bucket})
  |> range(start: ${fluxDateTime('1970-01-01T00:00:00Z')})
  |> filter(fn: (r) => r._measurement == ${HEALTH_MEASUREMENT})
  |> group(columns: ["device", "_field"])
  |> last()`);
    const by = new Map<string, HealthInput>();
    for (const r of rows) {
      const h = by.get(r.device) ?? { class: 'unknown', score: Number.NaN, reasons: '', time: r._time };
      if (r._field === 'class') h.class = String(r._value);
      else if (r._field === 'score') h.score = Number(r._value);
      else if (r._field === 'reasons') h.reasons = String(r._value ?? '');
      by.set(r.device, h);
    }
    return by;
  }

  async function latestField(field: string): Promise<Map<string, number>> {
    const rows = await q.collectRows<{ device: string; _value: number }>(flux`from(bucket: ${bucket})
  |> range(start: ${fluxDateTime('1970-01-01T00:00:00Z')})
  |> filter(fn: (r) => r._measurement == ${MEASUREMENT} and r._field == ${field})
  |> group(columns: ["device"])
  |> last()`);
    return new Map(rows.map((r) => [r.device, Number(r._value)]));
  }

  /** Acknowledgement times of the KPI window (state queries, remembered: an ack never changes). */
  async function ackTimes(ids: string[]): Promise<Map<string, string>> {
    const t = now();
    const ask = ids.filter((id) => !ackAt.has(id) && (noAckUntil.get(id) ?? 0) < t);
    await mapLimit(ask, 8, async (id) => {
      const state = (await deps.alerts.get(id).catch(() => undefined)) as { ack?: { at: string } } | undefined;
      if (state?.ack?.at) {
        ackAt.set(id, state.ack.at);
        noAckUntil.delete(id);
        if (ackAt.size > MAX_ACK_CACHE) ackAt.delete(ackAt.keys().next().value!);
      } else {
        noAckUntil.set(id, t + NO_ACK_RECHECK_MS);
        if (noAckUntil.size > MAX_ACK_CACHE) noAckUntil.delete(noAckUntil.keys().next().value!);
      }
    });
    return ackAt;
  }

  async function collectorStats(): Promise<PartitionView[]> {
    const parts = Array.from({ length: deps.partitions }, (_, p) => p);
    return mapLimit(parts, STATS_CONCURRENCY, async (partition) => {
      const workflowId = collectorWorkflowId(partition);
      const h = deps.client.workflow.getHandle(workflowId);
      try {
        const d = await h.describe();
        const stats = d.status.name === 'RUNNING' ? await h.query(statsQuery) : null;
        return { partition, workflowId, status: d.status.name, stats, temporalUrl: workflowUrl(workflowId) };
      } catch (err) {
        const status = err instanceof WorkflowNotFoundError ? 'NOT_FOUND' : 'UNKNOWN';
        return { partition, workflowId, status, stats: null, error: (err as Error).message.slice(0, 300), temporalUrl: workflowUrl(workflowId) };
      }
    });
  }

  /** Points/s from the collectors' running totals between two calls (the API does not ingest itself). */
  function rate(total: number): number | null {
    const t = now();
    if (lastTotal && t - lastTotal.at >= 1_000) {
      lastRate = Math.max(0, ((total - lastTotal.points) * 1_000) / (t - lastTotal.at));
      lastTotal = { at: t, points: total };
    } else if (!lastTotal) lastTotal = { at: t, points: total };
    return lastRate;
  }

  async function pointsTotal(parts: PartitionView[]): Promise<number> {
    return parts.reduce((s, p) => s + (p.stats?.pointsWritten ?? 0), 0);
  }

  const streamSize = (name: string) =>
    deps.jsm.streams.info(name).then(
      (i) => ({ messages: i.state.messages, bytes: i.state.bytes }),
      () => null,
    );

  async function pollers(taskQueue: string) {
    const r = await deps.client.workflowService
      .describeTaskQueue({ namespace: deps.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 })
      .catch(() => undefined);
    const list = r?.pollers ?? [];
    let last: number | null = null;
    for (const p of list) {
      const s = p.lastAccessTime?.seconds;
      const ms = s === undefined || s === null ? null : Number(s) * 1_000 + Math.floor((p.lastAccessTime?.nanos ?? 0) / 1e6);
      if (ms !== null && (last === null || ms > last)) last = ms;
    }
    return { taskQueue, pollers: list.length, lastAccess: last === null ? null : new Date(last).toISOString() };
  }

  return {
    workflowUrl,
    async fleet(limit) {
      const alerts = await deps.alerts.list({ limit: KPI_ALERT_WINDOW });
      const [devices, health, util, parts] = await Promise.all([
        deps.query.devices(),
        latestHealth(),
        latestField('util_gpu_pct'),
        collectorStats(),
      ]);
      const acks = await ackTimes(alerts.map((a) => a.id));
      return assembleFleet({ devices, health, utilGpuPct: util, alerts, ackAt: acks, pointsPerSecond: rate(await pointsTotal(parts)), now: now(), limit });
    },
    async history({ device, fields, from, to, points }) {
      const fromMs = Date.parse(from);
      const toMs = Date.parse(to);
      const every = downsampleEverySeconds(fromMs, toMs, points);
      const rows = await q.collectRows<{ _field: string; _time: string; _value: number }>(flux`from(bucket: ${bucket})
  |> range(start: ${fluxDateTime(new Date(fromMs).toISOString())}, stop: ${fluxDateTime(new Date(toMs).toISOString())})
  |> filter(fn: (r) => r._measurement == ${MEASUREMENT} and r.device == ${device} and contains(value: r._field, set: ${fields}))
  |> keep(columns: ["_time", "_value", "_field"])
  |> group(columns: ["_field"])
  |> aggregateWindow(every: ${fluxDuration(`${every}s`)}, fn: mean, createEmpty: false)`);
      const by = new Map<string, { time: string; value: number }[]>(fields.map((f) => [f, []]));
      for (const r of rows) by.get(r._field)?.push({ time: r._time, value: r._value });
      return {
        device,
        everySeconds: every,
        from: new Date(fromMs).toISOString(),
        to: new Date(toMs).toISOString(),
        series: [...by].map(([field, pts]) => ({ field, points: pts })),
      };
    },
    async deviceHealth({ device, from, to }) {
      const range = { start: fluxDateTime(new Date(from).toISOString()), stop: fluxDateTime(new Date(to).toISOString()) };
      const [samples, signals] = await Promise.all([
        q.collectRows<{ _time: string; class?: string; score?: number; reasons?: string }>(flux`from(bucket: ${bucket})
  |> range(start: ${range.start}, stop: ${range.stop})
  |> filter(fn: (r) => r._measurement == ${HEALTH_MEASUREMENT} and r.device == ${device})
  |> keep(columns: ["_time", "_field", "_value"])
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> sort(columns: ["_time"])
  |> tail(n: ${MAX_HEALTH_SAMPLES})`),
        q.collectRows<{ _field: string; _value: number; _time: string }>(flux`from(bucket: ${bucket})
  |> range(start: ${fluxDateTime('1970-01-01T00:00:00Z')})
  |> filter(fn: (r) => r._measurement == ${MEASUREMENT} and r.device == ${device} and contains(value: r._field, set: ${[...DRIVER_SIGNAL_FIELDS]}))
  |> group(columns: ["_field"])
  |> last()`),
      ]);
      const norm = samples.map((s) => ({ time: s._time, class: String(s.class ?? 'unknown'), score: Number(s.score ?? Number.NaN), reasons: String(s.reasons ?? '') }));
      const last = norm[norm.length - 1];
      return {
        device,
        segments: healthSegments(norm),
        latest: last ? { time: last.time, class: last.class, score: last.score, reasons: last.reasons.split(',').filter(Boolean) } : null,
        signals: signals
          .map((s) => ({ field: s._field, value: Number(s._value), time: s._time }))
          .sort((a, b) => DRIVER_SIGNAL_FIELDS.indexOf(a.field as never) - DRIVER_SIGNAL_FIELDS.indexOf(b.field as never)),
      };
    },
    async pipeline() {
      const [parts, stream, dlq, workers] = await Promise.all([
        collectorStats(),
        streamSize(deps.streamName),
        streamSize(deps.dlqStreamName),
        Promise.all([pollers(TASK_QUEUES.collect), pollers(TASK_QUEUES.alerts)]),
      ]);
      const total = await pointsTotal(parts);
      return {
        partitions: parts,
        stream,
        dlq,
        workers,
        pointsWritten: total,
        pointsPerSecond: rate(total),
        temporalUi: deps.temporalUi,
        generatedAt: new Date(now()).toISOString(),
      };
    },
  };
}

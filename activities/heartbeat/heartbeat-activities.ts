/**
 * The pipeline's own heartbeat check (run by the alerts worker, see
 * workflows/pipeline-heartbeat.ts). Three findings, each its own alert on
 * device `pipeline`, raised once and recovered when the cause is gone:
 *
 * - `heartbeat-collector-stopped`: no worker has polled the collect task
 *   queue for HEARTBEAT_STALL_S (the worker is down or cut off) while the
 *   partition collectors exist (a stack that never collected is not stopped);
 * - `heartbeat-collector-lag`: a partition's backlog waits while nothing is
 *   consumed (delivered sequence unchanged) for HEARTBEAT_LAG_S;
 * - `heartbeat-no-data`: no batch reached the stream for HEARTBEAT_NO_DATA_S
 *   (ingestion stopped; off by default).
 *
 * Alerts go through the escalation workflow like any other (policy
 * `pipeline` of the policy file, so they can page another channel/team than
 * the failing path) and are idempotent (signal-with-start on the business key).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { JetStreamManager } from 'nats';
import type { AlertInput } from '../../lib/alerts/types.ts';
import type { Logger } from '../../lib/logger.ts';
import { consumerName } from '../../lib/stream/jetstream.ts';
import { TASK_QUEUES, collectorWorkflowId } from '../../lib/temporal-names.ts';
import { OPS_DEVICE } from '../collect/collect-activities.ts';
import type { CheckPipelineInput, CheckPipelineResult, HeartbeatActivities, HeartbeatMemory } from './heartbeat-types.ts';

export const HEARTBEAT_RULES = {
  stopped: 'heartbeat-collector-stopped',
  lag: 'heartbeat-collector-lag',
  noData: 'heartbeat-no-data',
} as const;

export interface HeartbeatDeps {
  client: Client;
  namespace: string;
  /** Absent: only the poller check runs. */
  jsm?: JetStreamManager;
  streamName: string;
  partitions: number;
  stallMs: number;
  lagMs: number;
  /** 0 = off. */
  noDataMs: number;
  alerts: { fire(alert: AlertInput): Promise<void>; recovered(alert: AlertInput): Promise<void> };
  logger: Logger;
  now?: () => number;
}

interface Finding {
  rule: string;
  summary: string;
  values: Record<string, number>;
}

const tsMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined =>
  t?.seconds == null ? undefined : Number(t.seconds) * 1_000 + Math.floor((t.nanos ?? 0) / 1e6);

export function createHeartbeatActivities(deps: HeartbeatDeps) {
  const now = deps.now ?? Date.now;

  /** Newest poll of the collect task queue (workflow or activity tasks), ms; undefined = no poller listed. */
  async function lastCollectPollMs(): Promise<number | undefined> {
    let newest: number | undefined;
    for (const taskQueueType of [1, 2]) {
      const r = await deps.client.workflowService.describeTaskQueue({ namespace: deps.namespace, taskQueue: { name: TASK_QUEUES.collect }, taskQueueType });
      for (const p of r.pollers ?? []) {
        const t = tsMs(p.lastAccessTime);
        if (t !== undefined && (newest === undefined || t > newest)) newest = t;
      }
    }
    return newest;
  }

  /** True once the collect worker has started the partition collectors (collector-p0 is running). */
  async function collectionStarted(): Promise<boolean> {
    try {
      const d = await deps.client.workflow.getHandle(collectorWorkflowId(0)).describe();
      return d.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async function checkPipeline({ memory }: CheckPipelineInput): Promise<CheckPipelineResult> {
    const t = now();
    const findings: Finding[] = [];
    const lines: string[] = [];
    const next: HeartbeatMemory = { open: [...memory.open], partitions: {} };

    const polled = await lastCollectPollMs();
    const silentMs = polled === undefined ? Infinity : Math.max(0, t - polled);
    // Only a pipeline that collects can stop: before the collect worker first started its collectors
    // (a fresh install, an alerts-only test stack) there is nothing to watch yet.
    if (silentMs > deps.stallMs && (await collectionStarted())) {
      findings.push({
        rule: HEARTBEAT_RULES.stopped,
        summary: polled === undefined
          ? `no collect worker polls ${TASK_QUEUES.collect}: collection is stopped (telemetry waits in JetStream)`
          : `no collect worker has polled ${TASK_QUEUES.collect} for ${Math.round(silentMs / 1_000)} s: collection is stopped (telemetry waits in JetStream)`,
        values: { silent_s: polled === undefined ? -1 : Math.round(silentMs / 1_000) },
      });
    }
    lines.push(`collect pollers: ${polled === undefined ? 'none' : `last poll ${Math.round(silentMs / 1_000)} s ago`}`);

    if (deps.jsm) {
      let totalPending = 0;
      const stuck: { partition: number; pending: number; forS: number }[] = [];
      for (let p = 0; p < deps.partitions; p++) {
        const ci = await deps.jsm.consumers.info(deps.streamName, consumerName(p)).catch(() => undefined);
        if (!ci) continue; // not created yet: the collect worker creates consumers
        const pending = ci.num_pending + ci.num_ack_pending;
        const delivered = ci.delivered.stream_seq;
        totalPending += pending;
        const prev = memory.partitions[p];
        // Stuck = a backlog exists and the consumer delivered nothing new since the last check.
        const stuckSinceMs = pending > 0 && prev && prev.delivered === delivered ? (prev.stuckSinceMs ?? t) : undefined;
        next.partitions[p] = { pending, delivered, ...(stuckSinceMs !== undefined ? { stuckSinceMs } : {}) };
        if (stuckSinceMs !== undefined && t - stuckSinceMs >= deps.lagMs) stuck.push({ partition: p, pending, forS: Math.round((t - stuckSinceMs) / 1_000) });
      }
      if (stuck.length)
        findings.push({
          rule: HEARTBEAT_RULES.lag,
          summary: `backlog not consumed: ${stuck.slice(0, 10).map((s) => `p${s.partition} ${s.pending} batches for ${s.forS} s`).join(', ')}${stuck.length > 10 ? ` (+${stuck.length - 10} partitions)` : ''}`,
          values: { partitions: stuck.length, max_pending: Math.max(...stuck.map((s) => s.pending)) },
        });
      lines.push(`backlog: ${totalPending} batches${stuck.length ? `, ${stuck.length} partition(s) not consumed` : ''}`);

      if (deps.noDataMs > 0) {
        const si = await deps.jsm.streams.info(deps.streamName).catch(() => undefined);
        const lastMs = si?.state.last_ts ? Date.parse(si.state.last_ts) : undefined;
        const ageMs = lastMs && lastMs > 0 ? t - lastMs : undefined;
        if (si && (ageMs === undefined || ageMs > deps.noDataMs))
          findings.push({
            rule: HEARTBEAT_RULES.noData,
            summary: ageMs === undefined ? 'no telemetry batch has ever reached the stream' : `no telemetry batch reached the stream for ${Math.round(ageMs / 1_000)} s: ingestion stopped`,
            values: { age_s: ageMs === undefined ? -1 : Math.round(ageMs / 1_000) },
          });
        lines.push(`newest batch: ${ageMs === undefined ? 'never' : `${Math.round(ageMs / 1_000)} s ago`}`);
      }
    }

    const alert = (f: Pick<Finding, 'rule' | 'summary' | 'values'>): AlertInput => ({
      alertId: '',
      device: OPS_DEVICE,
      rule: f.rule,
      severity: f.rule === HEARTBEAT_RULES.noData ? 'warning' : 'critical',
      summary: f.summary,
      values: f.values,
      firedAt: new Date(t).toISOString(),
      host: 'pipeline-heartbeat',
    });
    const firing = new Set(findings.map((f) => f.rule));
    for (const f of findings) {
      if (next.open.includes(f.rule)) continue; // already open: one alert per episode
      await deps.alerts.fire(alert(f));
      next.open.push(f.rule);
      deps.logger.error({ rule: f.rule, summary: f.summary }, 'pipeline heartbeat alert raised');
    }
    for (const rule of memory.open) {
      if (firing.has(rule)) continue;
      await deps.alerts.recovered(alert({ rule, summary: 'recovered', values: {} }));
      next.open = next.open.filter((r) => r !== rule);
      deps.logger.info({ rule }, 'pipeline heartbeat alert recovered');
    }
    const details = [findings.length ? `**${findings.map((f) => f.rule).join(', ')}**` : '**pipeline OK**', ...lines].join('\n\n');
    return { memory: next, details, firing: [...firing] };
  }

  return { checkPipeline } satisfies HeartbeatActivities;
}

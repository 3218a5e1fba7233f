/**
 * partitionCollector: one long-running workflow per JetStream partition
 * (id `collector-p<N>`). Each iteration runs `collectPartition`, which moves
 * up to a bounded number of batches from the partition's consumer into
 * InfluxDB and acks them. The workflow only orchestrates: telemetry never
 * passes through its history (inputs and results are counts).
 *
 * An activity that exhausts its retries (InfluxDB down for long) does not
 * fail the workflow: the error is recorded in `stats`, the loop backs off and
 * tries again, and JetStream keeps the backlog.
 */
import {
  ActivityFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
  allHandlersFinished,
  log,
  setCurrentDetails,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { CollectActivities } from '../activities/collect/collect-activities.ts';

export interface CollectorRetryPolicy {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** Attempts per activity run before the workflow's own back-off loop takes over. */
  maximumAttempts: number;
}

export interface CollectorStats {
  partition: number;
  pointsWritten: number;
  batches: number;
  healthPoints: number;
  dlq: number;
  alertsFired: number;
  alertsRecovered: number;
  /** Batches waiting in the partition after the last iteration. */
  lag: number;
  iterations: number;
  activityFailures: number;
  lastError?: string;
  lastErrorAt?: string;
  lastBatchAt?: string;
  paused: boolean;
  runs: number;
  /** Where the collect activity's time went, ms, summed (fetch includes long-poll waits). */
  timingsMs?: Record<string, number>;
}

export interface PartitionCollectorInput {
  partition: number;
  retry: CollectorRetryPolicy;
  /** Fetch groups per activity run and its time budget. */
  maxFetches?: number;
  maxMs?: number;
  fetchMessages?: number;
  /** Carried over by continueAsNew. */
  stats?: CollectorStats;
}

/** Pause collection (the backlog stays in JetStream). */
export const pauseSignal = defineSignal('pause');
/** Resume collection after a pause. */
export const resumeSignal = defineSignal('resume');
/** Counters, lag and the last error of this collector. */
export const statsQuery = defineQuery<CollectorStats>('stats');

/** Iterations per run before continuing as new: keeps history far below Temporal's limits. */
const ITERATIONS_PER_RUN = 500;

/** "1.2 M", "34 k", "512": point counts as people read them. */
function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)} k`;
  return String(n);
}

/** The Temporal UI's current details: "p3: 1.2 M points, lag 0, last batch 2 s ago" (as of this update). */
function describeCollector(stats: CollectorStats): void {
  const now = Date.now();
  const ago = stats.lastBatchAt ? `${Math.max(0, Math.round((now - Date.parse(stats.lastBatchAt)) / 1_000))} s ago` : 'never';
  const lines = [`**p${stats.partition}: ${compact(stats.pointsWritten)} points, lag ${stats.lag}, last batch ${ago}**${stats.paused ? ' · PAUSED' : ''}`];
  lines.push(`${stats.batches} batches · ${stats.dlq} dead-lettered · alerts ${stats.alertsFired} fired / ${stats.alertsRecovered} recovered · run ${stats.runs} · updated ${new Date(now).toISOString()}`);
  if (stats.lastError) lines.push(`last error ${stats.lastErrorAt}: ${stats.lastError.slice(0, 300)}`);
  setCurrentDetails(lines.join('\n\n'));
}

export async function partitionCollector(input: PartitionCollectorInput): Promise<void> {
  const stats: CollectorStats = input.stats ?? {
    partition: input.partition,
    pointsWritten: 0,
    batches: 0,
    healthPoints: 0,
    dlq: 0,
    alertsFired: 0,
    alertsRecovered: 0,
    lag: 0,
    iterations: 0,
    activityFailures: 0,
    paused: false,
    runs: 0,
  };
  stats.runs++;
  setHandler(pauseSignal, () => void (stats.paused = true));
  setHandler(resumeSignal, () => void (stats.paused = false));
  setHandler(statsQuery, () => stats);

  const maxMs = input.maxMs ?? 10_000;
  const activityOptions = {
    // Long enough for maxMs of work plus one slow InfluxDB write; heartbeats catch a dead worker sooner.
    startToCloseTimeout: maxMs + 60_000,
    heartbeatTimeout: 30_000,
    retry: {
      initialInterval: input.retry.initialIntervalMs,
      backoffCoefficient: input.retry.backoffCoefficient,
      maximumInterval: input.retry.maximumIntervalMs,
      maximumAttempts: input.retry.maximumAttempts,
    },
  } satisfies ActivityOptions;
  const { collectPartition } = proxyActivities<CollectActivities>(activityOptions);
  // The activity's summary in the Temporal UI's event history.
  const summary = `p${input.partition}: JetStream → InfluxDB, ≤ ${input.maxFetches ?? 50} fetches or ${maxMs / 1_000} s`;

  describeCollector(stats);
  for (let i = 0; i < ITERATIONS_PER_RUN && !workflowInfo().continueAsNewSuggested; i++) {
    if (stats.paused) {
      describeCollector(stats);
      await condition(() => !stats.paused);
    }
    try {
      const r = await collectPartition.executeWithOptions({ ...activityOptions, summary }, [
        {
          partition: input.partition,
          maxFetches: input.maxFetches ?? 50,
          maxMs,
          fetchMessages: input.fetchMessages ?? 8,
        },
      ]);
      stats.iterations++;
      stats.pointsWritten += r.points;
      stats.batches += r.batches;
      stats.healthPoints += r.healthPoints;
      stats.dlq += r.dlq;
      stats.alertsFired += r.alertsFired;
      stats.alertsRecovered += r.alertsRecovered;
      stats.lag = r.lag;
      const t = (stats.timingsMs ??= {});
      for (const [k, v] of Object.entries(r.timings ?? {})) t[k] = Math.round((t[k] ?? 0) + v);
      if (r.batches > 0) stats.lastBatchAt = new Date().toISOString();
    } catch (err) {
      // Retries exhausted: record, back off, keep going. Nothing is lost (messages were not acked).
      stats.activityFailures++;
      stats.lastError = err instanceof ActivityFailure ? (err.cause?.message ?? err.message) : String(err);
      stats.lastErrorAt = new Date().toISOString();
      log.warn('collectPartition failed after retries; backing off', { partition: input.partition, error: stats.lastError });
      describeCollector(stats);
      await sleep(input.retry.maximumIntervalMs);
    }
    describeCollector(stats);
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof partitionCollector>({ ...input, stats });
}

/**
 * pipelineHeartbeat: one long-running workflow (id `pipeline-heartbeat`) on
 * the ALERTS task queue that watches collection from the outside. A stopped
 * collect worker cannot raise its own alert, so the check runs on the other
 * worker: every interval, `checkPipeline` looks at the collect task queue's
 * pollers, each partition's backlog and the stream's newest batch, and
 * raises/recovers `pipeline/heartbeat-*` alerts (the collector's own
 * `collect-stalled` / `influxdb-*` alerts stay the collector's: they carry
 * the precise InfluxDB answer). State (open alerts, per-partition backlog
 * memory) is carried here — bounded by the partition count.
 */
import { continueAsNew, log, proxyActivities, setCurrentDetails, sleep, workflowInfo, ActivityFailure, type ActivityOptions } from '@temporalio/workflow';
import type { HeartbeatActivities, HeartbeatMemory } from '../activities/heartbeat/heartbeat-types.ts';

/** The one heartbeat workflow's id (started by the alerts worker with USE_EXISTING). */
export const PIPELINE_HEARTBEAT_ID = 'pipeline-heartbeat';

export interface PipelineHeartbeatInput {
  intervalMs: number;
  memory?: HeartbeatMemory;
}

const CHECK_OPTIONS = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
} satisfies ActivityOptions;

/** Checks per run before continuing as new (each is ~one activity + one timer in history). */
const CHECKS_PER_RUN = 500;

export async function pipelineHeartbeat(input: PipelineHeartbeatInput): Promise<void> {
  const { checkPipeline } = proxyActivities<HeartbeatActivities>(CHECK_OPTIONS);
  let memory: HeartbeatMemory = input.memory ?? { open: [], partitions: {} };
  for (let i = 0; i < CHECKS_PER_RUN && !workflowInfo().continueAsNewSuggested; i++) {
    try {
      const r = await checkPipeline.executeWithOptions(
        { ...CHECK_OPTIONS, summary: 'check collect pollers, backlog, newest batch' },
        [{ memory }],
      );
      memory = r.memory;
      setCurrentDetails(r.details);
    } catch (err) {
      // The check itself failed (Temporal/NATS unreachable from here): say so, keep watching.
      const msg = err instanceof ActivityFailure ? (err.cause?.message ?? err.message) : String(err);
      log.warn('pipeline check failed', { error: msg });
      setCurrentDetails(`**check failed**: ${msg}`);
    }
    await sleep(input.intervalMs);
  }
  await continueAsNew<typeof pipelineHeartbeat>({ ...input, memory });
}

/** Starts one partitionCollector per partition, idempotently (USE_EXISTING). */
import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config.ts';
import { TASK_QUEUES, collectorWorkflowId } from '../lib/temporal-names.ts';
import type { partitionCollector } from '../workflows/partition-collector.ts';

export async function startCollectors(client: Client, cfg: Config): Promise<string[]> {
  const ids: string[] = [];
  for (let p = 0; p < cfg.PARTITIONS_PER_TOPIC; p++) {
    const workflowId = collectorWorkflowId(p);
    await client.workflow.start<typeof partitionCollector>('partitionCollector', {
      workflowId,
      taskQueue: TASK_QUEUES.collect,
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `Collector for partition ${p} (${cfg.SUBJECT_PREFIX}.${p} → InfluxDB ${cfg.INFLUXDB_BUCKET})`,
      args: [
        {
          partition: p,
          retry: {
            initialIntervalMs: cfg.RETRY_INITIAL_MS,
            backoffCoefficient: cfg.BACKOFF_FACTOR,
            maximumIntervalMs: cfg.RETRY_MAX_MS,
            maximumAttempts: cfg.RETRY_ATTEMPTS,
          },
        },
      ],
    });
    ids.push(workflowId);
  }
  return ids;
}

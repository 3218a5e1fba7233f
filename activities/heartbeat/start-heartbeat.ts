/**
 * Starts (or keeps) the one pipeline heartbeat workflow; the alerts worker
 * calls this at start-up. USE_EXISTING makes every worker replica's call
 * idempotent; HEARTBEAT_INTERVAL_S=0 stops a running one.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TASK_QUEUES } from '../../lib/temporal-names.ts';
import { PIPELINE_HEARTBEAT_ID, type pipelineHeartbeat } from '../../workflows/pipeline-heartbeat.ts';

export async function ensureHeartbeat(client: Client, intervalMs: number): Promise<'started' | 'running' | 'stopped' | 'off'> {
  if (intervalMs <= 0) {
    try {
      await client.workflow.getHandle(PIPELINE_HEARTBEAT_ID).terminate('HEARTBEAT_INTERVAL_S=0');
      return 'stopped';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'off';
      throw err;
    }
  }
  const handle = await client.workflow.start<typeof pipelineHeartbeat>('pipelineHeartbeat', {
    workflowId: PIPELINE_HEARTBEAT_ID,
    taskQueue: TASK_QUEUES.alerts,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [{ intervalMs }],
    staticSummary: 'Pipeline heartbeat: watches the collect workers from the alerts worker',
    staticDetails: `Every ${intervalMs / 1_000} s: collect task-queue pollers, per-partition backlog, newest batch → pipeline/heartbeat-* alerts`,
  });
  return handle.firstExecutionRunId ? 'started' : 'running';
}

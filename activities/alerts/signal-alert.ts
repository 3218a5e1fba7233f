/**
 * Opens (or feeds) the escalation workflow of an alert from the collector's
 * activity: a workflow cannot signal-with-start another workflow, so the
 * activity that finds a firing rule does it through a Temporal client.
 *
 * signalWithStart on the deterministic id `alert-<device>-<rule>` means a
 * flapping or duplicated firing reaches the ONE running workflow (as a
 * harmless `firingAgain` signal) instead of opening another; after the alert
 * resolved (workflow closed) the next firing starts a fresh run under the
 * same id (reuse policy ALLOW_DUPLICATE).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { AlertInput } from '../../lib/alerts/types.ts';
import type { EscalationPolicy } from '../../lib/alerts/policy.ts';
import { alertWorkflowId } from '../../lib/alerts/ids.ts';
import type { alertEscalation } from '../../workflows/alert-escalation.ts';
import { ALERTS_TASK_QUEUE, firingAgainSignal, recoveredSignal } from '../../workflows/alert-messages.ts';

export interface AlertSignallerOptions {
  client: Client;
  /** Defaults to `telemetry-alerts`. */
  taskQueue?: string;
  /** Escalation policy for a new alert (e.g. per severity). */
  policyFor(alert: AlertInput): EscalationPolicy;
}

export interface AlertSignaller {
  /** Starts the alert's workflow, or signals `firingAgain` to the running one. */
  fire(alert: AlertInput): Promise<void>;
  /** Signals `recovered` to the running workflow; a no-op when there is none. */
  recovered(alert: AlertInput, at?: string): Promise<void>;
}

export function createAlertSignaller({ client, taskQueue = ALERTS_TASK_QUEUE, policyFor }: AlertSignallerOptions): AlertSignaller {
  return {
    async fire(alert) {
      const workflowId = alertWorkflowId(alert.device, alert.rule);
      await client.workflow.signalWithStart<typeof alertEscalation, [{ at: string; values: Record<string, number> }]>(
        'alertEscalation',
        {
          workflowId,
          taskQueue,
          args: [{ alert: { ...alert, alertId: workflowId }, policy: policyFor(alert) }],
          signal: firingAgainSignal,
          signalArgs: [{ at: alert.firedAt, values: alert.values }],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        },
      );
    },
    async recovered(alert, at = new Date().toISOString()) {
      const workflowId = alertWorkflowId(alert.device, alert.rule);
      try {
        await client.workflow.getHandle(workflowId).signal(recoveredSignal, { at });
      } catch (err) {
        // Already resolved (closed) or never opened: nothing to recover.
        if (err instanceof WorkflowNotFoundError) return;
        throw err;
      }
    },
  };
}

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
 *
 * Grouping (issue 10, lib/alerts/incident.ts): the workflow id comes from the
 * grouping key (`groupBy`, default `device,group`), so a device's firings of
 * one rule group land in ONE incident as `ruleFiring` signals; a rule without
 * a group keeps its own `alert-<device>-<rule>` workflow, exactly as before.
 * Shadow-mode rules never reach a workflow: they are recorded, nobody is paged.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { AlertInput } from '../../lib/alerts/types.ts';
import type { EscalationPolicy } from '../../lib/alerts/policy.ts';
import { alertWorkflowId } from '../../lib/alerts/ids.ts';
import { DEFAULT_GROUP_BY, incidentWorkflowId, type GroupKeyPart, type RuleFiringInput } from '../../lib/alerts/incident.ts';
import type { alertEscalation } from '../../workflows/alert-escalation.ts';
import { ALERTS_TASK_QUEUE, firingAgainSignal, recoveredSignal, ruleFiringSignal } from '../../workflows/alert-messages.ts';
import { createShadowLog, shadowRecordOf, type ShadowRecorder } from './shadow-log.ts';

export interface AlertSignallerOptions {
  client: Client;
  /** Defaults to `telemetry-alerts`. */
  taskQueue?: string;
  /** Escalation policy for a new alert (e.g. per severity). */
  policyFor(alert: AlertInput): EscalationPolicy;
  /** Incident grouping key (config ALERT_GROUP_BY); default `device,group`. */
  groupBy?: readonly GroupKeyPart[];
  /** Where shadow-mode firings are recorded; default a bounded in-process log + metric. */
  shadow?: ShadowRecorder;
}

export interface AlertSignaller {
  /** Starts the alert's workflow, or signals `firingAgain` to the running one. */
  fire(alert: AlertInput): Promise<void>;
  /** Signals `recovered` to the running workflow; a no-op when there is none. */
  recovered(alert: AlertInput, at?: string): Promise<void>;
}

export function createAlertSignaller({
  client,
  taskQueue = ALERTS_TASK_QUEUE,
  policyFor,
  groupBy = DEFAULT_GROUP_BY,
  shadow = createShadowLog(),
}: AlertSignallerOptions): AlertSignaller & { shadow: ShadowRecorder } {
  const firingOf = (type: RuleFiringInput['type'], alert: AlertInput, at: string): RuleFiringInput => ({
    type,
    rule: alert.rule,
    severity: alert.severity,
    summary: alert.summary,
    at,
    values: alert.values,
  });
  return {
    shadow,
    async fire(alert) {
      if (alert.mode === 'shadow') {
        shadow.record(shadowRecordOf('firing', alert, alert.firedAt));
        return;
      }
      const workflowId = incidentWorkflowId(alert, groupBy);
      const grouped = workflowId !== alertWorkflowId(alert.device, alert.rule);
      const options = {
        workflowId,
        taskQueue,
        args: [{ alert: { ...alert, alertId: workflowId }, policy: policyFor(alert) }] as Parameters<typeof alertEscalation>,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
        // Shown in the Temporal UI's workflow list and header (fixed at start; live state is in current details).
        staticSummary: `${alert.severity} · ${alert.device} · ${grouped ? `incident ${alert.group ?? alert.rule}` : alert.rule}`,
        staticDetails: `${alert.summary}${alert.host ? `\n\nhost ${alert.host}` : ''}${alert.model ? ` · ${alert.model}` : ''}\n\nfired ${alert.firedAt}`,
      };
      if (grouped) {
        await client.workflow.signalWithStart<typeof alertEscalation, [RuleFiringInput]>('alertEscalation', {
          ...options,
          signal: ruleFiringSignal,
          signalArgs: [firingOf('firing', alert, alert.firedAt)],
        });
        return;
      }
      await client.workflow.signalWithStart<typeof alertEscalation, [{ at: string; values: Record<string, number> }]>('alertEscalation', {
        ...options,
        signal: firingAgainSignal,
        signalArgs: [{ at: alert.firedAt, values: alert.values }],
      });
    },
    async recovered(alert, at = new Date().toISOString()) {
      if (alert.mode === 'shadow') {
        shadow.record(shadowRecordOf('recovered', alert, at));
        return;
      }
      const workflowId = incidentWorkflowId(alert, groupBy);
      const grouped = workflowId !== alertWorkflowId(alert.device, alert.rule);
      try {
        const handle = client.workflow.getHandle(workflowId);
        if (grouped) await handle.signal(ruleFiringSignal, firingOf('recovered', alert, at));
        else await handle.signal(recoveredSignal, { at });
      } catch (err) {
        // Already resolved (closed) or never opened: nothing to recover.
        if (err instanceof WorkflowNotFoundError) return;
        throw err;
      }
    },
  };
}

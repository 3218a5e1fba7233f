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
import { autoApplies, type AutoRemediationPolicy } from '../../lib/kube/remediation-policy.ts';
import type { PolicyEnqueuer } from '../remediation/remediation-starter.ts';

/** Incident runs remembered as already queued for the policy (oldest forgotten first). */
export const MAX_QUEUED_KEYS = 10_000;

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
  /** Kubernetes node of a device (lib/kube/node-map.ts); set on the alert so pages offer the node actions. */
  nodeFor?: (d: { device: string; host?: string }) => string | undefined;
  /**
   * Policy-driven quarantine (REMEDIATION_AUTO ≠ off): a critical incident whose recommended action
   * is listed queues one request per incident run on the `remediationPolicy` workflow, which
   * decides one at a time (the circuit breaker). Queuing never fails the firing (the page goes
   * out regardless): an error is reported to `onAutoError`.
   */
  autoRemediation?: { policy: AutoRemediationPolicy; enqueue: PolicyEnqueuer; releaseOnRecovery?: boolean; onAutoError?: (err: unknown, alert: AlertInput) => void };
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
  nodeFor,
  autoRemediation,
}: AlertSignallerOptions): AlertSignaller & { shadow: ShadowRecorder } {
  const firingOf = (type: RuleFiringInput['type'], alert: AlertInput, at: string): RuleFiringInput => ({
    type,
    rule: alert.rule,
    severity: alert.severity,
    summary: alert.summary,
    at,
    values: alert.values,
  });
  const queued = new Set<string>();
  /**
   * One policy check per incident run: the run id is the key, and the policy workflow starts each
   * key's `nodeRemediation` once (reuse rejected), so later firings of the run add nothing.
   */
  async function autoQuarantine(alert: AlertInput, alertId: string, node: string, runId: string): Promise<void> {
    const auto = autoRemediation!;
    if (autoApplies(auto.policy, { severity: alert.severity, recommendedAction: alert.triage?.recommendedAction, node })) return;
    const key = `${alertId}@${runId}`;
    // Later firings of the same run would only cost the policy workflow history events: skip them here
    // (the workflow's reuse check stays the guarantee, e.g. after this process restarts).
    if (queued.has(key)) return;
    try {
      await auto.enqueue(
        { action: 'quarantine', node, gpu: alert.device, alertId, by: 'policy', via: 'policy', auto: auto.policy, ...(auto.releaseOnRecovery ? { releaseOnRecovery: true } : {}) },
        key,
      );
      queued.add(key);
      if (queued.size > MAX_QUEUED_KEYS) queued.delete(queued.values().next().value!);
    } catch (err) {
      auto.onAutoError?.(err, alert);
    }
  }

  return {
    shadow,
    async fire(alert) {
      if (alert.mode === 'shadow') {
        shadow.record(shadowRecordOf('firing', alert, alert.firedAt));
        return;
      }
      const workflowId = incidentWorkflowId(alert, groupBy);
      const grouped = workflowId !== alertWorkflowId(alert.device, alert.rule);
      const node = alert.node ?? nodeFor?.({ device: alert.device, host: alert.host });
      const options = {
        workflowId,
        taskQueue,
        args: [{ alert: { ...alert, alertId: workflowId, ...(node ? { node } : {}) }, policy: policyFor(alert) }] as Parameters<typeof alertEscalation>,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
        // Shown in the Temporal UI's workflow list and header (fixed at start; live state is in current details).
        staticSummary: `${alert.severity} · ${alert.device} · ${grouped ? `incident ${alert.group ?? alert.rule}` : alert.rule}`,
        staticDetails: `${alert.summary}${alert.host ? `\n\nhost ${alert.host}` : ''}${alert.model ? ` · ${alert.model}` : ''}\n\nfired ${alert.firedAt}`,
      };
      const handle = grouped
        ? await client.workflow.signalWithStart<typeof alertEscalation, [RuleFiringInput]>('alertEscalation', {
            ...options,
            signal: ruleFiringSignal,
            signalArgs: [firingOf('firing', alert, alert.firedAt)],
          })
        : await client.workflow.signalWithStart<typeof alertEscalation, [{ at: string; values: Record<string, number> }]>('alertEscalation', {
            ...options,
            signal: firingAgainSignal,
            signalArgs: [{ at: alert.firedAt, values: alert.values }],
          });
      if (autoRemediation && node) await autoQuarantine(alert, workflowId, node, handle.signaledRunId);
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

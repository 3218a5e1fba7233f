/**
 * Starts (or joins) a `nodeRemediation` workflow: the one way the Slack handler, the API, the
 * CLI and the alert signaller ask for a node action.
 *
 * Idempotency: the workflow id is derived from the business key (`remediate-<node>-<action>-<key>`,
 * key = the incident episode or the caller's idempotency key) with conflict policy
 * USE_EXISTING, so a second click while the first runs joins it; a click after it finished
 * starts a new run that finds the node as asked (`already`, nothing written) — the node is
 * changed once either way.
 */
import { type Client, WorkflowFailedError } from '@temporalio/client';
import type { nodeRemediation } from '../../workflows/node-remediation.ts';
import {
  autoQuarantineSignal,
  REMEDIATION_POLICY_WORKFLOW_ID,
  remediationWorkflowId,
  type AutoQuarantineInput,
} from '../../workflows/remediation-messages.ts';
import type { remediationPolicy } from '../../workflows/remediation-policy.ts';
import { ALERTS_TASK_QUEUE } from '../../workflows/alert-messages.ts';
import type { RemediationRecord, RemediationRequest } from '../../lib/kube/remediation-types.ts';

export interface StartedRemediation {
  workflowId: string;
  /** The record, when it finished within `waitMs`; absent when it is still running (a drain). */
  record?: RemediationRecord;
}

export interface RemediationStarterOptions {
  client: Client;
  taskQueue?: string;
}

export interface StartOptions {
  /** Wait this long for the record (0 = start only). */
  waitMs?: number;
  /** ALLOW_DUPLICATE (default: a new request after the last finished) or REJECT_DUPLICATE (once per key, ever: the policy's check per incident run). */
  reuse?: 'ALLOW_DUPLICATE' | 'REJECT_DUPLICATE';
}

export type RemediationStarter = (req: RemediationRequest, key: string, opts?: StartOptions) => Promise<StartedRemediation>;

export function createRemediationStarter({ client, taskQueue = ALERTS_TASK_QUEUE }: RemediationStarterOptions): RemediationStarter {
  return async (req, key, { waitMs = 0, reuse = 'ALLOW_DUPLICATE' } = {}) => {
    const workflowId = remediationWorkflowId(req.node, req.action, key);
    const handle = await client.workflow.start<typeof nodeRemediation>('nodeRemediation', {
      workflowId,
      taskQueue,
      args: [req],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: reuse,
      staticSummary: `${req.action} ${req.node} · ${req.by} via ${req.via}${req.auto ? ` · policy (${req.auto.mode})` : ''}`,
    });
    if (waitMs <= 0) return { workflowId };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    try {
      const record = await Promise.race([handle.result(), late]);
      return { workflowId, record };
    } catch (err) {
      // The workflow records failures in its result; a failed run means it was terminated or timed out.
      if (err instanceof WorkflowFailedError) return { workflowId };
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Queues a policy quarantine on the `remediationPolicy` workflow (started on first use), which decides one at a time. */
export type PolicyEnqueuer = (req: RemediationRequest, key: string) => Promise<void>;

export function createPolicyEnqueuer({ client, taskQueue = ALERTS_TASK_QUEUE }: RemediationStarterOptions): PolicyEnqueuer {
  return async (req, key) => {
    await client.workflow.signalWithStart<typeof remediationPolicy, [AutoQuarantineInput]>('remediationPolicy', {
      workflowId: REMEDIATION_POLICY_WORKFLOW_ID,
      taskQueue,
      args: [{}],
      signal: autoQuarantineSignal,
      signalArgs: [{ req, key }],
      staticSummary: 'policy quarantines, decided one at a time (circuit breaker)',
    });
  };
}

/**
 * `remediationPolicy`: the one workflow (id `remediation-policy`) through which every
 * policy-driven quarantine passes, one at a time.
 *
 * Invariant: the circuit breaker's read-decide-patch must not interleave — a fleet-wide fault
 * opens many incidents in the same second, and two decisions reading "1 of the cap of 2
 * quarantined" at once would quarantine 3. So the signaller only queues (signal-with-start);
 * this workflow runs each request as a child `nodeRemediation` and waits for it before the next,
 * which reads the fleet as the previous one left it.
 *
 * Bounds: the queue holds at most MAX_POLICY_QUEUE requests; one beyond is not dropped silently —
 * its incident's timeline is told it was not queued (and it pages as usual). Continue-as-new
 * carries the queue when Temporal suggests it or every CONTINUE_AFTER requests.
 */
import * as wf from '@temporalio/workflow';
import {
  autoQuarantineSignal,
  policyStateQuery,
  remediationRecordedSignal,
  remediationWorkflowId,
  type AutoQuarantineInput,
} from './remediation-messages.ts';
import type { RemediationRecord } from '../lib/kube/remediation-types.ts';

/** Requests waiting for a decision. */
export const MAX_POLICY_QUEUE = 10_000;
/** Requests handled per run before continue-as-new (each adds ~6 history events). */
export const CONTINUE_AFTER = 1_000;

export interface RemediationPolicyInput {
  /** Carried by continue-as-new. */
  queue?: AutoQuarantineInput[];
  /** Test hook: a smaller queue bound than MAX_POLICY_QUEUE. */
  maxQueue?: number;
}

export async function remediationPolicy(input: RemediationPolicyInput = {}): Promise<void> {
  const queue: AutoQuarantineInput[] = [...(input.queue ?? [])];
  const refused: AutoQuarantineInput[] = [];
  const maxQueue = input.maxQueue ?? MAX_POLICY_QUEUE;
  let handled = 0;
  let refusedFull = 0;
  wf.setHandler(autoQuarantineSignal, (item: AutoQuarantineInput) => {
    if (!item?.req?.node || !item.key) return;
    if (queue.length >= maxQueue) {
      refusedFull++;
      refused.push(item);
    } else queue.push(item);
  });
  wf.setHandler(policyStateQuery, () => ({ queued: queue.length, handled, refusedFull }));

  for (;;) {
    await wf.condition(() => queue.length > 0 || refused.length > 0 || wf.workflowInfo().continueAsNewSuggested);
    while (refused.length) await tellRefused(refused.shift()!, maxQueue);
    if (wf.workflowInfo().continueAsNewSuggested || handled >= CONTINUE_AFTER) {
      await wf.condition(wf.allHandlersFinished);
      return await wf.continueAsNew<typeof remediationPolicy>({ queue, ...(input.maxQueue ? { maxQueue: input.maxQueue } : {}) });
    }
    const next = queue.shift();
    if (!next) continue;
    handled++;
    try {
      await wf.executeChild('nodeRemediation', {
        workflowId: remediationWorkflowId(next.req.node, next.req.action, next.key),
        args: [next.req],
        // Once per key, ever: the same incident run is never decided twice.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        parentClosePolicy: 'ABANDON',
      });
    } catch (err) {
      // Already decided (a duplicate signal) or the child failed to start: the child records its own outcome.
      wf.log.info('policy quarantine not run', { key: next.key, error: String(err) });
    }
  }
}

async function tellRefused(item: AutoQuarantineInput, maxQueue: number): Promise<void> {
  if (!item.req.alertId) return;
  const at = new Date(Date.now()).toISOString();
  const rec: RemediationRecord = {
    id: remediationWorkflowId(item.req.node, item.req.action, item.key),
    action: item.req.action,
    node: item.req.node,
    gpu: item.req.gpu,
    by: item.req.by,
    via: item.req.via,
    requestedAt: at,
    finishedAt: at,
    outcome: 'refused',
    detail: `policy queue full (${maxQueue} waiting): not decided, a human decides`,
    api: [],
  };
  try {
    await wf.getExternalWorkflowHandle(item.req.alertId).signal(remediationRecordedSignal, rec);
  } catch {
    // Incident closed: nothing to tell.
  }
}

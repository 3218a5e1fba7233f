/**
 * Wire contract of `nodeRemediation`: workflow ids, its progress query and the signal the alert
 * workflow receives. The API, Slack handler, CLI and the alert signaller import these.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RemediationAction, RemediationRecord, RemediationRequest } from '../lib/kube/remediation-types.ts';

/**
 * One workflow per request: `remediate-<node>-<action>-<key>`. The key is the incident (a
 * Slack click, the policy) so a double click reaches the one running workflow, or the caller's
 * idempotency key (API, CLI).
 */
export function remediationWorkflowId(node: string, action: RemediationAction, key: string): string {
  return `remediate-${node}-${action}-${key}`.slice(0, 900);
}

/** Progress of a running remediation (drain passes, blocked pods). */
export const remediationProgressQuery = defineQuery<RemediationRecord>('remediationProgress');

/** Sent to the incident's alert workflow when a remediation for it finished: recorded on its timeline and page. */
export const remediationRecordedSignal = defineSignal<[RemediationRecord]>('remediationRecorded');

/** The singleton workflow that serialises policy decisions (one per namespace). */
export const REMEDIATION_POLICY_WORKFLOW_ID = 'remediation-policy';

/** One policy quarantine to decide: the request (with `auto`) and its idempotency key (the incident run). */
export interface AutoQuarantineInput {
  req: RemediationRequest;
  key: string;
}
/** Queue a policy quarantine (signal-with-start of `remediationPolicy`). */
export const autoQuarantineSignal = defineSignal<[AutoQuarantineInput]>('autoQuarantine');

/** What the policy workflow holds: requests waiting, and how many were refused for a full queue (since its start or last continue-as-new). */
export interface PolicyStateView {
  queued: number;
  handled: number;
  refusedFull: number;
}
export const policyStateQuery = defineQuery<PolicyStateView>('policyState');

/**
 * Wire types of node remediation (JSON, they cross Temporal payloads): what was asked, by whom,
 * and what the API answered. Shared by the `nodeRemediation` workflow, the alert timeline
 * (lib/alerts/types.ts AlertState.remediations), the API, Slack and the CLI.
 */
import type { RemediationAction } from './recommend.ts';
import type { AutoRemediationPolicy } from './remediation-policy.ts';

export type { RemediationAction } from './recommend.ts';

/** Where a remediation was asked for. */
export type RemediationVia = 'slack' | 'api' | 'cli' | 'policy';

export interface RemediationRequest {
  action: RemediationAction;
  node: string;
  /** The faulty GPU (device id) the quarantine label names. */
  gpu?: string;
  /** Incident workflow id: the action is recorded on its timeline. */
  alertId?: string;
  by: string;
  via: RemediationVia;
  reason?: string;
  /** Drain only: at the timeout, delete pods a PodDisruptionBudget still protects (bypasses the budget). */
  force?: boolean;
  /** Drain only: how long blocked evictions are retried, seconds. */
  drainTimeoutS?: number;
  /** Drain only: grace period for evicted pods, seconds (unset: each pod's own). */
  gracePeriodS?: number;
  /** Present → a policy-driven quarantine: the circuit breaker decides, shadow mode only records. */
  auto?: AutoRemediationPolicy;
  /** Quarantine/drain: release the node when the incident auto-resolves (REMEDIATION_RELEASE_ON_RECOVERY). */
  releaseOnRecovery?: boolean;
}

/** `done` changed the node; `already` found it so; `shadow` changed nothing on purpose; `refused` = breaker open (paged instead); `blocked` = drain timed out on PDBs; `failed` = the API refused. */
export type RemediationOutcome = 'done' | 'already' | 'shadow' | 'refused' | 'blocked' | 'failed';

// A type alias (not an interface) so it fits the API's open response schema.
export type RemediationRecord = {
  /** The workflow that ran it (one per request). */
  id: string;
  action: RemediationAction;
  node: string;
  gpu?: string;
  by: string;
  via: RemediationVia;
  requestedAt: string;
  finishedAt: string;
  outcome: RemediationOutcome;
  /** One line for people: what happened and why. */
  detail: string;
  /** The API's answers, one line per call that changed or refused something (bounded). */
  api: string[];
  /** Drain: pods evicted (namespace/name), and pods still blocked with the API's reason. */
  evicted?: string[];
  blocked?: { pod: string; reason: string }[];
  /** Copied from the request: the incident releases the node when it auto-resolves. */
  releaseOnRecovery?: boolean;
  /** The ledger entry (id `remediation:<workflow>/<run>`): its resolve tx, or why it is missing. Absent without a chain. */
  ledger?: { id: string; txHash?: string; blockNumber?: number; error?: string };
};

/** Bound on `api` lines and pod lists kept in a record (a node runs ≤ 110 pods by default). */
export const MAX_RECORD_LINES = 120;

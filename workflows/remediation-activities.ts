/**
 * The activities the `nodeRemediation` workflow calls, as a TYPE only (the real ones:
 * activities/remediation/remediation-activities.ts over lib/kube's client). Every one is
 * idempotent — each reads the node first and changes only what differs — so Temporal's retries
 * are safe. Input/Result types live here once; the activity file imports them.
 */
import type { FleetQuarantineState } from '../lib/kube/remediation-policy.ts';

export interface QuarantineNodeInput {
  node: string;
  /** Device id named by the label (`unspecified` when asked without one, e.g. from the CLI). */
  gpu?: string;
  alertId?: string;
  by: string;
  /** Fixed by the workflow so retries write the same record. */
  at: string;
}
export interface NodeChangeResult {
  /** False when the node already was as asked (nothing written). */
  changed: boolean;
  /** What the API answered, one line per call. */
  api: string[];
}
export interface ReleaseNodeInput {
  node: string;
  /** Release only this GPU: the node stays quarantined while other GPUs of it are recorded faulty. Absent: release the node. */
  gpu?: string;
  by: string;
  at: string;
}
export interface DrainPassInput {
  node: string;
  gracePeriodS?: number;
}
/** One pass over the node's pods: evictions tried one at a time, in name order. */
export interface DrainPassResult {
  evicted: string[];
  /** Pods a PodDisruptionBudget (429) or another retryable answer kept. */
  blocked: { pod: string; reason: string }[];
  /** Pods already terminating (deletionTimestamp set): nothing more to ask of them. */
  terminating: string[];
  /** DaemonSet and mirror pods, which a drain leaves (like kubectl drain --ignore-daemonsets). */
  skipped: string[];
  api: string[];
}
export interface ForceDeleteInput {
  node: string;
  pods: string[];
  gracePeriodS?: number;
}

export interface RemediationActivities {
  /** Cordon + taint + label (+ annotation record), then the GpuUnhealthy Node condition. */
  quarantineNode(input: QuarantineNodeInput): Promise<NodeChangeResult>;
  /** Uncordon (if we cordoned), remove taint, label, annotation and condition (or, with `gpu`, release that GPU only). */
  releaseNode(input: ReleaseNodeInput): Promise<NodeChangeResult>;
  drainPass(input: DrainPassInput): Promise<DrainPassResult>;
  /** Plain DELETE of pods (bypasses PodDisruptionBudgets): only when a drain was asked to force. */
  forceDeletePods(input: ForceDeleteInput): Promise<NodeChangeResult>;
  /** Fleet size and the nodes quarantined now (label selector), for the circuit breaker. */
  fleetQuarantineState(input: Record<string, never>): Promise<FleetQuarantineState>;
}

/** ApplicationFailure types the remediation activities throw as permanent. */
export const REMEDIATION_FAILURE = {
  /** 400/422/401/403/404 from the API, or no Kubernetes configured: retrying will not help. */
  permanent: 'KubePermanentError',
  notConfigured: 'KubeNotConfigured',
} as const;

/**
 * Remediation wiring from the one config (lib/config.ts), shared by the workers, the API and
 * the CLI: the Kubernetes client (or none), the device → node map, the automatic policy and
 * the defaults of a drain.
 */
import type { Config } from '../config.ts';
import { KubeClient } from './kube-client.ts';
import { kubeConfigured, kubeCredentialsProvider, type KubeConfigInput } from './kube-config.ts';
import { createNodeMap, type NodeMap } from './node-map.ts';
import type { AutoRemediationPolicy } from './remediation-policy.ts';
import type { RecommendationKind } from './recommend.ts';

export type RemediationConfig = Pick<
  Config,
  | 'KUBECONFIG'
  | 'KUBE_CONTEXT'
  | 'KUBE_IN_CLUSTER'
  | 'KUBERNETES_SERVICE_HOST'
  | 'KUBERNETES_SERVICE_PORT'
  | 'KUBE_REQUEST_TIMEOUT_MS'
  | 'KUBE_NODE_MAP'
  | 'KUBE_NODE_MAP_FILE'
  | 'REMEDIATION_AUTO'
  | 'REMEDIATION_AUTO_ACTIONS'
  | 'REMEDIATION_MAX_NODES'
  | 'REMEDIATION_MAX_PERCENT'
  | 'REMEDIATION_DRAIN_TIMEOUT_S'
  | 'REMEDIATION_DRAIN_GRACE_S'
  | 'REMEDIATION_RELEASE_ON_RECOVERY'
>;

export function kubeConfigInput(cfg: RemediationConfig): KubeConfigInput {
  return {
    kubeconfig: cfg.KUBECONFIG,
    context: cfg.KUBE_CONTEXT,
    inCluster: cfg.KUBE_IN_CLUSTER,
    serviceHost: cfg.KUBERNETES_SERVICE_HOST,
    servicePort: cfg.KUBERNETES_SERVICE_PORT,
  };
}

/** The client, or undefined when no cluster is configured (remediation then answers "not configured"). Throws on a broken kubeconfig. */
export function kubeFromConfig(cfg: RemediationConfig): KubeClient | undefined {
  const input = kubeConfigInput(cfg);
  if (!kubeConfigured(input)) return undefined;
  return new KubeClient({ credentials: kubeCredentialsProvider(input), timeoutMs: cfg.KUBE_REQUEST_TIMEOUT_MS });
}

export function nodeMapFromConfig(cfg: RemediationConfig): NodeMap {
  return createNodeMap({ spec: cfg.KUBE_NODE_MAP, file: cfg.KUBE_NODE_MAP_FILE });
}

export function autoPolicyFromConfig(cfg: RemediationConfig): AutoRemediationPolicy {
  return {
    mode: cfg.REMEDIATION_AUTO,
    actions: cfg.REMEDIATION_AUTO_ACTIONS.split(',') as RecommendationKind[],
    maxNodes: cfg.REMEDIATION_MAX_NODES,
    maxPercent: cfg.REMEDIATION_MAX_PERCENT,
  };
}

export function remediationDefaults(cfg: RemediationConfig): { drainTimeoutS: number; gracePeriodS?: number; releaseOnRecovery: boolean } {
  return {
    drainTimeoutS: cfg.REMEDIATION_DRAIN_TIMEOUT_S,
    gracePeriodS: cfg.REMEDIATION_DRAIN_GRACE_S,
    releaseOnRecovery: cfg.REMEDIATION_RELEASE_ON_RECOVERY,
  };
}

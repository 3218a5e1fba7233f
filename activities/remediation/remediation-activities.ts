/**
 * Kubernetes node remediation as Temporal activities, built over an injected KubeClient.
 *
 * Invariant: every activity reads the node (or its pods) first and writes only the difference,
 * with the read's resourceVersion on node patches — so a retry, a double click or a concurrent
 * writer can neither apply an action twice nor lose someone else's taint (409 → re-read).
 * Failures are classified once: transient API answers (409, 429, 5xx, no answer) are retried by
 * Temporal with backoff; permanent ones (400/422, 401/403, 404) are non-retryable
 * `KubePermanentError` with the API's own message.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { KubeClient, KubeNode, KubePod } from '../../lib/kube/kube-client.ts';
import { KUBE_ERROR, KubeApiError } from '../../lib/kube/kube-errors.ts';
import {
  conditionPatch,
  GPU_UNHEALTHY_KEY,
  hasGpuCondition,
  quarantinePatch,
  quarantineRecordOf,
  releasePatch,
  removeConditionPatch,
} from '../../lib/kube/node-patches.ts';
import type { FleetQuarantineState } from '../../lib/kube/remediation-policy.ts';
import {
  REMEDIATION_FAILURE,
  type DrainPassInput,
  type DrainPassResult,
  type ForceDeleteInput,
  type NodeChangeResult,
  type QuarantineNodeInput,
  type ReleaseNodeInput,
  type RemediationActivities,
} from '../../workflows/remediation-activities.ts';
import type { Logger } from '../../lib/logger.ts';
import { remediationMetrics } from './remediation-metrics.ts';

export interface RemediationDeps {
  /** Undefined when no cluster is configured: every activity fails as KubeNotConfigured. */
  kube: KubeClient | undefined;
  log?: Pick<Logger, 'info' | 'warn'>;
  /** Node-patch conflicts (409) re-read and re-applied in place before Temporal's retry takes over. */
  conflictRetries?: number;
}

const podName = (p: KubePod) => `${p.metadata.namespace}/${p.metadata.name}`;

/** Transient answers stay plain errors (Temporal retries); permanent ones become non-retryable. */
function classify(err: unknown): never {
  if (err instanceof KubeApiError) {
    remediationMetrics.apiErrors.inc({ code: err.code });
    if (!err.retryable)
      throw ApplicationFailure.create({ message: err.message, type: REMEDIATION_FAILURE.permanent, nonRetryable: true, cause: err });
  }
  throw err;
}

export function createRemediationActivities(deps: RemediationDeps): RemediationActivities {
  const conflictRetries = deps.conflictRetries ?? 5;
  const client = (): KubeClient => {
    if (deps.kube) return deps.kube;
    throw ApplicationFailure.create({
      message: 'no Kubernetes cluster configured (set KUBECONFIG, or run in a pod with a service account)',
      type: REMEDIATION_FAILURE.notConfigured,
      nonRetryable: true,
    });
  };

  /** Read → compute → patch with resourceVersion; a 409 means someone wrote in between: read again. */
  async function patchNodeFresh(node: string, build: (n: KubeNode) => object | null): Promise<{ node: KubeNode; line?: string }> {
    const kube = client();
    for (let attempt = 0; ; attempt++) {
      const current = await kube.getNode(node);
      const patch = build(current);
      if (!patch) return { node: current };
      try {
        const after = await kube.patchNode(node, patch, 'merge');
        return { node: after, line: `PATCH nodes/${node} → 200 (resourceVersion ${after.metadata.resourceVersion})` };
      } catch (err) {
        if (err instanceof KubeApiError && err.code === KUBE_ERROR.conflict && attempt < conflictRetries) continue;
        throw err;
      }
    }
  }

  return {
    async quarantineNode(input: QuarantineNodeInput): Promise<NodeChangeResult> {
      try {
        const gpu = input.gpu ?? 'unspecified';
        const api: string[] = [];
        const { node, line } = await patchNodeFresh(input.node, (n) =>
          quarantinePatch(n, { gpu, alertId: input.alertId, by: input.by, at: input.at }),
        );
        if (line) api.push(line);
        if (!hasGpuCondition(node) || line) {
          const rec = quarantineRecordOf(node);
          const after = await client().patchNodeStatus(
            input.node,
            conditionPatch({ gpus: rec?.gpus ?? [gpu], at: input.at, alertId: input.alertId }),
          );
          api.push(
            `PATCH nodes/${input.node}/status condition GpuUnhealthy=True → 200 (resourceVersion ${after.metadata.resourceVersion})`,
          );
        }
        if (api.length) {
          remediationMetrics.actions.inc({ action: 'quarantine' });
          deps.log?.info({ node: input.node, gpu, by: input.by }, 'node quarantined');
        }
        return { changed: api.length > 0, api };
      } catch (err) {
        classify(err);
      }
    },

    async releaseNode(input: ReleaseNodeInput): Promise<NodeChangeResult> {
      try {
        const api: string[] = [];
        const { node, line } = await patchNodeFresh(input.node, (n) => releasePatch(n, input.gpu));
        if (line) api.push(line);
        const still = quarantineRecordOf(node);
        if (still && node.metadata.labels?.[GPU_UNHEALTHY_KEY] !== undefined) {
          // Other GPUs of the node are still faulty: it stays quarantined; the condition names those.
          if (line) {
            const after = await client().patchNodeStatus(
              input.node,
              conditionPatch({ gpus: still.gpus, at: input.at, alertId: still.alertId }),
            );
            api.push(
              `PATCH nodes/${input.node}/status condition GpuUnhealthy=True (${still.gpus.join(', ')}) → 200 (resourceVersion ${after.metadata.resourceVersion})`,
            );
          }
        } else if (hasGpuCondition(node)) {
          const after = await client().patchNodeStatus(input.node, removeConditionPatch);
          api.push(
            `PATCH nodes/${input.node}/status condition GpuUnhealthy removed → 200 (resourceVersion ${after.metadata.resourceVersion})`,
          );
        }
        if (api.length) {
          remediationMetrics.actions.inc({ action: 'release' });
          deps.log?.info({ node: input.node, by: input.by }, 'node released');
        }
        return { changed: api.length > 0, api };
      } catch (err) {
        classify(err);
      }
    },

    async drainPass(input: DrainPassInput): Promise<DrainPassResult> {
      const out: DrainPassResult = { evicted: [], blocked: [], terminating: [], skipped: [], api: [] };
      try {
        const pods = (await client().listPodsOnNode(input.node)).sort((a, b) => podName(a).localeCompare(podName(b)));
        for (const p of pods) {
          const name = podName(p);
          const owner = p.metadata.ownerReferences?.find((o) => o.controller);
          if (owner?.kind === 'DaemonSet' || p.metadata.annotations?.['kubernetes.io/config.mirror']) {
            out.skipped.push(name);
            continue;
          }
          if (p.metadata.deletionTimestamp) {
            out.terminating.push(name);
            continue;
          }
          try {
            // One at a time: each eviction is checked against the budget the previous one spent.
            await client().evictPod(
              p.metadata.namespace!,
              p.metadata.name,
              input.gracePeriodS === undefined ? undefined : { gracePeriodSeconds: input.gracePeriodS },
            );
            out.evicted.push(name);
            out.api.push(`POST pods/${name}/eviction → 201`);
            remediationMetrics.evictions.inc({ result: 'evicted' });
          } catch (err) {
            if (!(err instanceof KubeApiError)) throw err;
            if (err.code === KUBE_ERROR.notFound) continue; // gone meanwhile: nothing to evict
            if (!err.retryable) throw err;
            const reason = err.apiStatus?.message ?? err.message;
            out.blocked.push({ pod: name, reason });
            out.api.push(`POST pods/${name}/eviction → ${err.status} ${reason}`);
            remediationMetrics.evictions.inc({ result: err.status === 429 ? 'blocked' : 'retry' });
          }
        }
        return out;
      } catch (err) {
        classify(err);
      }
    },

    async forceDeletePods(input: ForceDeleteInput): Promise<NodeChangeResult> {
      const api: string[] = [];
      try {
        for (const pod of input.pods) {
          const [ns, name] = pod.split('/');
          if (!ns || !name) continue;
          try {
            await client().deletePod(ns, name, input.gracePeriodS);
            api.push(`DELETE pods/${pod} → 200 (forced past its disruption budget)`);
          } catch (err) {
            if (err instanceof KubeApiError && err.code === KUBE_ERROR.notFound) continue;
            throw err;
          }
        }
        deps.log?.warn({ node: input.node, pods: input.pods.length }, 'drain forced: pods deleted past their disruption budgets');
        return { changed: api.length > 0, api };
      } catch (err) {
        classify(err);
      }
    },

    async fleetQuarantineState(): Promise<FleetQuarantineState> {
      try {
        // Only the quarantined nodes are transferred; the fleet is counted, not listed (10k nodes ≈ 100 MB of objects).
        const quarantined = (await client().listNodes({ labelSelector: GPU_UNHEALTHY_KEY })).map((n) => n.metadata.name);
        const fleetSize = await client().countNodes();
        remediationMetrics.quarantined.set(quarantined.length);
        return { fleetSize, quarantined: quarantined.sort() };
      } catch (err) {
        classify(err);
      }
    },
  };
}

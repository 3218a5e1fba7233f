/**
 * Node, Pod and PodDisruptionBudget objects for remediation tests, created through the real API
 * (there is no kubelet), plus the two controllers' jobs the tests play: the disruption
 * controller (PDB status) and the kubelet (finishing a terminating pod's deletion).
 */
import { kubeRequest, type KubeEndpoint } from './kube.ts';

export async function createNode(kube: KubeEndpoint, name: string, labels: Record<string, string> = {}): Promise<void> {
  await kubeRequest(kube, 'POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } } });
}

export async function createNamespace(kube: KubeEndpoint, name: string): Promise<void> {
  await kubeRequest(kube, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
}

export async function createPod(
  kube: KubeEndpoint,
  ns: string,
  name: string,
  node: string,
  labels: Record<string, string> = {},
  extra: { ownerDaemonSet?: string } = {},
): Promise<void> {
  await kubeRequest(kube, 'POST', `/api/v1/namespaces/${ns}/pods`, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        labels,
        ...(extra.ownerDaemonSet
          ? {
              ownerReferences: [
                {
                  apiVersion: 'apps/v1',
                  kind: 'DaemonSet',
                  name: extra.ownerDaemonSet,
                  uid: '00000000-0000-0000-0000-000000000001',
                  controller: true,
                },
              ],
            }
          : {}),
      },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'registry.invalid/app:1' }] },
    },
  });
  // Played kubelet: Running and Ready. A Pending pod bypasses its PodDisruptionBudget in the
  // Eviction API (nothing runs yet), so a budget only protects pods that report Ready.
  await kubeRequest(kube, 'PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, {
    contentType: 'application/merge-patch+json',
    body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }] } },
  });
}

/** A PDB with its status written as the disruption controller would (the Eviction API reads it). */
export async function createPdb(
  kube: KubeEndpoint,
  ns: string,
  name: string,
  selector: Record<string, string>,
  disruptionsAllowed: number,
  pods: number,
): Promise<void> {
  await kubeRequest(kube, 'POST', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, {
    body: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name },
      spec: { minAvailable: pods - disruptionsAllowed, selector: { matchLabels: selector } },
    },
  });
  await setPdbAllowed(kube, ns, name, disruptionsAllowed, pods);
}

/** Plays the disruption controller: recompute status (disruptedPods cleared, as once the evicted pods are gone). */
export async function setPdbAllowed(kube: KubeEndpoint, ns: string, name: string, disruptionsAllowed: number, pods: number): Promise<void> {
  const path = `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`;
  const cur = (await kubeRequest(kube, 'GET', path)).body as { metadata: { generation: number; resourceVersion: string } };
  await kubeRequest(kube, 'PUT', `${path}/status`, {
    body: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name, namespace: ns, resourceVersion: cur.metadata.resourceVersion },
      status: {
        observedGeneration: cur.metadata.generation,
        disruptionsAllowed,
        currentHealthy: pods,
        desiredHealthy: pods - disruptionsAllowed,
        expectedPods: pods,
        disruptedPods: {},
      },
    },
  });
}

export interface PodView {
  name: string;
  deletionTimestamp?: string;
}

export async function podsOn(kube: KubeEndpoint, node: string): Promise<PodView[]> {
  const r = await kubeRequest(kube, 'GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D${encodeURIComponent(node)}`);
  return (r.body as { items: { metadata: { namespace: string; name: string; deletionTimestamp?: string } }[] }).items.map((p) => ({
    name: `${p.metadata.namespace}/${p.metadata.name}`,
    deletionTimestamp: p.metadata.deletionTimestamp,
  }));
}

/** Plays the kubelet: a terminating pod's containers stopped, so its deletion completes. */
export async function finishTermination(kube: KubeEndpoint, pod: string): Promise<void> {
  const [ns, name] = pod.split('/');
  await kubeRequest(kube, 'DELETE', `/api/v1/namespaces/${ns}/pods/${name}`, {
    body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 },
    raw: true,
  });
}

export interface NodeView {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

export async function getNode(kube: KubeEndpoint, name: string): Promise<NodeView> {
  return (await kubeRequest(kube, 'GET', `/api/v1/nodes/${name}`)).body as NodeView;
}

/**
 * The node changes of quarantine and release, as pure functions of the node as read. Taints are
 * a list the API replaces wholesale on a merge patch, so the new list is computed from the node
 * read and the patch carries that read's `resourceVersion`: a concurrent writer (the node
 * lifecycle controller adds taints too) makes the API answer 409, and the caller re-reads —
 * nobody's taint is lost.
 *
 * The annotation remembers whether the node was schedulable before we cordoned it, so release
 * uncordons only what quarantine cordoned (a node an operator cordoned stays cordoned).
 */
import type { KubeNode, KubeNodeCondition, KubeTaint } from './kube-client.ts';

/** Label, taint key and annotation prefix; the label's value names the faulty GPU. */
export const GPU_UNHEALTHY_KEY = 'telemetry-stack.io/gpu-unhealthy';
/** JSON record of the quarantine (GPUs, who, when, whether we cordoned). */
export const QUARANTINE_ANNOTATION = 'telemetry-stack.io/quarantine';
/** Node condition type set through nodes/status. */
export const GPU_CONDITION_TYPE = 'GpuUnhealthy';
/** GPUs kept in the annotation per node (a node has at most 16 GPUs in practice). */
export const MAX_GPUS_PER_NODE = 64;

export interface QuarantineRecord {
  gpus: string[];
  alertId?: string;
  by: string;
  at: string;
  /** True when the node was schedulable before: release uncordons it. */
  cordonedByUs: boolean;
}

/** A label value (≤ 63 chars of [A-Za-z0-9-_.], alphanumeric at both ends) naming the GPU. */
export function gpuLabelValue(gpu: string): string {
  const v = gpu
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/[^A-Za-z0-9]+$/, '');
  return v || 'unknown';
}

export function quarantineRecordOf(node: KubeNode): QuarantineRecord | undefined {
  const raw = node.metadata.annotations?.[QUARANTINE_ANNOTATION];
  if (!raw) return undefined;
  try {
    const r = JSON.parse(raw) as QuarantineRecord;
    return Array.isArray(r.gpus) ? r : undefined;
  } catch {
    return undefined; // hand-edited: treated as absent, rewritten by the next quarantine
  }
}

const ourTaint = (t: KubeTaint) => t.key === GPU_UNHEALTHY_KEY;

/** Is the node fully quarantined for `gpu` (cordoned, tainted, labelled, GPU recorded)? */
export function isQuarantined(node: KubeNode, gpu?: string): boolean {
  const rec = quarantineRecordOf(node);
  return (
    node.spec?.unschedulable === true &&
    (node.spec.taints ?? []).some(ourTaint) &&
    node.metadata.labels?.[GPU_UNHEALTHY_KEY] !== undefined &&
    (gpu === undefined || (rec?.gpus.includes(gpu) ?? false))
  );
}

/** Merge patch that quarantines the node for `gpu`; null when it already is. */
export function quarantinePatch(node: KubeNode, q: { gpu: string; alertId?: string; by: string; at: string }): object | null {
  if (isQuarantined(node, q.gpu)) return null;
  const prev = quarantineRecordOf(node);
  const record: QuarantineRecord = prev
    ? { ...prev, gpus: [...prev.gpus.filter((g) => g !== q.gpu), q.gpu].slice(-MAX_GPUS_PER_NODE) }
    : { gpus: [q.gpu], alertId: q.alertId, by: q.by, at: q.at, cordonedByUs: node.spec?.unschedulable !== true };
  const taints = (node.spec?.taints ?? []).filter((t) => !ourTaint(t));
  taints.push({ key: GPU_UNHEALTHY_KEY, value: gpuLabelValue(record.gpus[0]!), effect: 'NoSchedule', timeAdded: q.at });
  return {
    metadata: {
      resourceVersion: node.metadata.resourceVersion,
      labels: { [GPU_UNHEALTHY_KEY]: node.metadata.labels?.[GPU_UNHEALTHY_KEY] ?? gpuLabelValue(q.gpu) },
      annotations: { [QUARANTINE_ANNOTATION]: JSON.stringify(record) },
    },
    spec: { unschedulable: true, taints },
  };
}

/** Strategic merge patch of nodes/status: conditions merge by `type`, so other conditions stay. */
export function conditionPatch(c: { gpus: string[]; at: string; alertId?: string }): object {
  const cond: KubeNodeCondition = {
    type: GPU_CONDITION_TYPE,
    status: 'True',
    reason: 'GpuFaultDetected',
    message: `telemetry-stack: GPU ${c.gpus.join(', ')} unhealthy${c.alertId ? ` (incident ${c.alertId})` : ''}`.slice(0, 1024),
    lastHeartbeatTime: c.at,
    lastTransitionTime: c.at,
  };
  return { status: { conditions: [cond] } };
}

export const hasGpuCondition = (node: KubeNode): boolean => (node.status?.conditions ?? []).some((c) => c.type === GPU_CONDITION_TYPE);

/** Strategic-merge directive that removes our condition (and only it). */
export const removeConditionPatch = { status: { conditions: [{ type: GPU_CONDITION_TYPE, $patch: 'delete' }] } };

/**
 * Merge patch that undoes quarantine; null when nothing of ours is on the node. With `gpu`, only
 * that GPU is released: while other GPUs of the node are still recorded faulty (another incident),
 * the node stays quarantined and only the record, label and taint value move on.
 */
export function releasePatch(node: KubeNode, gpu?: string): object | null {
  const rec = quarantineRecordOf(node);
  if (gpu !== undefined && rec) {
    if (!rec.gpus.includes(gpu)) return null;
    const rest = rec.gpus.filter((g) => g !== gpu);
    if (rest.length > 0) {
      const taints = (node.spec?.taints ?? []).map((t) => (ourTaint(t) ? { ...t, value: gpuLabelValue(rest[0]!) } : t));
      return {
        metadata: {
          resourceVersion: node.metadata.resourceVersion,
          labels: { [GPU_UNHEALTHY_KEY]: gpuLabelValue(rest[0]!) },
          annotations: { [QUARANTINE_ANNOTATION]: JSON.stringify({ ...rec, gpus: rest }) },
        },
        spec: { taints },
      };
    }
  }
  const tainted = (node.spec?.taints ?? []).some(ourTaint);
  const labelled = node.metadata.labels?.[GPU_UNHEALTHY_KEY] !== undefined;
  if (!rec && !tainted && !labelled) return null;
  const spec: Record<string, unknown> = { taints: (node.spec?.taints ?? []).filter((t) => !ourTaint(t)) };
  // No record (hand-labelled): uncordon only if our taint says we cordoned it.
  if (rec ? rec.cordonedByUs : tainted) spec.unschedulable = false;
  return {
    metadata: {
      resourceVersion: node.metadata.resourceVersion,
      labels: { [GPU_UNHEALTHY_KEY]: null },
      annotations: { [QUARANTINE_ANNOTATION]: null },
    },
    spec,
  };
}

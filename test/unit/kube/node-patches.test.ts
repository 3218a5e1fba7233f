/** Quarantine and release as node patches (pure): idempotent, others' taints kept, cordon undone only if ours. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeNode } from '../../../lib/kube/kube-client.ts';
import {
  GPU_UNHEALTHY_KEY,
  MAX_GPUS_PER_NODE,
  QUARANTINE_ANNOTATION,
  gpuLabelValue,
  isQuarantined,
  quarantinePatch,
  quarantineRecordOf,
  releasePatch,
} from '../../../lib/kube/node-patches.ts';

const at = '2026-01-01T00:00:00.000Z';
const fresh = (): KubeNode => ({
  metadata: { name: 'n1', resourceVersion: '7' },
  spec: { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] },
});

/** Apply a merge patch the way the API does for these fields (labels/annotations merge with null = delete, spec fields replace). */
function apply(node: KubeNode, patch: object | null): KubeNode {
  if (!patch) return node;
  const p = patch as {
    metadata: { labels: Record<string, string | null>; annotations: Record<string, string | null> };
    spec: Record<string, unknown>;
  };
  const merge = (a: Record<string, string> = {}, b: Record<string, string | null>) => {
    const out = { ...a };
    for (const [k, v] of Object.entries(b))
      if (v === null) delete out[k];
      else out[k] = v;
    return out;
  };
  return {
    metadata: {
      ...node.metadata,
      labels: merge(node.metadata.labels, p.metadata.labels),
      annotations: merge(node.metadata.annotations, p.metadata.annotations),
    },
    spec: { ...node.spec, ...(p.spec as KubeNode['spec']) },
  };
}

test('quarantine cordons, adds our taint after the others, labels the GPU, carries the resourceVersion', () => {
  const patch = quarantinePatch(fresh(), { gpu: 'GPU-1234', by: 'alice', at }) as { metadata: { resourceVersion: string } };
  assert.equal(patch.metadata.resourceVersion, '7');
  const n = apply(fresh(), patch);
  assert.equal(n.spec?.unschedulable, true);
  assert.deepEqual(
    n.spec?.taints?.map((t) => t.key),
    ['node.kubernetes.io/not-ready', GPU_UNHEALTHY_KEY],
  );
  assert.equal(n.metadata.labels?.[GPU_UNHEALTHY_KEY], 'GPU-1234');
  assert.deepEqual(quarantineRecordOf(n), { gpus: ['GPU-1234'], by: 'alice', at, cordonedByUs: true });
  assert.equal(isQuarantined(n, 'GPU-1234'), true);
  assert.equal(quarantinePatch(n, { gpu: 'GPU-1234', by: 'bob', at }), null, 'a second quarantine writes nothing');
});

test('a second faulty GPU on the same node is added to the record; the taint stays single', () => {
  const n1 = apply(fresh(), quarantinePatch(fresh(), { gpu: 'GPU-a', by: 'x', at }));
  const n2 = apply(n1, quarantinePatch(n1, { gpu: 'GPU-b', by: 'y', at }));
  assert.deepEqual(quarantineRecordOf(n2)?.gpus, ['GPU-a', 'GPU-b']);
  assert.equal(n2.spec?.taints?.filter((t) => t.key === GPU_UNHEALTHY_KEY).length, 1);
  assert.equal(n2.metadata.labels?.[GPU_UNHEALTHY_KEY], 'GPU-a', 'the label keeps naming the first GPU');
});

test('the GPU list in the record is bounded', () => {
  let n = fresh();
  for (let i = 0; i < MAX_GPUS_PER_NODE + 5; i++) n = apply(n, quarantinePatch(n, { gpu: `GPU-${i}`, by: 'x', at }));
  const gpus = quarantineRecordOf(n)!.gpus;
  assert.equal(gpus.length, MAX_GPUS_PER_NODE);
  assert.equal(gpus.at(-1), `GPU-${MAX_GPUS_PER_NODE + 4}`);
});

test('release removes taint, label and record and uncordons what quarantine cordoned', () => {
  const q = apply(fresh(), quarantinePatch(fresh(), { gpu: 'GPU-1', by: 'x', at }));
  const r = apply(q, releasePatch(q));
  assert.equal(r.spec?.unschedulable, false);
  assert.deepEqual(
    r.spec?.taints?.map((t) => t.key),
    ['node.kubernetes.io/not-ready'],
  );
  assert.equal(r.metadata.labels?.[GPU_UNHEALTHY_KEY], undefined);
  assert.equal(r.metadata.annotations?.[QUARANTINE_ANNOTATION], undefined);
  assert.equal(releasePatch(r), null, 'nothing of ours left: no write');
});

test('a node an operator had cordoned before stays cordoned after release', () => {
  const cordoned: KubeNode = { ...fresh(), spec: { ...fresh().spec, unschedulable: true } };
  const q = apply(cordoned, quarantinePatch(cordoned, { gpu: 'GPU-1', by: 'x', at }));
  assert.equal(quarantineRecordOf(q)?.cordonedByUs, false);
  const patch = releasePatch(q) as { spec: Record<string, unknown> };
  assert.equal('unschedulable' in patch.spec, false);
});

test('label values are made valid (≤ 63 chars, [A-Za-z0-9-_.], alphanumeric ends)', () => {
  assert.equal(gpuLabelValue('GPU-5fd4a1e2-1c3b-4f0e-9a5d-0123456789ab'), 'GPU-5fd4a1e2-1c3b-4f0e-9a5d-0123456789ab');
  assert.equal(gpuLabelValue('host-1:0000:3b:00.0'), 'host-1_0000_3b_00.0');
  assert.equal(gpuLabelValue('x'.repeat(100)).length, 63);
  assert.equal(gpuLabelValue('--a--'), 'a');
  assert.equal(gpuLabelValue(':::'), 'unknown');
  for (const v of ['GPU-1', 'host-1_0000_3b_00.0', gpuLabelValue('_x' + 'y'.repeat(80) + '.')])
    assert.match(v, /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/);
});

test('a hand-edited, unparsable record is treated as absent', () => {
  const n: KubeNode = { metadata: { name: 'n', annotations: { [QUARANTINE_ANNOTATION]: '{not json' } } };
  assert.equal(quarantineRecordOf(n), undefined);
});

test('releasing one GPU keeps the node quarantined while another GPU of it is still recorded faulty', () => {
  let n = apply(fresh(), quarantinePatch(fresh(), { gpu: 'GPU-a', by: 'x', at }));
  n = apply(n, quarantinePatch(n, { gpu: 'GPU-b', by: 'y', at }));
  const one = apply(n, releasePatch(n, 'GPU-a'));
  assert.equal(one.spec?.unschedulable, true);
  assert.deepEqual(quarantineRecordOf(one)?.gpus, ['GPU-b']);
  assert.equal(one.metadata.labels?.[GPU_UNHEALTHY_KEY], 'GPU-b');
  assert.equal(one.spec?.taints?.find((t) => t.key === GPU_UNHEALTHY_KEY)?.value, 'GPU-b');
  assert.equal(releasePatch(one, 'GPU-a'), null, 'that GPU is released already');
  const none = apply(one, releasePatch(one, 'GPU-b'));
  assert.equal(none.spec?.unschedulable, false, 'the last GPU released: the node is released');
  assert.equal(none.metadata.labels?.[GPU_UNHEALTHY_KEY], undefined);
});

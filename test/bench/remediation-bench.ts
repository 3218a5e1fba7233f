/**
 * Remediation benchmark (not a test; prints figures): the activities against a real
 * kube-apiserver + etcd (infra/stack/kube.ts). Quarantine (GET + PATCH node + PATCH status) and
 * release on N nodes one after another, the breaker's fleet read on a fleet of N nodes, and one
 * drain pass over P pods on one node (no budgets).
 *
 *   npx tsx test/bench/remediation-bench.ts [--nodes 200] [--pods 100]
 */
import { parseArgs } from 'node:util';
import { startKube } from '../support/kube.ts';
import { createNamespace, createNode, createPod } from '../support/kube-fixtures.ts';
import { KubeClient } from '../../lib/kube/kube-client.ts';
import { fromKubeconfig } from '../../lib/kube/kube-config.ts';
import { createRemediationActivities } from '../../activities/remediation/remediation-activities.ts';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '200' }, pods: { type: 'string', default: '100' } } });
const N = Number(values.nodes);
const P = Number(values.pods);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

async function main(): Promise<void> {
  const kube = await startKube();
  const creds = fromKubeconfig(kube.kubeconfigPath);
  const client = new KubeClient({ credentials: () => creds });
  const acts = createRemediationActivities({ kube: client });
  try {
    for (let i = 0; i < N; i++) await createNode(kube, `bench-${i}`);
    const at = new Date().toISOString();
    const q: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await acts.quarantineNode({ node: `bench-${i}`, gpu: `GPU-${i}`, by: 'bench', at });
      q.push(performance.now() - t0);
    }
    let t0 = performance.now();
    const fleet = await acts.fleetQuarantineState({});
    const fleetMs = performance.now() - t0;
    const r: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      await acts.releaseNode({ node: `bench-${i}`, by: 'bench', at });
      r.push(performance.now() - t);
    }
    await createNamespace(kube, 'bench');
    for (let i = 0; i < P; i++) await createPod(kube, 'bench', `p-${i}`, 'bench-0');
    t0 = performance.now();
    const pass = await acts.drainPass({ node: 'bench-0' });
    const drainMs = performance.now() - t0;
    console.log(
      JSON.stringify(
        {
          nodes: N,
          quarantineMs: { p50: +pct(q, 50).toFixed(1), p95: +pct(q, 95).toFixed(1) },
          releaseMs: { p50: +pct(r, 50).toFixed(1), p95: +pct(r, 95).toFixed(1) },
          fleetReadMs: +fleetMs.toFixed(1),
          fleetSeen: fleet.fleetSize,
          quarantinedSeen: fleet.quarantined.length,
          drainPass: { pods: P, evicted: pass.evicted.length, ms: +drainMs.toFixed(0), perPodMs: +(drainMs / P).toFixed(1) },
        },
        null,
        1,
      ),
    );
  } finally {
    client.close();
    await kube.stop();
  }
}

await main();

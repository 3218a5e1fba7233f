/**
 * The Helm chart against a real Kubernetes API server (etcd + kube-apiserver
 * 1.34, test/support/kube.ts), not only offline schemas:
 * - the KEDA and Prometheus Operator CRDs (from their Go modules) installed;
 * - `helm template` for the default values, values-production.yaml and
 *   ci/validate-values.yaml, every object server-side applied with
 *   `dryRun=All` and strict field validation: all accepted, none stored;
 * - the remediation RBAC applied for real: the ServiceAccount's own token
 *   (TokenRequest) may exactly what the ClusterRole says — checked verb by
 *   verb with SelfSubjectAccessReview and with real requests — and nothing else.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../lib/config.ts';
import { cacheDir, isExecutable } from '../../../infra/stack/binaries.ts';
import { CHART_CRDS, ensureCrds } from '../../../infra/stack/kube-crds.ts';
import { startKube, kubeRequest, serviceAccountToken, KubeRequestError, type KubeServer } from '../../support/kube.ts';
import { applyObject, installCrds, parseManifests, ResourcePaths, type KubeObject } from '../../support/kube-apply.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CHART = join(ROOT, 'infra/helm/telemetry-stack');
const NAMESPACE = 'telemetry';
// The version the test server runs; the chart declares kubeVersion >=1.27.
const KUBE_VERSION = '1.34.4';
const cache = cacheDir(loadConfig().TELEMETRY_CACHE_DIR);
const HELM = join(cache, 'bin', 'helm');

/** helm template of the chart with `args`; release telemetry-stack in NAMESPACE. */
function render(args: string[], release = 'telemetry-stack'): KubeObject[] {
  const r = spawnSync(HELM, ['template', release, CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return parseManifests(r.stdout, `helm template ${args.join(' ')}`);
}

const VALUES: Record<string, string[]> = {
  // values.yaml plus the two values its guards require.
  default: ['--set', 'existingSecret=telemetry-stack-secrets', '--set', 'config.CHAIN_RPC_URL=http://geth.chain.svc.cluster.local:8545'],
  production: ['-f', join(CHART, 'values-production.yaml')],
  'all features (ci/validate-values.yaml)': ['-f', join(CHART, 'ci/validate-values.yaml')],
};

let kube: KubeServer;
let paths: ResourcePaths;
let crds: string[];
const rendered: Record<string, KubeObject[]> = {};

before(async () => {
  // helm is built (go install, cached) by infra/scripts/validate-deploy.sh, which owns its version; CI runs it first.
  if (!isExecutable(HELM)) {
    const r = spawnSync('bash', [join(ROOT, 'infra/scripts/validate-deploy.sh')], { encoding: 'utf8', timeout: 30 * 60_000 });
    assert.equal(r.status, 0, `validate-deploy.sh (which builds helm) failed:\n${r.stdout}\n${r.stderr}`);
  }
  for (const [name, args] of Object.entries(VALUES)) rendered[name] = render(args);
  const files = (await Promise.all(CHART_CRDS.map((s) => ensureCrds(cache, s)))).flat();
  kube = await startKube();
  paths = new ResourcePaths(kube);
  crds = await installCrds(kube, paths, files);
  // The install target exists, as with `helm install --create-namespace`.
  await kubeRequest(kube, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } } });
});
after(() => kube?.stop());

describe('CRDs from the Go modules', () => {
  test('KEDA and Prometheus Operator CRDs are installed and served', async () => {
    for (const name of [
      'scaledobjects.keda.sh',
      'triggerauthentications.keda.sh',
      'servicemonitors.monitoring.coreos.com',
      'prometheusrules.monitoring.coreos.com',
    ])
      assert.ok(crds.includes(name), `${name} missing from ${crds.join(', ')}`);
    assert.equal((await paths.resource('keda.sh/v1alpha1', 'ScaledObject')).name, 'scaledobjects');
    assert.equal((await paths.resource('monitoring.coreos.com/v1', 'PrometheusRule')).name, 'prometheusrules');
  });
});

describe('every rendered object is accepted by the API server (server-side apply, dryRun=All, strict fields)', () => {
  for (const name of Object.keys(VALUES)) {
    test(name, async () => {
      const objs = rendered[name]!;
      const kinds = new Set(objs.map((o) => o.kind));
      for (const k of [
        'Deployment',
        'ConfigMap',
        'Service',
        'ServiceAccount',
        'PodDisruptionBudget',
        'ScaledObject',
        'ServiceMonitor',
        'PrometheusRule',
      ])
        assert.ok(kinds.has(k), `${name}: no ${k} rendered`);
      const refused: string[] = [];
      for (const obj of objs) {
        try {
          const answer = await applyObject(kube, paths, obj, { namespace: NAMESPACE, dryRun: true });
          assert.equal(answer.kind, obj.kind);
          assert.equal(answer.metadata.name, obj.metadata.name);
        } catch (err) {
          if (!(err instanceof KubeRequestError)) throw err;
          refused.push(`${obj.kind}/${obj.metadata.name}: ${err.message}`);
        }
      }
      assert.deepEqual(refused, [], `${name}: refused by the API server`);
      // dryRun=All stores nothing.
      const deployments = await kubeRequest(kube, 'GET', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`);
      assert.deepEqual((deployments.body as { items: unknown[] }).items, []);
    });
  }

  test('the check can fail: a misspelt field is refused, in a core object and in a custom resource', async () => {
    // Server-side apply builds a typed patch from the schema first, so a misspelt field fails there ("not declared in schema").
    const objs = rendered.production!;
    const deployment = structuredClone(objs.find((o) => o.kind === 'Deployment')!) as KubeObject & { spec: Record<string, unknown> };
    deployment.spec.replica = 2;
    await assert.rejects(
      applyObject(kube, paths, deployment, { namespace: NAMESPACE, dryRun: true }),
      /spec\.replica\b.*(field not declared in schema|unknown field)/,
    );
    const so = structuredClone(objs.find((o) => o.kind === 'ScaledObject')!) as KubeObject & { spec: Record<string, unknown> };
    so.spec.minReplicas = 1;
    await assert.rejects(
      applyObject(kube, paths, so, { namespace: NAMESPACE, dryRun: true }),
      /spec\.minReplicas\b.*(field not declared in schema|unknown field)/,
    );
    // A value the CRD's schema forbids (maxReplicaCount is an integer).
    const bad = structuredClone(objs.find((o) => o.kind === 'ScaledObject')!) as KubeObject & { spec: Record<string, unknown> };
    bad.spec.maxReplicaCount = 'many';
    await assert.rejects(applyObject(kube, paths, bad, { namespace: NAMESPACE, dryRun: true }), /maxReplicaCount/);
  });
});

// ---------------------------------------------------------------------------
// RBAC of the remediation actions
// ---------------------------------------------------------------------------

interface Attr {
  verb: string;
  resource: string;
  subresource?: string;
  group?: string;
  namespace?: string;
}
const attr = (verb: string, spec: string, namespace?: string): Attr => {
  const [gr, subresource] = spec.split('/') as [string, string | undefined];
  const [resource, group] = gr.includes('.') ? [gr.slice(0, gr.indexOf('.')), gr.slice(gr.indexOf('.') + 1)] : [gr, ''];
  return { verb, resource, subresource, group, namespace };
};

/** What the ClusterRole grants (resource[.group][/subresource] → verbs), and so all the token may do. */
const GRANTED: Record<string, string[]> = {
  nodes: ['get', 'list', 'watch', 'patch'],
  'nodes/status': ['patch', 'update'],
  pods: ['list'],
  'pods/eviction': ['create'],
  'poddisruptionbudgets.policy': ['get', 'list'],
};
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const PROBED = [
  ...Object.keys(GRANTED),
  'namespaces',
  'secrets',
  'configmaps',
  'serviceaccounts',
  'serviceaccounts/token',
  'pods/exec',
  'pods/log',
  'services',
  'events',
  'persistentvolumes',
  'deployments.apps',
  'daemonsets.apps',
  'clusterroles.rbac.authorization.k8s.io',
  'clusterrolebindings.rbac.authorization.k8s.io',
  'customresourcedefinitions.apiextensions.k8s.io',
  'scaledobjects.keda.sh',
];

async function canI(token: string, a: Attr): Promise<boolean> {
  const r = await kubeRequest(kube, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    token,
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: a } },
  });
  return (r.body as { status: { allowed: boolean } }).status.allowed;
}

describe('remediation RBAC (production values, applied for real)', () => {
  let saToken: string;
  let appToken: string;

  before(async () => {
    const objs = rendered.production!;
    const rbac = objs.filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind));
    assert.deepEqual(rbac.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ServiceAccount', 'ServiceAccount']);
    for (const o of rbac) await applyObject(kube, paths, o, { namespace: NAMESPACE });
    const worker = objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-alerts-worker')) as KubeObject & {
      spec: { template: { spec: { serviceAccountName: string; automountServiceAccountToken: boolean } } };
    };
    const podSpec = worker.spec.template.spec;
    assert.equal(podSpec.automountServiceAccountToken, true, 'the alerts worker must mount its token to call the API');
    saToken = await serviceAccountToken(kube, NAMESPACE, podSpec.serviceAccountName);
    // The ServiceAccount of the other pods (API, collect worker): no remediation rights at all.
    const api = objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-api')) as typeof worker;
    assert.notEqual(api.spec.template.spec.serviceAccountName, podSpec.serviceAccountName);
    assert.equal(api.spec.template.spec.automountServiceAccountToken, false);
    appToken = await serviceAccountToken(kube, NAMESPACE, api.spec.template.spec.serviceAccountName);

    // A GPU node with a workload, created through the API (no kubelet).
    await kubeRequest(kube, 'POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'gpu-node-a' } } });
    await kubeRequest(kube, 'POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'workloads' } },
    });
    for (const name of ['train-0', 'train-1'])
      await kubeRequest(kube, 'POST', '/api/v1/namespaces/workloads/pods', {
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name },
          spec: { nodeName: 'gpu-node-a', containers: [{ name: 'c', image: 'trainer' }] },
        },
      });
    await kubeRequest(kube, 'POST', '/api/v1/namespaces/workloads/secrets', {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: { k: 'v' } },
    });
  });

  test('the default values render no cluster-wide RBAC (remediation is opt-in)', () => {
    const kinds = rendered.default!.map((o) => o.kind);
    assert.ok(!kinds.includes('ClusterRole') && !kinds.includes('ClusterRoleBinding'));
  });

  test('rbac.allowForcedDrain adds exactly `pods delete`, and the API server honours it', async () => {
    const objs = render([...VALUES.production!, '--set', 'remediation.rbac.allowForcedDrain=true'], 'forced');
    type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
    const rules = (o: KubeObject[]) => (o.find((x) => x.kind === 'ClusterRole') as KubeObject & { rules: Rule[] }).rules;
    const base = rules(rendered.production!);
    const key = (r: Rule) => JSON.stringify(r);
    assert.deepEqual(rules(objs).map(key).sort(), [...base, { apiGroups: [''], resources: ['pods'], verbs: ['delete'] }].map(key).sort());
    for (const o of objs.filter((x) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(x.kind)))
      await applyObject(kube, paths, o, { namespace: NAMESPACE });
    const token = await serviceAccountToken(kube, NAMESPACE, 'forced-telemetry-stack-remediation');
    assert.equal(await canI(token, attr('delete', 'pods', 'workloads')), true);
    assert.equal(await canI(token, attr('delete', 'namespaces')), false);
    assert.equal(await canI(token, attr('get', 'secrets', 'workloads')), false);
    assert.equal(await canI(token, attr('create', 'pods', 'workloads')), false);
  });

  test('SelfSubjectAccessReview: the token may exactly what the ClusterRole grants, cluster-wide and in any namespace', async () => {
    const wrong: string[] = [];
    for (const spec of PROBED) {
      for (const verb of VERBS) {
        const expected = GRANTED[spec]?.includes(verb) ?? false;
        for (const ns of [undefined, 'workloads']) {
          const allowed = await canI(saToken, attr(verb, spec, ns));
          if (allowed !== expected) wrong.push(`${verb} ${spec}${ns ? ` in ${ns}` : ''}: ${allowed ? 'allowed' : 'denied'}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
    // And the other components' ServiceAccount gets none of it.
    for (const [spec, verbs] of Object.entries(GRANTED))
      for (const verb of verbs) assert.equal(await canI(appToken, attr(verb, spec)), false, `app SA: ${verb} ${spec}`);
  });

  test('real requests: cordon, taint, label and condition a node, list its pods, read PDBs, evict a pod', async () => {
    const as = { token: saToken };
    const node = await kubeRequest(kube, 'PATCH', '/api/v1/nodes/gpu-node-a', {
      ...as,
      contentType: 'application/merge-patch+json',
      body: {
        metadata: { labels: { 'telemetry-stack.io/gpu-unhealthy': 'GPU-0f1e2d3c' } },
        spec: { unschedulable: true, taints: [{ key: 'telemetry-stack.io/gpu-unhealthy', value: 'GPU-0f1e2d3c', effect: 'NoSchedule' }] },
      },
    });
    assert.equal((node.body as { spec: { unschedulable: boolean } }).spec.unschedulable, true);
    const status = await kubeRequest(kube, 'PATCH', '/api/v1/nodes/gpu-node-a/status', {
      ...as,
      contentType: 'application/strategic-merge-patch+json',
      body: {
        status: {
          conditions: [
            {
              type: 'GPUUnhealthy',
              status: 'True',
              reason: 'XidFatal',
              message: 'GPU-0f1e2d3c',
              lastTransitionTime: new Date().toISOString(),
            },
          ],
        },
      },
    });
    assert.ok((status.body as { status: { conditions: { type: string }[] } }).status.conditions.some((c) => c.type === 'GPUUnhealthy'));
    const pods = await kubeRequest(kube, 'GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dgpu-node-a', as);
    assert.deepEqual((pods.body as { items: { metadata: { name: string } }[] }).items.map((p) => p.metadata.name).sort(), [
      'train-0',
      'train-1',
    ]);
    assert.equal((await kubeRequest(kube, 'GET', '/apis/policy/v1/poddisruptionbudgets', as)).status, 200);
    const eviction = await kubeRequest(kube, 'POST', '/api/v1/namespaces/workloads/pods/train-0/eviction', {
      ...as,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'train-0', namespace: 'workloads' } },
    });
    assert.equal(eviction.status, 201);
  });

  test('real requests: it cannot delete a namespace or a node, read Secrets, create or delete pods, or bind itself more', async () => {
    const denied: [string, string, unknown?][] = [
      ['DELETE', '/api/v1/namespaces/workloads'],
      ['DELETE', '/api/v1/nodes/gpu-node-a'],
      ['GET', '/api/v1/namespaces/workloads/secrets/creds'],
      ['GET', '/api/v1/secrets'],
      ['DELETE', '/api/v1/namespaces/workloads/pods/train-1'],
      [
        'POST',
        '/api/v1/namespaces/workloads/pods',
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'x' },
          spec: { nodeName: 'gpu-node-a', containers: [{ name: 'c', image: 'i' }] },
        },
      ],
      [
        'POST',
        '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'escalate' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: 'x', namespace: NAMESPACE }],
        },
      ],
    ];
    for (const [method, path, body] of denied) {
      const r = await kubeRequest(kube, method, path, { token: saToken, body, raw: true });
      assert.equal(r.status, 403, `${method} ${path} → ${r.status} (expected 403)`);
    }
    // The namespace and the other pod are still there.
    assert.equal((await kubeRequest(kube, 'GET', '/api/v1/namespaces/workloads')).status, 200);
    assert.equal((await kubeRequest(kube, 'GET', '/api/v1/namespaces/workloads/pods/train-1')).status, 200);
  });
});

/**
 * The test Kubernetes API server (infra/stack/kube.ts): starts on loopback,
 * TLS verifies against the CA it hands out, the admin token is cluster-admin,
 * RBAC is enforced, TokenRequest tokens authenticate as their ServiceAccount,
 * Nodes and Pods can be created without a kubelet, and stop() leaves no
 * process and no temp dir behind.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../lib/config.ts';
import { cacheDir } from '../../../infra/stack/binaries.ts';
import { startKube as startKubeServer } from '../../../infra/stack/kube.ts';
import { ServerStartError } from '../../../infra/stack/process.ts';
import { startKube, kubeRequest, serviceAccountToken, KubeRequestError, type KubeServer } from '../../support/kube.ts';

/** Pids whose command line mentions `needle` (the servers carry their data dir in their args). */
function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmd.includes(needle) && state !== 'Z') out.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

let kube: KubeServer;
let startMs: number;

before(async () => {
  const t0 = Date.now();
  kube = await startKube();
  startMs = Date.now() - t0;
});
after(() => kube?.stop());

describe('startKube', () => {
  test('serves /readyz over TLS verified with caPem; the admin token is cluster-admin', async () => {
    assert.match(kube.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    console.error(`kube-apiserver + etcd ready in ${startMs} ms`);
    const ready = await kubeRequest(kube, 'GET', '/readyz?verbose');
    assert.equal(ready.status, 200);
    assert.match(String(ready.body), /readyz check passed/);
    const version = (await kubeRequest(kube, 'GET', '/version')).body as { major: string; minor: string };
    assert.deepEqual([version.major, version.minor], ['1', '34']);
    const review = await kubeRequest(kube, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: '*', group: '*', resource: '*' } },
      },
    });
    assert.equal((review.body as { status: { allowed: boolean } }).status.allowed, true);
  });

  test('TLS with another CA is refused, a wrong token is 401', async () => {
    // Any other self-signed CA: the system store has none that signed this server.
    await assert.rejects(kubeRequest({ ...kube, caPem: '' }, 'GET', '/readyz'), /self[- ]signed|unable to verify|certificate/i);
    const r = await kubeRequest(kube, 'GET', '/api/v1/namespaces', { token: 'not-a-token', raw: true });
    assert.equal(r.status, 401);
  });

  test('the kubeconfig points at the server with the CA and the admin token', () => {
    const cfg = readFileSync(kube.kubeconfigPath, 'utf8');
    assert.match(cfg, new RegExp(`server: ${kube.url.replace(/\./g, '\\.')}\\n`));
    assert.ok(cfg.includes(`certificate-authority-data: ${Buffer.from(kube.caPem).toString('base64')}`));
    assert.ok(cfg.includes(`token: ${kube.token}`));
  });

  test('a ServiceAccount token (TokenRequest) authenticates as the ServiceAccount and RBAC limits it', async () => {
    await kubeRequest(kube, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'harness' } } });
    await kubeRequest(kube, 'POST', '/api/v1/namespaces/harness/serviceaccounts', {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'probe' } },
    });
    const token = await serviceAccountToken(kube, 'harness', 'probe');
    const who = await kubeRequest(kube, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      token,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    assert.equal(
      (who.body as { status: { userInfo: { username: string } } }).status.userInfo.username,
      'system:serviceaccount:harness:probe',
    );
    const nodes = await kubeRequest(kube, 'GET', '/api/v1/nodes', { token, raw: true });
    assert.equal(nodes.status, 403, 'RBAC must be on: a bare ServiceAccount may not list nodes');
    await assert.rejects(
      serviceAccountToken(kube, 'harness', 'missing'),
      (err: unknown) => err instanceof KubeRequestError && err.status === 404,
    );
  });

  test('Nodes and Pods are created through the API with no kubelet and no default ServiceAccount', async () => {
    await kubeRequest(kube, 'POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'gpu-node-1' } } });
    const pod = await kubeRequest(kube, 'POST', '/api/v1/namespaces/harness/pods', {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'job' },
        spec: { nodeName: 'gpu-node-1', containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    assert.equal((pod.body as { spec: { nodeName: string } }).spec.nodeName, 'gpu-node-1');
    const patched = await kubeRequest(kube, 'PATCH', '/api/v1/nodes/gpu-node-1', {
      contentType: 'application/merge-patch+json',
      body: { spec: { unschedulable: true } },
    });
    assert.equal((patched.body as { spec: { unschedulable: boolean } }).spec.unschedulable, true);
  });

  test('an apiserver that cannot start fails with its name and log, and etcd is stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-fail-'));
    try {
      // `false` exits at once: the readiness wait notices the exit ("exited with code 1"), not its timeout.
      await assert.rejects(
        startKubeServer({ dir, apiserverBin: '/bin/false', cache: cacheDir(loadConfig().TELEMETRY_CACHE_DIR), install: false }),
        (err: unknown) => err instanceof ServerStartError && err.server === 'kube-apiserver' && /exited with code 1/.test(err.message),
      );
      assert.deepEqual(pidsMentioning(dir), [], 'etcd left running');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('stop() ends etcd and kube-apiserver and removes the temp dir', async () => {
    // A second server on its own ports, so this test does not take the shared one away.
    const other = await startKube();
    assert.notEqual(other.url, kube.url);
    const pids = pidsMentioning(other.dir);
    assert.equal(pids.length, 2, `expected etcd + kube-apiserver, found pids ${pids.join(',')}`);
    await other.stop();
    assert.deepEqual(pidsMentioning(other.dir), []);
    assert.equal(existsSync(other.dir), false);
    await other.stop(); // idempotent
  });
});

/** The Kubernetes client's request building, error classes and credential sources (no server). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKubeRequest } from '../../../lib/kube/kube-client.ts';
import { KUBE_ERROR, KubeApiError, KubeConfigError, kubeErrorCode } from '../../../lib/kube/kube-errors.ts';
import { fromInCluster, fromKubeconfig, kubeConfigured, kubeCredentialsProvider, TOKEN_REREAD_MS } from '../../../lib/kube/kube-config.ts';

const creds = { server: 'https://10.0.0.1:6443/', token: 'tok-123' };

test('a merge patch of a node: path, bearer token, content type and length', () => {
  const r = buildKubeRequest(creds, { method: 'PATCH', path: '/api/v1/nodes/gpu-1', body: { spec: { unschedulable: true } } });
  assert.equal(r.url.toString(), 'https://10.0.0.1:6443/api/v1/nodes/gpu-1');
  assert.equal(r.method, 'PATCH');
  assert.equal(r.headers.authorization, 'Bearer tok-123');
  assert.equal(r.headers['content-type'], 'application/merge-patch+json');
  assert.equal(r.body, '{"spec":{"unschedulable":true}}');
  assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body!)));
});

test('strategic and JSON patches, and POST bodies, carry their own content types', () => {
  assert.equal(
    buildKubeRequest(creds, { method: 'PATCH', path: '/x', body: {}, patch: 'strategic' }).headers['content-type'],
    'application/strategic-merge-patch+json',
  );
  assert.equal(
    buildKubeRequest(creds, { method: 'PATCH', path: '/x', body: [], patch: 'json' }).headers['content-type'],
    'application/json-patch+json',
  );
  assert.equal(buildKubeRequest(creds, { method: 'POST', path: '/x', body: {} }).headers['content-type'], 'application/json');
  const get = buildKubeRequest(creds, { method: 'GET', path: '/x' });
  assert.equal(get.body, undefined);
  assert.equal(get.headers['content-type'], undefined);
});

test('query parameters are encoded (field selectors contain = and /); undefined ones are left out', () => {
  const r = buildKubeRequest(creds, {
    method: 'GET',
    path: '/api/v1/pods',
    query: { fieldSelector: 'spec.nodeName=gpu-1', limit: 500, continue: undefined },
  });
  assert.equal(r.url.search, '?fieldSelector=spec.nodeName%3Dgpu-1&limit=500');
});

test('a relative path is refused', () => {
  assert.throws(() => buildKubeRequest(creds, { method: 'GET', path: 'api/v1/nodes' }), /must start with/);
});

test('answers are classified: 409/429/5xx/no answer retryable, 4xx permanent', () => {
  assert.equal(kubeErrorCode(409), KUBE_ERROR.conflict);
  assert.equal(kubeErrorCode(422), KUBE_ERROR.badRequest);
  assert.equal(kubeErrorCode(403), KUBE_ERROR.forbidden);
  for (const s of [409, 429, 500, 503, 0]) assert.equal(new KubeApiError('GET', '/x', s, undefined).retryable, true, String(s));
  for (const s of [400, 401, 403, 404, 422]) assert.equal(new KubeApiError('GET', '/x', s, undefined).retryable, false, String(s));
  const e = new KubeApiError('POST', '/api/v1/namespaces/a/pods/b/eviction', 429, {
    message: "Cannot evict pod as it would violate the pod's disruption budget.",
    details: { retryAfterSeconds: 10 },
  });
  assert.match(e.message, /429 Cannot evict pod/);
  assert.equal(e.retryAfterS, 10);
  assert.equal(e.name, 'KubeApiError');
});

function kubeconfig(
  dir: string,
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = {
    server: 'https://127.0.0.1:6443',
    'certificate-authority-data': Buffer.from('PEM').toString('base64'),
  },
): string {
  const path = join(dir, 'config');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: ctx',
      'contexts:',
      '- name: ctx',
      '  context: { cluster: c, user: u }',
      '- name: other',
      '  context: { cluster: c, user: nobody }',
      'clusters:',
      `- name: c`,
      `  cluster: ${JSON.stringify(cluster)}`,
      'users:',
      `- name: u`,
      `  user: ${JSON.stringify(user)}`,
    ].join('\n'),
  );
  return path;
}

test('kubeconfig: current context, token and CA data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kcfg-'));
  const c = fromKubeconfig(kubeconfig(dir, { token: 'abc' }));
  assert.deepEqual({ server: c.server, token: c.token, caPem: c.caPem }, { server: 'https://127.0.0.1:6443', token: 'abc', caPem: 'PEM' });
});

test('kubeconfig: tokenFile and certificate-authority are relative to the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kcfg-'));
  writeFileSync(join(dir, 'tok'), 'from-file\n');
  writeFileSync(join(dir, 'ca.pem'), 'CA-FILE');
  const c = fromKubeconfig(kubeconfig(dir, { tokenFile: 'tok' }, { server: 'https://h:1', 'certificate-authority': 'ca.pem' }));
  assert.equal(c.token, 'from-file');
  assert.equal(c.caPem, 'CA-FILE');
});

test('kubeconfig: exec plugins, client certs, insecure TLS and unknown contexts are refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kcfg-'));
  assert.throws(
    () => fromKubeconfig(kubeconfig(dir, { exec: { command: 'aws' } })),
    (e: Error) => e instanceof KubeConfigError && /exec plugins are not supported/.test(e.message),
  );
  assert.throws(() => fromKubeconfig(kubeconfig(dir, { 'client-certificate-data': 'x' })), /client certificates are not supported/);
  assert.throws(
    () => fromKubeconfig(kubeconfig(dir, { token: 't' }, { server: 'https://h:1', 'insecure-skip-tls-verify': true })),
    /insecure-skip-tls-verify is refused/,
  );
  assert.throws(() => fromKubeconfig(kubeconfig(dir, { token: 't' }), 'missing'), /context "missing" not found/);
  assert.throws(() => fromKubeconfig(kubeconfig(dir, { token: 't' }), 'other'), /user "nobody" not found/);
  assert.throws(() => fromKubeconfig(join(dir, 'nope')), /cannot read kubeconfig/);
});

test('in-cluster: service host, token and CA from the mounted service account; re-read after rotation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sa-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'token'), 'sa-token-1\n');
  writeFileSync(join(dir, 'ca.crt'), 'CLUSTER-CA');
  const input = { inCluster: 'auto' as const, serviceHost: '10.96.0.1', servicePort: 443, inClusterDir: dir };
  assert.equal(kubeConfigured(input), true);
  assert.deepEqual(fromInCluster(input), {
    server: 'https://10.96.0.1:443',
    token: 'sa-token-1',
    caPem: 'CLUSTER-CA',
    source: 'in-cluster service account',
  });
  assert.equal(fromInCluster({ ...input, serviceHost: 'fd00::1' }).server, 'https://[fd00::1]:443');
  let now = 0;
  const provider = kubeCredentialsProvider(input, () => now);
  writeFileSync(join(dir, 'token'), 'sa-token-2\n');
  assert.equal(provider().token, 'sa-token-1', 'cached within the re-read period');
  now = TOKEN_REREAD_MS;
  assert.equal(provider().token, 'sa-token-2', 'rotated token picked up');
  assert.equal(kubeConfigured({ ...input, inCluster: 'off' }), false);
  assert.equal(kubeConfigured({ inCluster: 'auto' }), false);
  assert.throws(() => fromInCluster({ inClusterDir: dir }), /KUBERNETES_SERVICE_HOST is not set/);
});

/** /v1/nodes/:node/:action and /v1/remediations/:id with app.inject: scope, validation, 200/202, idempotency keys, 503 without a cluster. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../../api/app.ts';
import { makeServices, testConfig } from '../fakes.ts';
import type { RemediationService } from '../../../../api/remediation-service.ts';
import type { RemediationRecord, RemediationRequest } from '../../../../lib/kube/remediation-types.ts';

const OPS = 'ops-remediate-key-0123';
const ACK = 'ack-only-key-0123456';
const KEYS = `ops=${OPS}:remediate+read,acker=${ACK}:ack+read`;
const record = (req: RemediationRequest): RemediationRecord => ({
  id: 'wf',
  action: req.action,
  node: req.node,
  by: req.by,
  via: req.via,
  requestedAt: 'x',
  finishedAt: 'y',
  outcome: 'done',
  detail: `${req.action} ${req.node}`,
  api: ['PATCH nodes/n → 200'],
});

describe('node remediation routes', () => {
  let app: FastifyInstance;
  let bare: FastifyInstance;
  const calls: { req: RemediationRequest; key: string; waitMs?: number }[] = [];
  const remediation: RemediationService = {
    async request(req, key, waitMs) {
      calls.push({ req, key, waitMs });
      return req.action === 'drain' ? { workflowId: `wf-${key}` } : { workflowId: `wf-${key}`, record: record(req) };
    },
    async forAlert(id) {
      return id === 'alert-GPU-1-xid' ? { node: 'gpu-1', gpu: 'GPU-1', episode: 'alert-GPU-1-xid@t0' } : undefined;
    },
    async get(id) {
      return id === 'wf-known' ? { running: true, record: record({ action: 'drain', node: 'gpu-1', by: 'x', via: 'api' }) } : undefined;
    },
    nodeFor: ({ host }) => host,
    async requestForAlert() {
      throw new Error('not used by the routes');
    },
  };
  before(async () => {
    app = await buildApp({ cfg: testConfig({ API_KEYS: KEYS }), services: { ...makeServices(), remediation }, logger: false });
    bare = await buildApp({ cfg: testConfig({ API_KEYS: KEYS }), services: makeServices(), logger: false });
  });
  after(async () => {
    await app.close();
    await bare.close();
  });

  test('needs the remediate scope', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/nodes/gpu-1/quarantine', headers: { 'x-api-key': ACK }, payload: {} });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /"remediate" scope/);
    assert.equal((await app.inject({ method: 'POST', url: '/v1/nodes/gpu-1/quarantine', payload: {} })).statusCode, 401);
  });

  test("quarantine answers 200 with the record, as the key's identity; the incident gives GPU and key", async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/nodes/gpu-1/quarantine',
      headers: { 'x-api-key': OPS },
      payload: { alertId: 'alert-GPU-1-xid' },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().record.outcome, 'done');
    const c = calls.at(-1)!;
    assert.deepEqual([c.req.by, c.req.via, c.req.gpu, c.key], ['key:ops', 'api', 'GPU-1', 'alert-GPU-1-xid@t0']);
    assert.ok(c.waitMs! > 0);
  });

  test('a drain answers 202 at once; Idempotency-Key is the workflow key', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/nodes/gpu-1/drain',
      headers: { 'x-api-key': OPS, 'idempotency-key': 'ticket-42' },
      payload: { force: true, timeoutS: 30 },
    });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { workflowId: 'wf-ticket-42', running: true });
    const c = calls.at(-1)!;
    assert.deepEqual([c.key, c.req.force, c.req.drainTimeoutS, c.waitMs], ['ticket-42', true, 30, 0]);
  });

  test('bad node names, actions and options are 400 naming the problem; an unknown incident is 404', async () => {
    const h = { 'x-api-key': OPS };
    const bad = await app.inject({ method: 'POST', url: '/v1/nodes/Not_A_Node/quarantine', headers: h, payload: {} });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /node name/);
    assert.equal((await app.inject({ method: 'POST', url: '/v1/nodes/gpu-1/reboot', headers: h, payload: {} })).statusCode, 400);
    const t = await app.inject({ method: 'POST', url: '/v1/nodes/gpu-1/drain', headers: h, payload: { timeoutS: 1 } });
    assert.equal(t.statusCode, 400);
    assert.match(t.body, /timeoutS/);
    assert.equal(
      (await app.inject({ method: 'POST', url: '/v1/nodes/gpu-1/quarantine', headers: h, payload: { alertId: 'nope' } })).statusCode,
      404,
    );
  });

  test('GET /v1/remediations/:id: progress or 404', async () => {
    const ok = await app.inject({ method: 'GET', url: '/v1/remediations/wf-known', headers: { 'x-api-key': OPS } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().running, true);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/remediations/other', headers: { 'x-api-key': OPS } })).statusCode, 404);
  });

  test('without a cluster the routes answer 503 saying so', async () => {
    const res = await bare.inject({ method: 'POST', url: '/v1/nodes/gpu-1/release', headers: { 'x-api-key': OPS }, payload: {} });
    assert.equal(res.statusCode, 503);
    assert.match(res.json().message, /no Kubernetes cluster is configured/);
  });

  test("GET /v1/devices carries each device's node (here: its host tag)", async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/devices', headers: { 'x-api-key': OPS } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().devices[0].node, 'node-01');
    const none = await bare.inject({ method: 'GET', url: '/v1/devices', headers: { 'x-api-key': OPS } });
    assert.equal(none.json().devices[0].node, undefined);
  });

  test('the OpenAPI document lists the node routes', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown> };
    assert.ok(doc.paths['/v1/nodes/{node}/{action}']);
    assert.ok(doc.paths['/v1/remediations/{id}']);
  });
});

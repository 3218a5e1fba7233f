import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { auth, harness, KEYS, type Harness } from '../fakes.ts';

const FIRING = 'alert-GPU-aaa-temp-high';
const RESOLVED = 'alert-GPU-bbb-ecc-dbe';
const AUDITED = 'alert-GPU-ccc-power-cap';
const AUDIT = {
  alertId: AUDITED,
  events: [{ kind: 'raised', txHash: `0x${'ab'.repeat(32)}`, blockNumber: 12 }],
};

describe('alerts routes', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.app.close());
  beforeEach(() => {
    h.services.alerts.alerts.clear();
    h.services.alerts.add(FIRING, 'firing');
    h.services.alerts.add(RESOLVED, 'resolved');
    h.services.alerts.add(AUDITED, 'acknowledged', AUDIT);
    h.services.alerts.ackCalls.length = 0;
    h.services.alerts.listCalls.length = 0;
  });

  test('list passes the status filter (and defaults) through to the service', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/alerts?status=firing&device=GPU-aaa', headers: auth(KEYS.read) });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(h.services.alerts.listCalls, [{ status: 'firing', device: 'GPU-aaa', limit: 100 }]);
    assert.deepEqual(
      res.json().alerts.map((a: { id: string }) => a.id),
      [FIRING],
    );
  });

  test('list with an unknown status → 400 naming status; the service is not called', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/alerts?status=burning', headers: auth(KEYS.read) });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /status/);
    assert.equal(h.services.alerts.listCalls.length, 0);
  });

  test('GET a known id → its state; an unknown id → 404', async () => {
    const ok = await h.app.inject({ method: 'GET', url: `/v1/alerts/${FIRING}`, headers: auth(KEYS.read) });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().status, 'firing');
    const missing = await h.app.inject({ method: 'GET', url: '/v1/alerts/alert-GPU-zzz-nope', headers: auth(KEYS.read) });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error, 'not_found');
    assert.match(missing.json().message, /alert-GPU-zzz-nope/);
  });

  test('POST ack → the service result (receipt); the service got by and via api', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/ack`, headers: auth(KEYS.ack), payload: { by: 'alice' } });
    assert.equal(res.statusCode, 200);
    const receipt = res.json();
    assert.match(receipt.txHash, /^0x[0-9a-f]{64}$/);
    assert.equal(typeof receipt.blockNumber, 'number');
    assert.equal(receipt.alreadyRecorded, false);
    assert.deepEqual(h.services.alerts.ackCalls, [{ id: FIRING, by: 'alice', via: 'api' }]);
  });

  test('ack of a resolved alert (the service says "resolved") → 409 with its message', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${RESOLVED}/ack`, headers: auth(KEYS.ack), payload: { by: 'alice' } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error, 'conflict');
    assert.match(res.json().message, /already resolved/);
  });

  test('ack of an unknown alert → 404 and no ack attempted', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/alerts/alert-GPU-zzz-nope/ack', headers: auth(KEYS.ack), payload: { by: 'alice' } });
    assert.equal(res.statusCode, 404);
    assert.equal(h.services.alerts.ackCalls.length, 0);
  });

  test('ack requires the ack scope: a read-only key → 403, nothing acknowledged', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/ack`, headers: auth(KEYS.read), payload: { by: 'alice' } });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /"ack"/);
    assert.equal(h.services.alerts.ackCalls.length, 0);
  });

  test('ack without `by` → 400 naming by', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/ack`, headers: auth(KEYS.ack), payload: {} });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /by/);
    assert.equal(h.services.alerts.ackCalls.length, 0);
  });

  test('an ack failing for another reason → 500 without the internal message', async () => {
    const alerts = h.services.alerts;
    const orig = alerts.ack.bind(alerts);
    alerts.ack = async () => {
      throw new Error('Temporal frontend 10.2.3.4:7233 unavailable');
    };
    try {
      const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/ack`, headers: auth(KEYS.ack), payload: { by: 'alice' } });
      assert.equal(res.statusCode, 500);
      assert.ok(!res.body.includes('10.2.3.4'));
    } finally {
      alerts.ack = orig;
    }
  });

  test('resolve → 202 and the service gets by and the reason (default when omitted)', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/resolve`, headers: auth(KEYS.readAck), payload: { by: 'bob' } });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(h.services.alerts.resolveCalls.at(-1), { id: FIRING, by: 'bob', reason: 'resolved via API' });
  });

  test('audit → the on-chain record; null → 404', async () => {
    const ok = await h.app.inject({ method: 'GET', url: `/v1/alerts/${AUDITED}/audit`, headers: auth(KEYS.read) });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), AUDIT);
    const none = await h.app.inject({ method: 'GET', url: `/v1/alerts/${FIRING}/audit`, headers: auth(KEYS.read) });
    assert.equal(none.statusCode, 404);
    assert.match(none.json().message, new RegExp(FIRING));
  });
});

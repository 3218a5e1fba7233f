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

  test('POST ack → the receipt; recorded as the key\'s identity (key:<name>), via api', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/ack`, headers: auth(KEYS.ack), payload: {} });
    assert.equal(res.statusCode, 200);
    const { receipt, chain, by } = res.json();
    assert.match(receipt.txHash, /^0x[0-9a-f]{64}$/);
    assert.equal(typeof receipt.blockNumber, 'number');
    assert.equal(receipt.alreadyRecorded, false);
    assert.equal(chain, 'recorded');
    assert.equal(by, 'key:acker');
    assert.deepEqual(h.services.alerts.ackCalls, [{ id: FIRING, by: 'key:acker', via: 'api' }]);
  });

  test('a body `by` from a key without act-as → 403 naming the scope; nothing acknowledged', async () => {
    const before = h.services.alerts.ackCalls.length;
    for (const url of [`/v1/alerts/${FIRING}/ack`, `/v1/alerts/${FIRING}/resolve`]) {
      const res = await h.app.inject({ method: 'POST', url, headers: auth(KEYS.ack), payload: { by: 'mallory-says-alice' } });
      assert.equal(res.statusCode, 403, url);
      assert.equal(res.json().error, 'forbidden');
      assert.match(res.json().message, /"act-as"/);
      assert.match(res.json().message, /key:acker/);
    }
    assert.equal(h.services.alerts.ackCalls.length, before);
    assert.ok(!h.services.alerts.resolveCalls.some((c) => c.by.includes('mallory')));
  });

  test('an act-as key may name who it acts for: both are recorded', async () => {
    h.services.alerts.add('alert-GPU-act-as', 'firing');
    const res = await h.app.inject({ method: 'POST', url: '/v1/alerts/alert-GPU-act-as/ack', headers: auth(KEYS.actAs), payload: { by: 'alice@example.com' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().by, 'alice@example.com (by key:pagerbot)');
    assert.deepEqual(h.services.alerts.ackCalls.at(-1), { id: 'alert-GPU-act-as', by: 'alice@example.com (by key:pagerbot)', via: 'api' });
    // Its own identity needs no act-as wording.
    const own = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/resolve`, headers: auth(KEYS.actAs), payload: { by: 'key:pagerbot' } });
    assert.equal(own.statusCode, 202);
    assert.equal(h.services.alerts.resolveCalls.at(-1)?.by, 'key:pagerbot');
  });

  test('chain down → 202 with chain: pending (the ack is recorded in the workflow)', async () => {
    h.services.alerts.add('alert-GPU-chain-down', 'firing');
    h.services.alerts.chainDown = true;
    try {
      const res = await h.app.inject({ method: 'POST', url: '/v1/alerts/alert-GPU-chain-down/ack', headers: auth(KEYS.ack) });
      assert.equal(res.statusCode, 202);
      assert.deepEqual([res.json().chain, res.json().receipt], ['pending', null]);
    } finally {
      h.services.alerts.chainDown = false;
    }
  });

  test('ack of a resolved alert (the service says "resolved") → 409 with its message', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${RESOLVED}/ack`, headers: auth(KEYS.ack), payload: {} });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error, 'conflict');
    assert.match(res.json().message, /already resolved/);
  });

  test('ack of an unknown alert → 404 and no ack attempted', async () => {
    const before = h.services.alerts.ackCalls.length;
    const res = await h.app.inject({ method: 'POST', url: '/v1/alerts/alert-GPU-zzz-nope/ack', headers: auth(KEYS.ack), payload: {} });
    assert.equal(res.statusCode, 404);
    assert.equal(h.services.alerts.ackCalls.length, before);
  });

  test('ack requires the ack scope: a read-only key → 403, nothing acknowledged', async () => {
    const before = h.services.alerts.ackCalls.length;
    const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/ack`, headers: auth(KEYS.read), payload: {} });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /"ack"/);
    assert.equal(h.services.alerts.ackCalls.length, before);
  });

  test('a malformed `by` (empty, not a string) → 400 naming by', async () => {
    const before = h.services.alerts.ackCalls.length;
    for (const by of ['', 42]) {
      const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/ack`, headers: auth(KEYS.actAs), payload: { by } });
      assert.equal(res.statusCode, 400);
      assert.match(res.json().message, /by/);
    }
    assert.equal(h.services.alerts.ackCalls.length, before);
  });

  test('an ack failing for another reason → 500 without the internal message', async () => {
    const alerts = h.services.alerts;
    const orig = alerts.ack.bind(alerts);
    alerts.ack = async () => {
      throw new Error('Temporal frontend 10.2.3.4:7233 unavailable');
    };
    try {
      const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/ack`, headers: auth(KEYS.ack), payload: {} });
      assert.equal(res.statusCode, 500);
      assert.ok(!res.body.includes('10.2.3.4'));
    } finally {
      alerts.ack = orig;
    }
  });

  test('resolve → 202 and the service gets by and the reason (default when omitted)', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/resolve`, headers: auth(KEYS.readAck), payload: {} });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(h.services.alerts.resolveCalls.at(-1), { id: FIRING, by: 'key:oncall-ui', reason: 'resolved via API' });
  });

  test("snooze → 202 recorded as the key's identity; the duration is validated", async () => {
    h.services.alerts.snoozeCalls.length = 0;
    const res = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/snooze`, headers: auth(KEYS.readAck), payload: { duration: '30m' } });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), { accepted: true, by: 'key:oncall-ui' });
    assert.deepEqual(h.services.alerts.snoozeCalls, [{ id: FIRING, by: 'key:oncall-ui', duration: '30m' }]);
    for (const duration of ['forever', '0m', '1d', '', '1234567h']) {
      const bad = await h.app.inject({ method: 'POST', url: `/v1/alerts/${FIRING}/snooze`, headers: auth(KEYS.readAck), payload: { duration } });
      assert.equal(bad.statusCode, 400, `duration ${JSON.stringify(duration)}`);
      assert.match(bad.json().message, /duration/);
    }
    assert.equal(h.services.alerts.snoozeCalls.length, 1, 'nothing snoozed by a bad request');
  });

  test('snooze: unknown → 404, closed → 409 (typed alert error), `by` without act-as → 403, read-only key → 403', async () => {
    h.services.alerts.snoozeCalls.length = 0;
    const post = (id: string, key: string, payload: object) => h.app.inject({ method: 'POST', url: `/v1/alerts/${id}/snooze`, headers: auth(key), payload });
    assert.equal((await post('alert-nope', KEYS.ack, { duration: '1h' })).statusCode, 404);
    const closed = await post(RESOLVED, KEYS.ack, { duration: '1h' });
    assert.equal(closed.statusCode, 409, closed.body);
    assert.equal(closed.json().error, 'alert_closed');
    const other = await post(FIRING, KEYS.ack, { duration: '1h', by: 'someone-else' });
    assert.equal(other.statusCode, 403);
    assert.match(other.json().message, /act-as/);
    assert.equal((await post(FIRING, KEYS.read, { duration: '1h' })).statusCode, 403);
    assert.equal(h.services.alerts.snoozeCalls.length, 0);
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

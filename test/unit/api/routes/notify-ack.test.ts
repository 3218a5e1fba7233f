/** `/v1/notify/ack` (api/routes/notify-ack.ts) with app.inject: GET confirms only, POST acks, bad links are refused and counted. */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'prom-client';
import { harness, type Harness } from '../fakes.ts';
import { signAckToken } from '../../../../lib/notify/ack-token.ts';

const KEY = 'unit-notify-ack-key-0123456789abcdef';
const ID = 'alert-GPU-aaa-temp-high';
const now = () => Math.floor(Date.now() / 1000);
const token = (o: { alertId?: string; expiresAtS?: number; key?: string } = {}) =>
  signAckToken(o.key ?? KEY, { alertId: o.alertId ?? ID, via: 'ntfy', target: 'gpu-oncall', expiresAtS: o.expiresAtS ?? now() + 600 });
const url = (t: string) => `/v1/notify/ack?token=${encodeURIComponent(t)}`;
const rejected = async (problem: string) =>
  ((await register.getSingleMetric('telemetry_notify_ack_rejected_total')!.get()).values.find((v) => v.labels.problem === problem)?.value ?? 0);

describe('signed acknowledge links', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ NOTIFY_ACK_SECRET: KEY });
  });
  after(() => h.app.close());
  beforeEach(() => {
    h.services.alerts.alerts.clear();
    h.services.alerts.add(ID, 'firing');
    h.services.alerts.add('alert-done', 'resolved');
    h.services.alerts.ackCalls.length = 0;
  });

  test('GET shows a confirmation form and acknowledges nothing', async () => {
    const res = await h.app.inject({ method: 'GET', url: url(token()) });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /text\/html/);
    assert.match(res.body, /<form method="post" action="\/v1\/notify\/ack\?token=/);
    assert.equal(h.services.alerts.ackCalls.length, 0);
  });

  test('POST (no API key: the token is the credential) acknowledges as <via>:<target>', async () => {
    const res = await h.app.inject({ method: 'POST', url: url(token()) });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(h.services.alerts.ackCalls, [{ id: ID, by: 'ntfy:gpu-oncall', via: 'ntfy' }]);
    assert.equal(res.json().acknowledged, true);
    const form = await h.app.inject({ method: 'POST', url: url(token()), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: '' });
    assert.equal(form.statusCode, 200);
    assert.match(form.body, /acknowledged/);
  });

  test('forged → 401, expired → 410, malformed/missing → 400, all counted; unknown alert 404; resolved 409', async () => {
    const before = { sig: await rejected('bad_signature'), exp: await rejected('expired'), bad: await rejected('malformed') };
    assert.equal((await h.app.inject({ method: 'POST', url: url(token({ key: 'x'.repeat(40) })) })).statusCode, 401);
    const expired = await h.app.inject({ method: 'POST', url: url(token({ expiresAtS: now() - 1 })) });
    assert.equal(expired.statusCode, 410);
    assert.match(expired.json().message, /expired/);
    assert.equal((await h.app.inject({ method: 'POST', url: '/v1/notify/ack?token=abc' })).statusCode, 400);
    assert.equal((await h.app.inject({ method: 'POST', url: '/v1/notify/ack' })).statusCode, 400);
    assert.equal(await rejected('bad_signature'), before.sig + 1);
    assert.equal(await rejected('expired'), before.exp + 1);
    assert.equal(await rejected('malformed'), before.bad + 2);
    assert.equal((await h.app.inject({ method: 'POST', url: url(token({ alertId: 'alert-nope' })) })).statusCode, 404);
    assert.equal((await h.app.inject({ method: 'POST', url: url(token({ alertId: 'alert-done' })) })).statusCode, 409);
    assert.equal(h.services.alerts.ackCalls.filter((c) => c.id === ID).length, 0, 'nothing acknowledged by a bad link');
  });
});

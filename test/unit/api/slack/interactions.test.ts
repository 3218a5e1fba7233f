/**
 * The Slack endpoint as wired by buildApp (the plugin itself is tested in
 * test/unit/slack/interactions.test.ts): a click reaches AlertsService with
 * the Slack user, a bad signature reaches nothing, and the plugin's raw-body
 * parsers do not leak into the JSON API.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { buildInteractionRequest } from '../../../support/fake-slack-server.ts';
import { auth, harness, KEYS, type Harness } from '../fakes.ts';

const SECRET = 'api-test-slack-signing-secret';
const ALERT = 'alert-GPU-aaa-temp-high';
const USER = { id: 'U024BE7LH', name: 'alice' };

describe('POST /slack/interactions (SLACK_SIGNING_SECRET set)', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ SLACK_SIGNING_SECRET: SECRET });
  });
  after(() => h.app.close());
  beforeEach(() => {
    h.services.alerts.alerts.clear();
    h.services.alerts.add(ALERT, 'firing');
    h.services.alerts.ackCalls.length = 0;
    h.services.alerts.snoozeCalls.length = 0;
  });

  const click = (action: string, opts: { secret?: string } = {}) => {
    const { body, headers } = buildInteractionRequest({ signingSecret: opts.secret ?? SECRET, alertId: ALERT, action, user: USER });
    return h.app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
  };

  test('a signed Acknowledge click → 200 and ack(id, slack:<user name>, slack)', async () => {
    const res = await click('ack');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(h.services.alerts.ackCalls, [{ id: ALERT, by: 'slack:alice', via: 'slack' }]);
  });

  test('a snooze click carries its duration', async () => {
    const res = await click('snooze:4h');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(h.services.alerts.snoozeCalls, [{ id: ALERT, by: 'slack:alice', duration: '4h' }]);
  });

  test('a bad signature → 401 and no call', async () => {
    const res = await click('ack', { secret: 'some-other-signing-secret' });
    assert.equal(res.statusCode, 401);
    assert.equal(h.services.alerts.ackCalls.length, 0);
  });

  test('a tampered body with a once-valid signature → 401 and no call', async () => {
    const { body, headers } = buildInteractionRequest({ signingSecret: SECRET, alertId: ALERT, action: 'ack', user: USER });
    const tampered = body.replace(encodeURIComponent(ALERT), encodeURIComponent('alert-GPU-bbb-temp-high'));
    assert.notEqual(tampered, body);
    const res = await h.app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: tampered });
    assert.equal(res.statusCode, 401);
    assert.equal(h.services.alerts.ackCalls.length, 0);
  });

  test('a stale timestamp (> 5 min) → 401 and no call', async () => {
    const { body, headers } = buildInteractionRequest({
      signingSecret: SECRET,
      alertId: ALERT,
      action: 'ack',
      user: USER,
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    const res = await h.app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
    assert.equal(res.statusCode, 401);
    assert.equal(h.services.alerts.ackCalls.length, 0);
  });

  test('the JSON API still parses JSON next to the Slack endpoint', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/telemetry',
      headers: auth(KEYS.ingest),
      payload: { points: [{ device: 'GPU-aaa', ts: '1', fields: { power_w: 1 } }] },
    });
    assert.equal(res.statusCode, 202);
  });
});

describe('POST /slack/interactions (no signing secret)', () => {
  test('the endpoint does not exist', async () => {
    const h = await harness({ SLACK_SIGNING_SECRET: undefined });
    try {
      const { body, headers } = buildInteractionRequest({ signingSecret: SECRET, alertId: ALERT, action: 'ack', user: USER });
      const res = await h.app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
      assert.equal(res.statusCode, 404);
      assert.equal(h.services.alerts.ackCalls.length, 0);
    } finally {
      await h.app.close();
    }
  });
});

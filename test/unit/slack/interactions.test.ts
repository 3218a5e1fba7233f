import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { slackInteractions, type SlackActionInput } from '../../../api/slack/interactions.ts';
import { signSlackRequest } from '../../../api/slack/signature.ts';
import { buildInteractionRequest } from '../../support/fake-slack-server.ts';

const SECRET = 'unit-test-signing-secret';
const NOW = 1_740_830_400; // fixed clock, Unix seconds
const ALERT = 'alert-GPU-5fa3c1d2-temp-high';

async function build(onAction: (a: SlackActionInput) => Promise<void>, extra: { ackTimeoutMs?: number } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(slackInteractions, { signingSecret: SECRET, onAction, now: () => NOW, ...extra });
  // A sibling JSON route: the plugin's raw-body parsers must not leak here.
  app.post('/json', async (req) => ({ got: req.body }));
  await app.ready();
  return app;
}

function click(action: string, opts: { timestamp?: number; secret?: string } = {}) {
  return buildInteractionRequest({
    signingSecret: opts.secret ?? SECRET,
    alertId: ALERT,
    action,
    user: { id: 'U024BE7LH', name: 'alice' },
    channel: 'C0ALERTS1',
    messageTs: '1740830400.000100',
    timestamp: opts.timestamp ?? NOW,
  });
}

describe('POST /slack/interactions', () => {
  test('a signed Acknowledge click calls onAction with the alert, user and source, then 200', async () => {
    const calls: SlackActionInput[] = [];
    const app = await build(async (a) => {
      calls.push(a);
    });
    const { body, headers } = click('ack');
    const t0 = performance.now();
    const res = await app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
    const ms = performance.now() - t0;
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
    assert.ok(ms < 3_000, `answered in ${ms} ms`);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0], {
      action: 'ack',
      alertId: ALERT,
      user: { id: 'U024BE7LH', name: 'alice' },
      source: { channel: 'C0ALERTS1', messageTs: '1740830400.000100', responseUrl: 'https://hooks.slack.test/actions/T00000001/1/abc', teamId: 'T00000001' },
    });
    await app.close();
  });

  test('resolve and snooze clicks carry their action and duration', async () => {
    const calls: SlackActionInput[] = [];
    const app = await build(async (a) => void calls.push(a));
    for (const action of ['resolve', 'snooze:1h']) {
      const { body, headers } = click(action);
      const res = await app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
      assert.equal(res.statusCode, 200);
    }
    assert.deepEqual(calls.map((c) => [c.action, c.snoozeFor]), [['resolve', undefined], ['snooze', '1h']]);
    await app.close();
  });

  test('a bad signature is 401 and onAction is not called', async () => {
    let called = 0;
    const app = await build(async () => void called++);
    const { body, headers } = click('ack', { secret: 'some-other-secret' });
    const res = await app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
    assert.equal(res.statusCode, 401);
    // Valid signature, body altered in transit (user id swapped).
    const good = click('ack');
    const res2 = await app.inject({ method: 'POST', url: '/slack/interactions', headers: good.headers, payload: good.body.replace('U024BE7LH', 'U999EVIL9') });
    assert.equal(res2.statusCode, 401);
    assert.equal(called, 0);
    await app.close();
  });

  test('a stale or future timestamp is 401 even with a correct signature', async () => {
    let called = 0;
    const app = await build(async () => void called++);
    for (const ts of [NOW - 301, NOW + 301]) {
      const { body, headers } = click('ack', { timestamp: ts });
      const res = await app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
      assert.equal(res.statusCode, 401, `ts ${ts - NOW}`);
    }
    assert.equal(called, 0);
    await app.close();
  });

  test('missing headers are 401', async () => {
    let called = 0;
    const app = await build(async () => void called++);
    const { body } = click('ack');
    const res = await app.inject({ method: 'POST', url: '/slack/interactions', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
    assert.equal(res.statusCode, 401);
    const res2 = await app.inject({ method: 'POST', url: '/slack/interactions' });
    assert.equal(res2.statusCode, 401);
    assert.equal(called, 0);
    await app.close();
  });

  test('a non-form body is refused (401 unsigned, 400 signed), never parsed as JSON first', async () => {
    let called = 0;
    const app = await build(async () => void called++);
    const json = '{"type":"block_actions", broken';
    const unsigned = await app.inject({ method: 'POST', url: '/slack/interactions', headers: { 'content-type': 'application/json' }, payload: json });
    assert.equal(unsigned.statusCode, 401);
    const ts = String(NOW);
    const signed = await app.inject({
      method: 'POST',
      url: '/slack/interactions',
      headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': ts, 'x-slack-signature': signSlackRequest(SECRET, ts, json) },
      payload: json,
    });
    assert.equal(signed.statusCode, 400);
    assert.match(signed.body, /x-www-form-urlencoded/);
    assert.equal(called, 0);
    await app.close();
  });

  test('signed form bodies without a usable payload: 400, or 200 ignored for foreign actions', async () => {
    let called = 0;
    const app = await build(async () => void called++);
    const send = (raw: string) => {
      const ts = String(NOW);
      return app.inject({
        method: 'POST',
        url: '/slack/interactions',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': signSlackRequest(SECRET, ts, raw) },
        payload: raw,
      });
    };
    assert.equal((await send('foo=bar')).statusCode, 400);
    assert.equal((await send('payload=%7Bnot-json')).statusCode, 400);
    const foreign = JSON.stringify({ type: 'block_actions', user: { id: 'U1X' }, actions: [{ action_id: 'something:else', value: 'x' }] });
    assert.equal((await send(`payload=${encodeURIComponent(foreign)}`)).statusCode, 200);
    const view = JSON.stringify({ type: 'view_submission', user: { id: 'U1X' } });
    assert.equal((await send(`payload=${encodeURIComponent(view)}`)).statusCode, 200);
    assert.equal(called, 0);
    await app.close();
  });

  test('a slow handler does not hold Slack past the ack timeout; a failing one still answers 200', async () => {
    let finished = false;
    const app = await build(
      async () => {
        await new Promise((r) => setTimeout(r, 600));
        finished = true;
      },
      { ackTimeoutMs: 100 },
    );
    const { body, headers } = click('ack');
    const t0 = performance.now();
    const res = await app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
    const ms = performance.now() - t0;
    assert.equal(res.statusCode, 200);
    assert.ok(ms < 500, `answered after ${ms} ms`);
    assert.equal(finished, false, 'handler still running when Slack got its answer');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(finished, true, 'handler ran to completion after the answer');
    await app.close();

    const failing = await build(async () => {
      throw new Error('temporal unavailable');
    });
    const c = click('resolve');
    const res2 = await failing.inject({ method: 'POST', url: '/slack/interactions', headers: c.headers, payload: c.body });
    assert.equal(res2.statusCode, 200);
    assert.equal(res2.body, '', 'internal errors are not sent to Slack');
    await failing.close();
  });

  test('parsers stay encapsulated: sibling routes still get parsed JSON', async () => {
    const app = await build(async () => {});
    const res = await app.inject({ method: 'POST', url: '/json', payload: { a: 1 } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { got: { a: 1 } });
    await app.close();
  });
});

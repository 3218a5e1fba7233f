/**
 * The interactivity endpoint over a real socket: a signed click built exactly
 * like Slack's (test/support/fake-slack-server.ts clickButton) reaches onAction.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { slackInteractions, SLACK_INTERACTIONS_PATH, type SlackActionInput } from '../../../api/slack/interactions.ts';
import { clickButton } from '../../support/fake-slack-server.ts';

const SECRET = 'integration-signing-secret';

describe('Slack interactivity over HTTP', () => {
  let app: FastifyInstance;
  let url: string;
  const calls: SlackActionInput[] = [];

  before(async () => {
    app = Fastify({ logger: false });
    await app.register(slackInteractions, {
      signingSecret: SECRET,
      onAction: async (a) => {
        await new Promise((r) => setTimeout(r, 50)); // a Temporal signal round trip
        calls.push(a);
      },
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    url = `${address}${SLACK_INTERACTIONS_PATH}`;
  });
  after(async () => {
    await app.close();
  });

  test('a signed Acknowledge click is handled and answered within 3 s', async () => {
    const res = await clickButton({ url, signingSecret: SECRET, alertId: 'alert-gpu0-temp', action: 'ack', user: { id: 'U024BE7LH', name: 'alice' } });
    assert.equal(res.status, 200);
    assert.ok(res.elapsedMs < 3_000, `${res.elapsedMs} ms`);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.action, 'ack');
    assert.equal(calls[0]!.alertId, 'alert-gpu0-temp');
    assert.deepEqual(calls[0]!.user, { id: 'U024BE7LH', name: 'alice' });
  });

  test('a snooze click carries its duration', async () => {
    const res = await clickButton({ url, signingSecret: SECRET, alertId: 'alert-gpu0-temp', action: 'snooze:15m', user: { id: 'U024BE7LH', name: 'alice' } });
    assert.equal(res.status, 200);
    assert.equal(calls.at(-1)!.snoozeFor, '15m');
  });

  test('a click signed with another secret, or replayed after 5 minutes, is 401', async () => {
    const before = calls.length;
    const forged = await clickButton({ url, signingSecret: 'not-the-secret', alertId: 'alert-gpu0-temp', action: 'resolve', user: { id: 'U1', name: 'mallory' } });
    assert.equal(forged.status, 401);
    const replay = await clickButton({
      url,
      signingSecret: SECRET,
      alertId: 'alert-gpu0-temp',
      action: 'resolve',
      user: { id: 'U024BE7LH', name: 'alice' },
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    assert.equal(replay.status, 401);
    assert.equal(calls.length, before);
  });
});

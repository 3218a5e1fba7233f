/**
 * API_CLOCK_OFFSET_S (the chaos suite's skewed host): the Slack replay window
 * is judged on the API's clock plus the offset, in both directions.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { buildInteractionRequest } from '../../../support/fake-slack-server.ts';
import { harness, type Harness } from '../fakes.ts';

const SECRET = 'api-test-slack-signing-secret';
const ALERT = 'alert-GPU-aaa-temp-high';
const USER = { id: 'U024BE7LH', name: 'alice' };

for (const offset of [600, -600])
  describe(`API clock ${offset > 0 ? '+' : ''}${offset} s`, () => {
    let h: Harness;
    before(async () => {
      h = await harness({ SLACK_SIGNING_SECRET: SECRET, API_CLOCK_OFFSET_S: offset });
    });
    after(() => h.app.close());
    beforeEach(() => {
      h.services.alerts.alerts.clear();
      h.services.alerts.add(ALERT, 'firing');
      h.services.alerts.ackCalls.length = 0;
    });
    const clickAt = (timestamp: number) => {
      const { body, headers } = buildInteractionRequest({ signingSecret: SECRET, alertId: ALERT, action: 'ack', user: USER, timestamp: Math.round(timestamp) });
      return h.app.inject({ method: 'POST', url: '/slack/interactions', headers, payload: body });
    };
    const apiNow = () => Date.now() / 1_000 + offset;

    test('a click 4 min from the API clock is accepted', async () => {
      assert.equal((await clickAt(apiNow() - Math.sign(offset) * 240)).statusCode, 200);
      assert.equal(h.services.alerts.ackCalls.length, 1);
    });
    test('a click 5.5 min from the API clock, or at the true time (10 min off), is refused', async () => {
      assert.equal((await clickAt(apiNow() + Math.sign(offset) * 330)).statusCode, 401);
      assert.equal((await clickAt(Date.now() / 1_000)).statusCode, 401);
      assert.equal(h.services.alerts.ackCalls.length, 0);
    });
  });

/** The Slack stand-in's time-window failures (the chaos suite's "429, then 500, for 30 s"). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeSlackServer } from '../../../infra/stack/fake-slack-server.ts';

let slack: FakeSlackServer;
before(async () => {
  slack = await new FakeSlackServer().start();
});
after(() => slack.stop());

const post = async (method = 'chat.postMessage') => {
  const res = await fetch(`${slack.apiUrl}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-unit' },
    body: JSON.stringify({ channel: 'C0UNIT', text: 'hi' }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after') };
};

test('windows queue up one after the other, only for their method, then calls succeed again', async () => {
  const t0 = Date.now();
  slack.failFor({ kind: 'ratelimit', retryAfterS: 3 }, 400, 'chat.postMessage');
  slack.failFor({ kind: 'http', status: 500 }, 400, 'chat.postMessage');
  assert.ok(slack.failingUntil >= t0 + 800 && slack.failingUntil <= Date.now() + 800);
  assert.deepEqual(await post(), { status: 429, retryAfter: '3' });
  assert.equal((await post('chat.update')).status, 200, 'another method is not affected');
  await sleep(Math.max(0, t0 + 450 - Date.now()));
  assert.equal((await post()).status, 500);
  await sleep(Math.max(0, slack.failingUntil + 20 - Date.now()));
  assert.equal((await post()).status, 200);
});

test('counted failures (failNext) are served before a window', async () => {
  slack.failFor({ kind: 'http', status: 500 }, 300);
  slack.failNext({ kind: 'error', error: 'channel_not_found' }, 1);
  const res = await fetch(`${slack.apiUrl}chat.postMessage`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-unit' }, body: '{}' });
  assert.equal(((await res.json()) as { error: string }).error, 'channel_not_found');
  assert.equal((await post()).status, 500);
  await sleep(Math.max(0, slack.failingUntil + 20 - Date.now()));
});

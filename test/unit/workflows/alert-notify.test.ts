/**
 * The escalation workflow through the notifier boundary (time-skipping test
 * server, recording fakes): one page per channel of a level, concurrently;
 * a channel first used at a later level gets a fresh page; every page is
 * kept up to date; a channel failing past `fallbackAfter` pages the level's
 * fallback targets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { alertEscalation } from '../../../workflows/alert-escalation.ts';
import { ALERT_SEARCH_ATTRIBUTES, acknowledgeUpdate, stateQuery } from '../../../workflows/alert-messages.ts';
import type { AlertActivities, NotifyPostInput } from '../../../workflows/alert-activities.ts';
import type { EscalationPolicy } from '../../../lib/alerts/policy.ts';
import { createFakeAlertActivities, testAlert } from '../alerts/escalation-fakes.ts';

const TEST_SERVER = join(process.env.TELEMETRY_CACHE_DIR ?? join(homedir(), '.cache/telemetry-stack'), 'venv/bin/temporal-test-server');
const WORKFLOW_FILE = fileURLToPath(new URL('../../../workflows/alert-escalation.ts', import.meta.url));
const TASK_QUEUE = 'alert-notify-unit';
const MIN = 60_000;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const fakes = createFakeAlertActivities();
/** Attempts of notifyPost on the failing channel, with the server time of each. */
const downAttempts: { atMs: number; workflowId: string }[] = [];

const activities: AlertActivities = {
  ...fakes.activities,
  async notifyPost(input: NotifyPostInput) {
    if (input.channel === 'down') {
      const info = Context.current().info;
      downAttempts.push({ atMs: info.currentAttemptScheduledTimestampMs, workflowId: info.workflowExecution?.workflowId ?? '' });
      throw ApplicationFailure.retryable('HTTP 503 from the channel', 'NotifyTransientError');
    }
    return fakes.activities.notifyPost(input);
  },
};

async function eventually(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(ALERT_SEARCH_ATTRIBUTES.map((a) => [a.name, a.type === 'Int' ? 3 : 2])),
  });
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOW_FILE, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never });
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle: bundle, activities });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

const start = (id: string, policy: EscalationPolicy) =>
  env.client.workflow.start<typeof alertEscalation>('alertEscalation', {
    workflowId: id,
    taskQueue: TASK_QUEUE,
    args: [{ alert: { ...testAlert(`GPU-${id}`), alertId: id }, policy }],
  });

describe('alertEscalation over several channels', () => {
  test('a level pages every channel it names; a later level gets fresh pages where it is new; updates reach every page', async () => {
    const id = 'alert-multi-1';
    const handle = await start(id, {
      levels: [
        { name: 'on-call', channel: 'C-ONCALL', users: ['U0ONCALL1'], targets: [{ channel: 'hook' }, { channel: 'mail', target: 'a@example.com' }], waitFor: '5m' },
        { name: 'lead', targets: [{ channel: 'mail', target: 'lead@example.com' }, { channel: 'push', target: 'gpu-lead' }], waitFor: '10m' },
      ],
      repeat: 0,
      autoResolveAfter: '10m',
      snoozeMax: '1h',
    });
    await eventually('three first pages', () => fakes.of(id, 'notifyPost').length === 3);
    assert.deepEqual(
      fakes.of(id, 'notifyPost').map((c) => [c.input.channel, c.input.targets]).sort(),
      [['hook', []], ['mail', ['a@example.com']], ['slack', ['C-ONCALL', 'U0ONCALL1']]],
    );
    await env.sleep(5 * MIN + 1_000);
    await eventually('level 1', () => fakes.of(id, 'notifyFollowUp').length === 2);
    const byChannel = Object.fromEntries(fakes.of(id, 'notifyFollowUp').map((c) => [c.input.channel, c.input]));
    assert.equal(byChannel.mail.ref.channel, 'mail', 'mail already had a page: follow-up threads under it');
    assert.deepEqual(byChannel.mail.targets, ['lead@example.com']);
    assert.equal(byChannel.push.ref, null, 'push is new at this level: a fresh page');
    assert.equal(fakes.of(id, 'notifyFollowUp').some((c) => c.input.channel === 'slack'), false, 'slack is not paged at level 1');

    const before = fakes.of(id, 'notifyUpdate').length;
    await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'email:a@example.com', via: 'email' }] });
    await eventually('ack shown on every page', () =>
      ['slack', 'hook', 'mail'].every((ch) => fakes.of(id, 'notifyUpdate').slice(before).some((c) => c.input.ref.channel === ch && c.input.state.status === 'acknowledged')),
    );
    const s = await handle.query(stateQuery);
    assert.equal(s.ack?.via, 'email');
    assert.deepEqual(s.notifications?.map((n) => n.channel).sort(), ['hook', 'mail', 'slack']);
    assert.equal(s.slack?.channel, 'C-ONCALL', 'state.slack kept for the API, CLI and Slack handlers');
  });

  test('a channel failing past fallbackAfter pages the fallback; the escalation clock keeps running', async () => {
    const id = 'alert-fallback-1';
    const handle = await start(id, {
      levels: [
        { name: 'on-call', targets: [{ channel: 'down', target: 'R0UTING' }], fallback: [{ channel: 'mail', target: 'backup@example.com' }], waitFor: '30m' },
      ],
      repeat: 0,
      autoResolveAfter: '10m',
      snoozeMax: '1h',
      fallbackAfter: '2m',
    });
    await eventually('first attempt', () => downAttempts.some((a) => a.workflowId === id));
    await env.sleep(3 * MIN);
    await eventually('fallback page', () => fakes.of(id, 'notifyFollowUp').length === 1);
    const attempts = downAttempts.filter((a) => a.workflowId === id);
    assert.ok(attempts.length > 2, `retried (${attempts.length} attempts) before giving up`);
    const fb = fakes.of(id, 'notifyFollowUp')[0]!;
    assert.equal(fb.input.channel, 'mail');
    assert.deepEqual(fb.input.targets, ['backup@example.com']);
    const elapsed = fb.atMs - attempts[0]!.atMs;
    // Temporal stops retrying once the next backoff (≤ 10 s for a primary with a fallback) would pass the bound.
    assert.ok(elapsed >= 2 * MIN - 11_000 && elapsed <= 3 * MIN, `fallback after ${elapsed / 1000} s (bound 120 s)`);
    const s = await handle.query(stateQuery);
    assert.ok(s.history.some((h) => h.event.startsWith('down post failed')), 'the failure is recorded');
    assert.ok(s.history.some((h) => h.event === 'fallback for down at level 0'));
    assert.equal(s.status, 'firing');
    assert.ok(s.nextEscalationAt, 'escalation still scheduled');
  });
});

/**
 * alertEscalation on Temporal's time-skipping test server (the binary the
 * stack installs; nothing is downloaded), with a real Worker and recording
 * fake activities. Time only advances inside env.sleep(), so every assertion
 * about "nothing happened yet" is made at a known server time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { alertEscalation, AlertEscalationInput } from '../../../workflows/alert-escalation.ts';
import {
  acknowledgeSignal,
  acknowledgeUpdate,
  firingAgainSignal,
  recoveredSignal,
  resolveSignal,
  snoozeSignal,
  stateQuery,
  ALERT_SEARCH_ATTRIBUTES,
  type AlertStateView,
} from '../../../workflows/alert-messages.ts';
import { createAlertSignaller } from '../../../activities/alerts/signal-alert.ts';
import { alertWorkflowId } from '../../../lib/alerts/ids.ts';
import type { EscalationPolicy } from '../../../lib/alerts/policy.ts';
import { createFakeAlertActivities, testAlert, threeLevelPolicy, type FakeCall } from '../alerts/escalation-fakes.ts';

const TEST_SERVER = join(process.env.TELEMETRY_CACHE_DIR ?? join(homedir(), '.cache/telemetry-stack'), 'venv/bin/temporal-test-server');
const WORKFLOW_FILE = fileURLToPath(new URL('../../../workflows/alert-escalation.ts', import.meta.url));
const TASK_QUEUE = 'alert-escalation-unit';
const MIN = 60_000;
/** Server-time tolerance for "fires at T" (workflow-task latency on a loaded 2-core box). */
const TOLERANCE_MS = 3_000;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let bundle: WorkflowBundleWithSourceMap;
const fakes = createFakeAlertActivities();
let seq = 0;

type Handle = WorkflowHandle<typeof alertEscalation>;

async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function startAlert(
  policy: EscalationPolicy = threeLevelPolicy,
  extra: Partial<AlertEscalationInput> = {},
): Promise<{ id: string; handle: Handle; t0: number }> {
  const id = `alert-unit-${++seq}`;
  const handle = await env.client.workflow.start<typeof alertEscalation>('alertEscalation', {
    workflowId: id,
    taskQueue: TASK_QUEUE,
    args: [{ alert: { ...testAlert(`GPU-unit-${seq}`), alertId: id }, policy, ...extra }],
  });
  await eventually('initial post', () => fakes.of(id, 'notifyPost').length === 1 && fakes.of(id, 'recordAlertOnChain').length === 1);
  return { id, handle, t0: fakes.of(id, 'notifyPost')[0]!.atMs };
}

const state = (h: Handle): Promise<AlertStateView> => h.query(stateQuery);
const replies = (id: string) => fakes.of(id, 'notifyFollowUp');
const offset = (c: FakeCall, t0: number) => c.atMs - t0;

function assertNear(actualMs: number, expectedMs: number, what: string): void {
  assert.ok(
    Math.abs(actualMs - expectedMs) <= TOLERANCE_MS,
    `${what}: expected ~${expectedMs / 1000}s, got ${actualMs / 1000}s`,
  );
}

/** Lets in-flight workflow tasks/activities finish without advancing server time. */
async function settle(id: string): Promise<void> {
  let n = -1;
  await eventually('quiet', async () => {
    await new Promise((r) => setTimeout(r, 150));
    const now = fakes.of(id).length;
    const same = now === n;
    n = now;
    return same;
  });
}

before(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: TEST_SERVER } },
  });
  // The test server rejects unknown search attributes, like a real server: register ours.
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(ALERT_SEARCH_ATTRIBUTES.map((a) => [a.name, a.type === 'Int' ? 3 : 2])),
  });
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOW_FILE, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: bundle,
    activities: fakes.activities,
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

describe('alertEscalation (time-skipping)', () => {
  test('walks every level, then repeats the policy, with exact Slack calls and timings', async () => {
    const { id, handle, t0 } = await startAlert();
    await env.sleep(2 * 60 * MIN);
    await settle(id);

    const post = fakes.of(id, 'notifyPost')[0]!;
    // Channel names and raw targets: the Slack adapter, not the workflow, turns them into `<@…>` mentions.
    assert.equal(post.input.channel, 'slack');
    assert.deepEqual(post.input.targets, ['C-ONCALL', 'U0ONCALL1']);
    assert.equal(post.input.state.level, 0);

    // 5m → L1, +10m → L2, +15m → repeat L0, +5m → L1, +10m → L2, then the policy is exhausted.
    const expected = [
      { level: 1, at: 5, targets: ['U0SECOND1'] },
      { level: 2, at: 15, targets: ['U0LEAD001', 'S0GPUTEAM'] },
      { level: 0, at: 30, targets: ['C-ONCALL', 'U0ONCALL1'] },
      { level: 1, at: 35, targets: ['U0SECOND1'] },
      { level: 2, at: 45, targets: ['U0LEAD001', 'S0GPUTEAM'] },
    ];
    const got = replies(id);
    assert.equal(got.length, expected.length, `replies: ${got.map((r) => r.input.level.index).join(',')}`);
    got.forEach((r, i) => {
      assert.equal(r.input.level.index, expected[i]!.level);
      assert.deepEqual(r.input.targets, expected[i]!.targets);
      assert.equal(r.input.channel, 'slack');
      assert.equal(r.input.ref.slack.channel, 'C-ONCALL', 'threaded under the first post');
      assert.equal(r.input.state.level, expected[i]!.level, 'reply carries the new level');
      assertNear(offset(r, t0), expected[i]!.at * MIN, `reply ${i}`);
    });

    // Exact Slack sequence: post, update (raise receipt), then reply+update per page, final update when exhausted.
    const slackNames = fakes
      .of(id)
      .filter((c) => c.name !== 'recordAlertOnChain' && c.name !== 'preparePage')
      .map((c) => (c.name === 'notifyFollowUp' ? `reply:${c.input.level.index}` : c.name));
    assert.deepEqual(slackNames, [
      'notifyPost',
      'notifyUpdate',
      'reply:1',
      'notifyUpdate',
      'reply:2',
      'notifyUpdate',
      'reply:0',
      'notifyUpdate',
      'reply:1',
      'notifyUpdate',
      'reply:2',
      'notifyUpdate',
      'notifyUpdate',
    ]);
    // Each update after a reply shows the new level.
    const updates = fakes.of(id, 'notifyUpdate');
    assert.equal(updates.at(-2)!.input.state.level, 2);
    assert.equal(updates.at(-2)!.input.state.repeats, 1);

    const s = await state(handle);
    assert.equal(s.status, 'firing');
    assert.equal(s.level, 2);
    assert.equal(s.repeats, 1);
    assert.equal(s.nextEscalationAt, undefined, 'nothing scheduled after the last repeat');
    assert.ok(s.raisedReceipt?.txHash.startsWith('0x'));

    await handle.signal(resolveSignal, { by: 'U0LEAD001', reason: 'done' });
    const final = await handle.result();
    assert.equal(final.status, 'resolved');
  });

  for (const [level, ackAtMin] of [
    [0, 1],
    [1, 6],
    [2, 16],
  ] as const) {
    test(`ack at level ${level} stops escalation and records on chain once`, async () => {
      const { id, handle } = await startAlert();
      await env.sleep(ackAtMin * MIN);
      await settle(id);
      assert.equal((await state(handle)).level, level);
      const repliesBefore = replies(id).length;
      await handle.signal(acknowledgeSignal, { by: 'U0ONCALL1', via: 'slack' });
      await eventually('ack on chain', () => fakes.of(id, 'recordAckOnChain').length === 1);
      await env.sleep(3 * 60 * MIN);
      await settle(id);

      assert.equal(replies(id).length, repliesBefore, 'no page after the ack');
      assert.equal(fakes.of(id, 'recordAckOnChain').length, 1);
      assert.deepEqual(
        { ...fakes.of(id, 'recordAckOnChain')[0]!.input, ackedAtMs: 0 },
        { alertId: `${id}@2024-01-31T12:34:56.000Z`, responder: 'U0ONCALL1', via: 'slack', ackedAtMs: 0 },
      );
      const s = await state(handle);
      assert.equal(s.status, 'acknowledged');
      assert.equal(s.level, level);
      assert.equal(s.ack?.by, 'U0ONCALL1');
      // Slack was updated in place with the ack's tx hash.
      const last = fakes.of(id, 'notifyUpdate').at(-1)!;
      assert.equal(last.input.state.status, 'acknowledged');
      assert.equal(last.input.state.ack.receipt.txHash, s.ack?.receipt?.txHash);
      assert.ok(s.ack?.receipt?.txHash);

      await handle.signal(resolveSignal, { by: 'U0ONCALL1', reason: 'fixed fan' });
      await handle.result();
    });
  }

  test('ack via Update returns the chain receipt; a second ack returns the same one', async () => {
    const { id, handle } = await startAlert();
    const first = await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'alice', via: 'api' }] });
    assert.ok(first.receipt?.txHash.startsWith('0x'));
    assert.equal(first.receipt?.alreadyRecorded, false);
    assert.equal(first.state.status, 'acknowledged');
    assert.equal(first.state.ack?.receipt?.txHash, first.receipt?.txHash);
    const second = await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'bob', via: 'api' }] });
    assert.deepEqual(second.receipt, first.receipt);
    assert.equal(second.state.ack?.by, 'alice', 'the first responder stays on record');
    assert.equal(fakes.of(id, 'recordAckOnChain').length, 1);
    await handle.signal(resolveSignal, { by: 'alice', reason: 'ok' });
    await handle.result();
  });

  test('ack of a resolved alert is rejected by the validator', async () => {
    const { id, handle } = await startAlert();
    const release = fakes.holdResolve(); // keep the workflow open in its resolved state
    try {
      await handle.signal(resolveSignal, { by: 'alice', reason: 'false alarm' });
      await eventually('resolved', async () => (await state(handle)).status === 'resolved');
      await assert.rejects(
        handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'bob', via: 'api' }] }),
        (err: unknown) => err instanceof WorkflowUpdateFailedError && /already resolved/.test(String((err as Error).cause)),
      );
      await assert.rejects(handle.executeUpdate(acknowledgeUpdate, { args: [{ by: '', via: 'api' }] }));
    } finally {
      release();
    }
    await handle.result();
    assert.equal(fakes.of(id, 'recordAckOnChain').length, 0);
  });

  test('resolve records on chain, updates Slack and completes', async () => {
    const { id, handle } = await startAlert();
    await env.sleep(6 * MIN);
    await handle.signal(resolveSignal, { by: 'alice', reason: 'rebooted node' });
    await handle.signal(resolveSignal, { by: 'bob', reason: 'duplicate' });
    const final = await handle.result();
    assert.equal(final.status, 'resolved');
    assert.equal(final.resolved?.by, 'alice');
    assert.equal(final.resolved?.reason, 'rebooted node');
    const resolves = fakes.of(id, 'recordResolveOnChain');
    assert.equal(resolves.length, 1);
    assert.equal(resolves[0]!.input.by, 'alice');
    assert.equal(final.resolved?.receipt?.txHash !== undefined, true);
    const last = fakes.of(id, 'notifyUpdate').at(-1)!;
    assert.equal(last.input.state.status, 'resolved');
    assert.equal(last.input.state.resolved.receipt.txHash, final.resolved?.receipt?.txHash);
    assert.equal(replies(id).length, 1, 'only the 5m page happened');
  });

  test('snooze delays the next escalation by the snooze duration', async () => {
    const { id, handle, t0 } = await startAlert();
    await env.sleep(2 * MIN);
    await handle.signal(snoozeSignal, { by: 'alice', duration: '20m' });
    await eventually('snoozed', async () => (await state(handle)).status === 'snoozed');
    const snoozed = await state(handle);
    assert.ok(snoozed.snoozedUntil);
    assertNear(Date.parse(snoozed.nextEscalationAt!) - t0, 25 * MIN, 'planned next page');

    await env.sleep(22 * MIN); // t = 24m: the un-snoozed page (5m) would be long past
    await settle(id);
    assert.equal(replies(id).length, 0, 'no page while snoozed / before 25m');
    assert.equal((await state(handle)).status, 'firing', 'snooze ended at 22m');
    await env.sleep(2 * MIN);
    await settle(id);
    assert.equal(replies(id).length, 1);
    assertNear(offset(replies(id)[0]!, t0), 25 * MIN, 'first page after snooze');

    // Snoozes are capped by snoozeMax (1h in this policy).
    await handle.signal(snoozeSignal, { by: 'alice', duration: '5h' });
    await eventually('snoozed again', async () => (await state(handle)).status === 'snoozed');
    const capped = await state(handle);
    const lastAt = Date.parse(capped.history.at(-1)!.at);
    assertNear(Date.parse(capped.snoozedUntil!) - lastAt, 60 * MIN, 'capped snooze');
    assert.match(capped.history.at(-1)!.event, /capped by snoozeMax/);
    await handle.signal(resolveSignal, { by: 'alice', reason: 'ok' });
    await handle.result();
  });

  test('auto-resolves after recovery plus the quiet period', async () => {
    const { id, handle, t0 } = await startAlert();
    await env.sleep(1 * MIN);
    await handle.signal(recoveredSignal, { at: '2024-01-31T12:36:00.000Z' });
    await handle.signal(recoveredSignal, { at: '2024-01-31T12:36:30.000Z' }); // duplicate: keeps the first timer
    await eventually('recovered', async () => (await state(handle)).status === 'recovered');
    const s = await state(handle);
    assert.equal(s.recoveredAt, '2024-01-31T12:36:00.000Z');
    assertNear(Date.parse(s.autoResolveAt!) - t0, 11 * MIN, 'auto-resolve planned');

    await env.sleep(9 * MIN); // t = 10m: still in the quiet period
    await settle(id);
    assert.equal((await state(handle)).status, 'recovered');
    assert.equal(replies(id).length, 0, 'a recovered alert is not escalated');

    const final = await handle.result(); // skips to the quiet-period end
    assert.equal(final.status, 'resolved');
    assert.equal(final.resolved?.by, 'auto');
    const resolve = fakes.of(id, 'recordResolveOnChain');
    assert.equal(resolve.length, 1);
    assertNear(offset(resolve[0]!, t0), 11 * MIN, 'auto-resolve time');
  });

  test('firing again during the quiet period cancels auto-resolve and resumes escalation', async () => {
    const { id, handle, t0 } = await startAlert();
    await env.sleep(1 * MIN);
    await handle.signal(recoveredSignal, { at: '2024-01-31T12:36:00.000Z' });
    await env.sleep(5 * MIN); // t = 6m
    await handle.signal(firingAgainSignal, { at: '2024-01-31T12:41:00.000Z', values: { temperature_c: 93 } });
    await eventually('firing again', async () => (await state(handle)).status === 'firing');
    const s = await state(handle);
    assert.equal(s.alert.values.temperature_c, 93);
    assert.equal(s.recoveredAt, undefined);
    assert.equal(s.autoResolveAt, undefined);
    assert.ok(s.history.some((h) => h.event.startsWith('firing again')));

    await env.sleep(30 * MIN); // far past the 11m auto-resolve that was cancelled
    await settle(id);
    assert.equal((await state(handle)).status, 'firing');
    assert.equal(fakes.of(id, 'recordResolveOnChain').length, 0);
    // The 5m level clock was paused while recovered (1m used, 4m left from t = 6m).
    assertNear(offset(replies(id)[0]!, t0), 10 * MIN, 'first page after re-firing');
    await handle.signal(resolveSignal, { by: 'x', reason: 'y' });
    await handle.result();
  });

  test('duplicate firings through signalWithStart open one workflow; initial signal is harmless', async () => {
    const signaller = createAlertSignaller({ client: env.client, taskQueue: TASK_QUEUE, policyFor: () => threeLevelPolicy });
    const alert = testAlert('GPU-dup/with space', 'gpu-xid');
    const id = alertWorkflowId(alert.device, alert.rule);
    await signaller.fire(alert);
    await signaller.fire({ ...alert, values: { xid: 79 } });
    await eventually('started', () => fakes.of(id, 'notifyPost').length === 1);
    await env.sleep(1 * MIN);
    await signaller.fire(alert);
    await settle(id);
    assert.equal(fakes.of(id, 'notifyPost').length, 1, 'one Slack post');
    assert.equal(fakes.of(id, 'recordAlertOnChain').length, 1, 'one chain record');
    const handle = env.client.workflow.getHandle<typeof alertEscalation>(id);
    const s = await handle.query(stateQuery);
    assert.equal(s.status, 'firing');
    assert.equal(s.alert.alertId, id);
    assert.equal(s.history.filter((h) => h.event.startsWith('raised')).length, 1);
    assert.equal(s.history.filter((h) => h.event.startsWith('firing again')).length, 0);

    await signaller.recovered(alert, '2024-01-31T12:40:00.000Z');
    await eventually('recovered', async () => (await handle.query(stateQuery)).status === 'recovered');
    await signaller.fire(alert);
    await eventually('firing', async () => (await handle.query(stateQuery)).status === 'firing');
    await signaller.recovered(testAlert('GPU-never-seen', 'gpu-xid')); // no workflow: ignored
    await handle.signal(resolveSignal, { by: 'x', reason: 'y' });
    await handle.result();
    assert.equal(fakes.of(id, 'notifyPost').length, 1);
  });

  test('duplicate ack signals record one ack on chain', async () => {
    const { id, handle } = await startAlert();
    await Promise.all([
      handle.signal(acknowledgeSignal, { by: 'alice', via: 'slack' }),
      handle.signal(acknowledgeSignal, { by: 'alice', via: 'slack' }),
      handle.signal(acknowledgeSignal, { by: 'bob', via: 'slack' }),
    ]);
    const viaUpdate = await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'carol', via: 'api' }] });
    await settle(id);
    assert.equal(fakes.of(id, 'recordAckOnChain').length, 1);
    // Signals sent concurrently arrive in any order: the first one wins, later ones (and the Update) change nothing.
    assert.ok(['alice', 'bob'].includes(viaUpdate.state.ack?.by ?? ''), `ack by ${viaUpdate.state.ack?.by}`);
    assert.equal(viaUpdate.state.history.filter((h) => h.event.startsWith('acknowledged')).length, 1);
    await handle.signal(resolveSignal, { by: 'alice', reason: 'ok' });
    await handle.result();
  });

  test('continue-as-new carries state and the escalation schedule', async () => {
    const { id, handle, t0 } = await startAlert(threeLevelPolicy, { continueAsNewAtHistoryLength: 30 });
    const firstRun = (await handle.describe()).runId;
    for (let i = 0; i < 12; i++) {
      await handle.signal(firingAgainSignal, { at: '2024-01-31T12:35:00.000Z', values: { temperature_c: 90 + i } });
    }
    await eventually('continued as new', async () => (await handle.describe()).runId !== firstRun);
    const s = await state(env.client.workflow.getHandle(id));
    assert.equal(s.alert.values.temperature_c, 101);
    assert.equal(s.history[0]!.event.startsWith('raised'), true);
    await env.sleep(6 * MIN);
    await settle(id);
    assert.equal(fakes.of(id, 'notifyPost').length, 1, 'no second post after continue-as-new');
    assert.equal(fakes.of(id, 'recordAlertOnChain').length, 1);
    assert.equal(replies(id).length, 1);
    assertNear(offset(replies(id)[0]!, t0), 5 * MIN, 'page time kept across continue-as-new');
    await env.client.workflow.getHandle(id).signal(resolveSignal, { by: 'x', reason: 'y' });
    await env.client.workflow.getHandle<typeof alertEscalation>(id).result();
  });
});

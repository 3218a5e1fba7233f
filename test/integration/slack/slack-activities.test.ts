/**
 * The Slack activities with the REAL @slack/web-api WebClient against a local
 * wire-compatible Slack (test/support/fake-slack-server.ts).
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import {
  createSlackActivities,
  createSlackClient,
  SLACK_PERMANENT_ERROR_TYPE,
  type SlackActivities,
} from '../../../activities/slack/slack-activities.ts';
import type { SlackMessageRef } from '../../../lib/alerts/types.ts';
import { FakeSlackServer, makeAlertState } from '../../support/fake-slack-server.ts';

const CHANNEL = 'C0ALERTS1';
const ONCALL = 'C0ONCALL1';
const TOKEN = 'xoxb-test-token';

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** Activity-failure logs of the mock environment are expected here; keep the output readable. */
const quiet = { logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } };

async function rejectsWith(p: Promise<unknown>, check: (e: ApplicationFailure) => void): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
    check(err);
    return;
  }
  assert.fail('expected a rejection');
}

describe('Slack activities over the real WebClient', () => {
  let slack: FakeSlackServer;
  let acts: SlackActivities;
  let _logs: Record<string, unknown>[];

  const build = (opts: { timeoutMs?: number; maxRetries?: number; token?: string } = {}) => {
    const cap = captureLogger();
    _logs = cap.lines;
    const client = createSlackClient({
      token: opts.token ?? TOKEN,
      apiUrl: slack.apiUrl,
      timeoutMs: opts.timeoutMs ?? 5_000,
      maxRetries: opts.maxRetries ?? 3,
      minRetryDelayMs: 20,
      maxRetryDelayMs: 100,
      logger: cap.logger,
    });
    return createSlackActivities({ client, defaultChannel: CHANNEL, logger: cap.logger });
  };

  before(async () => {
    slack = await new FakeSlackServer({ tokens: [TOKEN], channels: { [CHANNEL]: 'gpu-alerts', [ONCALL]: 'gpu-oncall' } }).start();
  });
  after(async () => {
    await slack.stop();
  });
  beforeEach(() => {
    slack.calls.length = 0;
    slack.messages.clear();
    acts = build();
  });

  test('post, then update in place: same channel and ts, new content', async () => {
    const firing = makeAlertState();
    const ref = await acts.postAlertMessage({ state: firing });
    assert.ok(ref);
    assert.equal(ref.channel, CHANNEL);
    assert.match(ref.ts, /^\d+\.\d{6}$/);

    const post = slack.successesOf('chat.postMessage')[0]!;
    assert.equal(post.auth, `Bearer ${TOKEN}`);
    assert.match(post.contentType ?? '', /application\/x-www-form-urlencoded/);
    assert.deepEqual(post.body.metadata, {
      event_type: 'telemetry_alert',
      event_payload: { alert_id: firing.alert.alertId, fired_at: firing.alert.firedAt },
    });
    assert.ok(Array.isArray(post.body.blocks));

    const acked = makeAlertState({
      status: 'acknowledged',
      slack: ref,
      ack: { by: 'U024BE7LH', via: 'slack', at: '2025-03-01T12:03:00.000Z', receipt: { txHash: '0x' + '1'.repeat(64), blockNumber: 7, alreadyRecorded: false } },
    });
    await acts.updateAlertMessage({ state: acked, ref });
    const update = slack.successesOf('chat.update');
    assert.equal(update.length, 1);
    assert.equal(update[0]!.body.ts, ref.ts);
    assert.equal(slack.messages.get(CHANNEL)!.length, 1, 'updated, not reposted');
    const msg = slack.message(CHANNEL, ref.ts)!;
    assert.match(msg.text, /\(acknowledged\)$/);
    assert.ok(JSON.stringify(msg.blocks).includes('(block 7)'));
    assert.ok(!JSON.stringify(msg.blocks).includes('alert:ack'), 'ack button gone');
  });

  test('429 + Retry-After: the client waits at least Retry-After and the message is delivered exactly once', async () => {
    slack.failNext({ kind: 'ratelimit', retryAfterS: 1 }, 1, 'chat.postMessage');
    const t0 = performance.now();
    const ref = await acts.postAlertMessage({ state: makeAlertState() });
    const waited = performance.now() - t0;
    assert.ok(ref);
    const posts = slack.callsOf('chat.postMessage');
    assert.equal(posts.length, 2, 'one 429, one retry');
    assert.equal(posts[0]!.status, 429);
    assert.ok(posts[1]!.at - posts[0]!.at >= 1_000, `retried after ${posts[1]!.at - posts[0]!.at} ms`);
    assert.ok(waited >= 1_000, `activity took ${waited} ms`);
    assert.equal(slack.successesOf('chat.postMessage').length, 1);
    assert.equal(slack.messages.get(CHANNEL)!.length, 1);
  });

  test('HTTP 500 is retried by the client and succeeds', async () => {
    slack.failNext({ kind: 'http', status: 500 }, 2, 'chat.postMessage');
    const ref = await acts.postAlertMessage({ state: makeAlertState() });
    assert.ok(ref);
    assert.deepEqual(slack.callsOf('chat.postMessage').map((c) => c.status), [500, 500, 200]);
    assert.equal(slack.messages.get(CHANNEL)!.length, 1);
  });

  test('5xx beyond the client retries → a retryable ApplicationFailure', async () => {
    const few = build({ maxRetries: 1 });
    slack.failNext({ kind: 'http', status: 503 }, 5, 'chat.update');
    await rejectsWith(few.updateAlertMessage({ state: makeAlertState(), ref: { channel: CHANNEL, ts: '1.000001' } }), (e) => {
      assert.equal(e.nonRetryable, false);
      assert.equal(e.type, 'SlackTransientError');
    });
    assert.equal(slack.callsOf('chat.update').length, 2);
  });

  test('channel_not_found → non-retryable SlackPermanentError, no retry', async () => {
    await rejectsWith(acts.postAlertMessage({ state: makeAlertState(), channel: '#no-such-channel' }), (e) => {
      assert.equal(e.nonRetryable, true);
      assert.equal(e.type, SLACK_PERMANENT_ERROR_TYPE);
      assert.match(e.message, /channel_not_found/);
    });
    assert.equal(slack.callsOf('chat.postMessage').length, 1);
    // The same through an injected platform error.
    slack.failNext({ kind: 'error', error: 'is_archived' }, 1, 'chat.postMessage');
    await rejectsWith(acts.postAlertMessage({ state: makeAlertState() }), (e) => {
      assert.equal(e.nonRetryable, true);
      assert.match(e.message, /is_archived/);
    });
  });

  test('invalid_auth (wrong token) → non-retryable', async () => {
    const bad = build({ token: 'xoxb-revoked' });
    await rejectsWith(bad.postAlertMessage({ state: makeAlertState() }), (e) => {
      assert.equal(e.nonRetryable, true);
      assert.equal(e.type, SLACK_PERMANENT_ERROR_TYPE);
      assert.match(e.message, /invalid_auth/);
    });
  });

  test('a transient Slack error code (internal_error) stays retryable', async () => {
    slack.failNext({ kind: 'error', error: 'internal_error' }, 1, 'chat.update');
    await rejectsWith(acts.updateAlertMessage({ state: makeAlertState(), ref: { channel: CHANNEL, ts: '1.000001' } }), (e) => {
      assert.equal(e.nonRetryable, false);
    });
  });

  test('post timed out but happened: the Temporal retry finds it instead of posting twice', async () => {
    const impatient = build({ timeoutMs: 200, maxRetries: 0 });
    slack.failNext({ kind: 'slow', ms: 600 }, 1, 'chat.postMessage');
    const state = makeAlertState();
    const first = new MockActivityEnvironment({ attempt: 1 }, quiet);
    await rejectsWith(first.run(impatient.postAlertMessage, { state }), (e) => assert.equal(e.nonRetryable, false));
    await new Promise((r) => setTimeout(r, 700)); // the server finishes the post
    assert.equal(slack.messages.get(CHANNEL)?.length, 1, 'Slack did post on the timed-out attempt');

    const second = new MockActivityEnvironment({ attempt: 2 }, quiet);
    const ref = (await second.run(impatient.postAlertMessage, { state })) as SlackMessageRef | null;
    assert.ok(ref);
    assert.equal(ref.ts, slack.messages.get(CHANNEL)![0]!.ts);
    assert.equal(slack.messages.get(CHANNEL)!.length, 1, 'no duplicate');
    assert.equal(slack.callsOf('conversations.history').length, 1);
    assert.equal(slack.callsOf('chat.postMessage').length, 1);

    // A different incident of the same alert id (new firedAt) is not mistaken for it.
    const later = makeAlertState({}, { firedAt: '2025-03-02T08:00:00.000Z' });
    const ref2 = (await second.run(impatient.postAlertMessage, { state: later })) as SlackMessageRef | null;
    assert.notEqual(ref2!.ts, ref.ts);
    assert.equal(slack.messages.get(CHANNEL)!.length, 2);
  });

  test('escalation: thread reply with mentions, plus a notice with a permalink in the level channel', async () => {
    const state = makeAlertState();
    const ref = (await acts.postAlertMessage({ state }))!;
    const escalated = { ...state, level: 1, slack: ref };
    await acts.postEscalationReply({ state: escalated, ref, level: 1, mentions: ['U024BE7LH', 'S0614TZR7'], channel: ONCALL });

    const thread = slack.messages.get(CHANNEL)!.filter((m) => m.thread_ts === ref.ts);
    assert.equal(thread.length, 1);
    assert.match(thread[0]!.text, /Escalation level 2.*<@U024BE7LH> <!subteam\^S0614TZR7>/);
    const notice = slack.messages.get(ONCALL) ?? [];
    assert.equal(notice.length, 1);
    assert.match(notice[0]!.text, /archives\/C0ALERTS1\/p/);
    assert.equal(notice[0]!.thread_ts, undefined);

    // Retried attempt: both parts already done → nothing new.
    const retry = new MockActivityEnvironment({ attempt: 2 }, quiet);
    await retry.run(acts.postEscalationReply, { state: escalated, ref, level: 1, mentions: ['U024BE7LH'], channel: ONCALL });
    assert.equal(slack.messages.get(CHANNEL)!.filter((m) => m.thread_ts === ref.ts).length, 1);
    assert.equal(slack.messages.get(ONCALL)!.length, 1);

    // Same channel given by name → thread only, no second top-level notice.
    await acts.postEscalationReply({ state: { ...escalated, level: 2 }, ref, level: 2, mentions: ['here'], channel: '#gpu-alerts' });
    assert.equal(slack.messages.get(CHANNEL)!.filter((m) => m.thread_ts === ref.ts).length, 2);
    assert.equal(slack.messages.get(CHANNEL)!.filter((m) => m.thread_ts === undefined).length, 1);
  });

  test('escalation without a message ref posts top-level in the default channel', async () => {
    await acts.postEscalationReply({ state: makeAlertState({ level: 1 }), ref: null, level: 1, mentions: ['U024BE7LH'] });
    const msgs = slack.messages.get(CHANNEL)!;
    assert.equal(msgs.length, 1);
    assert.match(msgs[0]!.text, /<@U024BE7LH>/);
  });
});

describe('Slack disabled (no bot token)', () => {
  test('activities log the alert and return null/void', async () => {
    const { logger, lines } = captureLogger();
    const acts = createSlackActivities({ client: undefined, defaultChannel: '#gpu-alerts', logger });
    const state = makeAlertState();
    assert.equal(await acts.postAlertMessage({ state }), null);
    await acts.updateAlertMessage({ state: { ...state, status: 'acknowledged' }, ref: { channel: 'C1', ts: '1.1' } });
    await acts.postEscalationReply({ state, ref: null, level: 1, mentions: ['U024BE7LH'] });
    assert.equal(lines.length, 3);
    assert.equal(lines[0]!.alertId, state.alert.alertId);
    assert.equal(lines[0]!.slack, 'disabled');
    assert.match(String(lines[0]!.msg), /^ALERT \[CRITICAL\] temp-high on GPU-5fa3c1d2/);
    assert.equal(lines[1]!.status, 'acknowledged');
    assert.match(String(lines[2]!.msg), /^ESCALATION .*<@U024BE7LH>/);
  });
});

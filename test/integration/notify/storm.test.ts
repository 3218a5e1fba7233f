/**
 * Alert storm: 200 alerts opened within 10 s, all paging ONE Slack channel,
 * through the real path — alertEscalation workflows on a Temporal dev server,
 * a worker with the real notifier activities, the Slack adapter over the real
 * @slack/web-api WebClient, against the fake Slack server enforcing Slack's
 * chat.postMessage limit (1 message/s per channel, 429 + Retry-After beyond),
 * plus a few injected 429s.
 *
 * Checked: no 429 left unhandled (every page delivered, no "failed" in any
 * alert's history), every critical page delivered as its own interactive
 * message, total posts ≤ rate × elapsed + burst (digests included: they are
 * posts), every page delivered exactly once (alone or as a digest line), and
 * the per-page delay measured (request → Slack accepted it) and printed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { FakeSlackServer } from '../../support/fake-slack-server.ts';
import { createSlackActivities, createSlackClient } from '../../../activities/slack/slack-activities.ts';
import { createLedgerActivities } from '../../../activities/ledger/ledger-activities.ts';
import { createOncallActivities } from '../../../activities/oncall/oncall-activities.ts';
import { buildNotifyChannels } from '../../../activities/notify/build-channels.ts';
import { createNotifyActivities, notifyMetrics } from '../../../activities/notify/notify-activities.ts';
import { WORKFLOWS_PATH } from '../../../workers/shared.ts';
import { createLogger } from '../../../lib/logger.ts';
import type { AlertInput, Severity } from '../../../lib/alerts/types.ts';
import type { EscalationPolicy } from '../../../lib/alerts/policy.ts';
import { stateQuery } from '../../../workflows/alert-messages.ts';
import type { AlertActivities } from '../../../workflows/alert-activities.ts';

const CHANNEL = 'C0STORM001';
const ALERTS = 200;
const WINDOW_MS = 10_000;
const CRITICAL_EVERY = 10; // 20 critical, 180 warning
const RATE = 1; // Slack: ~1 message per second per channel
const TASK_QUEUE = 'notify-storm';
const INJECTED_429 = 3;

let s: TestStack;
let slack: FakeSlackServer;
let worker: Worker;
let running: Promise<void>;
let client: Client;
let connection: Connection;
let native: NativeConnection;
const reachedWorker = new Map<string, number>();

before(async () => {
  s = await startTestStack({ components: ['temporal'] });
  slack = await new FakeSlackServer({ postRatePerChannel: RATE, postBurst: 1 }).start();
  const logger = createLogger('warn', 'storm');
  // As the alerts worker builds it: 429s are handled by the delivery queue.
  const wc = createSlackClient({ token: 'xoxb-storm', apiUrl: slack.apiUrl, timeoutMs: 5_000, maxRetries: 3, logger, rejectRateLimitedCalls: true });
  const slackActivities = createSlackActivities({ client: wc, defaultChannel: CHANNEL, logger });
  const built = buildNotifyChannels(
    { slack: { kind: 'slack', ratePerSec: RATE, burst: 1, maxQueue: 2_000, digestAfter: 3, digestMax: 20 } },
    { slack: { activities: slackActivities, client: wc, defaultChannel: CHANNEL }, ackLinks: undefined, timeoutMs: 5_000, production: false, logger },
  );
  const notify = createNotifyActivities({ channels: built.channels, logger });
  const activities = {
    ...slackActivities,
    ...notify,
    // Same activity, noting when each page reached the worker (splits Temporal scheduling from queueing in the figures).
    async notifyPost(input: Parameters<typeof notify.notifyPost>[0]) {
      reachedWorker.set(input.state.alert.alertId, Date.now());
      return notify.notifyPost(input);
    },
    // No chain and no on-call stores in this test: the real activities in their "not configured" mode.
    ...createLedgerActivities({ ledger: undefined, logger }),
    ...createOncallActivities({ schedules: undefined, silences: undefined, logger }),
  } satisfies Partial<AlertActivities>;
  native = await NativeConnection.connect({ address: s.env.TEMPORAL_ADDRESS! });
  worker = await Worker.create({
    connection: native,
    namespace: s.cfg.TEMPORAL_NAMESPACE,
    taskQueue: TASK_QUEUE,
    workflowsPath: WORKFLOWS_PATH,
    activities,
    maxConcurrentActivityTaskExecutions: 1_000,
  });
  running = worker.run();
  connection = await Connection.connect({ address: s.env.TEMPORAL_ADDRESS! });
  client = new Client({ connection, namespace: s.cfg.TEMPORAL_NAMESPACE });
});

after(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await native?.close();
  await slack?.stop();
  await s?.stop();
});

const pct = (xs: number[], p: number) => {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))] ?? NaN;
};

describe('alert storm on one Slack channel', () => {
  test(`${ALERTS} alerts in ${WINDOW_MS / 1000} s: every page delivered, criticals alone, posts within the rate, delays printed`, async () => {
    const policy: EscalationPolicy = {
      levels: [{ name: 'on-call', channel: CHANNEL, users: ['U0ONCALL1'], waitFor: '30m' }],
      repeat: 0,
      autoResolveAfter: '10m',
      snoozeMax: '1h',
    };
    slack.failNext({ kind: 'ratelimit', retryAfterS: 1 }, INJECTED_429, 'chat.postMessage');
    const startedAt = new Map<string, { at: number; severity: Severity }>();
    const t0 = Date.now();
    const starts: Promise<unknown>[] = [];
    for (let i = 0; i < ALERTS; i++) {
      const due = t0 + (i * WINDOW_MS) / ALERTS;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      const severity: Severity = i % CRITICAL_EVERY === 0 ? 'critical' : 'warning';
      const alert: AlertInput = {
        alertId: `alert-storm-${String(i).padStart(3, '0')}`,
        device: `GPU-storm-${i}`,
        rule: 'gpu-temp-high',
        severity,
        summary: `temperature_c ${90 + (i % 9)} > 90 for 30s`,
        values: { temperature_c: 90 + (i % 9) },
        firedAt: new Date().toISOString(),
      };
      startedAt.set(alert.alertId, { at: Date.now(), severity });
      starts.push(client.workflow.start('alertEscalation', { taskQueue: TASK_QUEUE, workflowId: alert.alertId, args: [{ alert, policy }] }));
    }
    await Promise.all(starts);
    const openedInMs = Date.now() - t0;

    // Every alert's page reaches Slack (alone or inside a digest).
    const deliveredAt = new Map<string, { at: number; mode: 'single' | 'digest' }>();
    const deadline = Date.now() + 180_000;
    while (deliveredAt.size < ALERTS && Date.now() < deadline) {
      for (const c of slack.successesOf('chat.postMessage')) {
        const md = c.body.metadata as { event_type?: string; event_payload?: Record<string, unknown> } | undefined;
        if (md?.event_type === 'telemetry_alert') {
          const id = String(md.event_payload?.alert_id);
          if (!deliveredAt.has(id)) deliveredAt.set(id, { at: c.at, mode: 'single' });
        } else if (md?.event_type === 'telemetry_alert_digest') {
          for (const m of JSON.stringify(c.body.blocks).matchAll(/"value":"(alert-storm-\d{3})"/g))
            if (!deliveredAt.has(m[1]!)) deliveredAt.set(m[1]!, { at: c.at, mode: 'digest' });
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(deliveredAt.size, ALERTS, `delivered ${deliveredAt.size}/${ALERTS}`);

    const posts = slack.successesOf('chat.postMessage');
    const first = Math.min(...posts.map((p) => p.at));
    const last = Math.max(...posts.map((p) => p.at));
    const elapsedS = (last - first) / 1000;
    const digests = posts.filter((p) => (p.body.metadata as { event_type?: string })?.event_type === 'telemetry_alert_digest');
    const singles = posts.length - digests.length;
    const answered429 = slack.callsOf('chat.postMessage').filter((c) => c.status === 429).length;

    // Exactly once: no alert both alone and in a digest, or in two messages.
    const mentions = new Map<string, number>();
    for (const p of posts) {
      const ids = new Set<string>();
      const md = p.body.metadata as { event_type?: string; event_payload?: Record<string, unknown> };
      if (md.event_type === 'telemetry_alert') ids.add(String(md.event_payload?.alert_id));
      for (const m of JSON.stringify(p.body.blocks ?? []).matchAll(/"value":"(alert-storm-\d{3})"/g)) ids.add(m[1]!);
      for (const id of ids) mentions.set(id, (mentions.get(id) ?? 0) + 1);
    }
    assert.ok([...mentions.values()].every((n) => n === 1), 'every page delivered exactly once');

    // Every critical page got its own interactive message.
    for (const [id, s0] of startedAt) if (s0.severity === 'critical') assert.equal(deliveredAt.get(id)!.mode, 'single', `${id} is critical: alone`);

    // Within Slack's rate: posts ≤ rate × elapsed + burst (digests are posts too).
    assert.ok(posts.length <= RATE * elapsedS + 1 + 1e-9, `${posts.length} posts in ${elapsedS.toFixed(1)} s at ${RATE}/s`);
    assert.ok(digests.length > 0, 'the storm was coalesced');
    // No 429 left unhandled: all were answered, waited out and retried; no alert recorded a failed page.
    assert.ok(answered429 >= INJECTED_429, `${answered429} 429 answers`);
    const sample = [...startedAt.keys()].filter((_, i) => i % 10 === 0);
    for (const id of sample) {
      const st = await client.workflow.getHandle(id).query(stateQuery);
      assert.equal(st.notifications?.length, 1, `${id} has its page ref`);
      assert.ok(!st.history.some((h) => /failed/.test(h.event)), `${id}: ${JSON.stringify(st.history)}`);
    }

    const delays = (sev?: Severity) => [...deliveredAt].filter(([id]) => !sev || startedAt.get(id)!.severity === sev).map(([id, d]) => (d.at - startedAt.get(id)!.at) / 1000);
    const fmt = (xs: number[]) => `n=${xs.length} p50=${pct(xs, 50).toFixed(1)}s p95=${pct(xs, 95).toFixed(1)}s max=${Math.max(...xs).toFixed(1)}s`;
    const metric = (await notifyMetrics.delay.get()).values.filter((v) => v.metricName === 'telemetry_notify_page_delay_seconds_count');
    const metricCount = metric.reduce((n, v) => n + v.value, 0);
    assert.ok(metricCount >= ALERTS, `delay metric observed ${metricCount} pages`);
    console.log(
      [
        `storm: ${ALERTS} alerts opened in ${(openedInMs / 1000).toFixed(1)} s on one channel (Slack limit ${RATE}/s)`,
        `  first post ${((first - t0) / 1000).toFixed(1)} s after the first alert was opened; first page reached the worker after ${((Math.min(...reachedWorker.values()) - t0) / 1000).toFixed(1)} s, the last after ${((Math.max(...reachedWorker.values()) - t0) / 1000).toFixed(1)} s`,
        `  posts: ${posts.length} (${singles} single incl. ${[...startedAt.values()].filter((v) => v.severity === 'critical').length} critical, ${digests.length} digests) over ${elapsedS.toFixed(1)} s; bound rate×time+burst = ${(RATE * elapsedS + 1).toFixed(1)}`,
        `  429 answered by Slack: ${answered429} (${INJECTED_429} injected), all waited out and retried; pages lost: ${ALERTS - deliveredAt.size}`,
        `  per-page delay (request → Slack accepted) critical: ${fmt(delays('critical'))}`,
        `  per-page delay warning (digested): ${fmt(delays('warning'))}`,
        `  telemetry_notify_page_delay_seconds observations: ${metricCount}`,
      ].join('\n'),
    );
  });
});

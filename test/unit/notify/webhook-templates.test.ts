/** Webhook payload templates, the channels file and the notifier's bounds: shapes the services require, bad files named. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { alertKey, idempotencyKey, renderWebhook } from '../../../activities/notify/webhook-templates.ts';
import { webhookSignature } from '../../../activities/notify/webhook.ts';
import { ChannelsConfigError, parseNotifyChannels } from '../../../lib/notify/channels.ts';
import { MAX_LEVEL_TARGETS, parseEscalationPolicies } from '../../../lib/alerts/policy.ts';
import { ApplicationFailure } from '@temporalio/activity';
import { createEmailNotifier, MAX_RECIPIENTS } from '../../../activities/notify/email.ts';
import { digestMessage } from '../../../activities/notify/slack.ts';
import { createLogger } from '../../../lib/logger.ts';
import { policyChannels } from '../../../lib/notify/targets.ts';
import { makeAlertState } from '../../support/fake-slack-server.ts';

const state = makeAlertState();
const base = { state, targets: [] as string[], url: 'https://x.test/hook' };

describe('webhook templates', () => {
  test('PagerDuty: trigger with payload, then acknowledge/resolve on the same dedup_key; other updates send nothing', () => {
    const t = renderWebhook('pagerduty', { ...base, event: 'trigger', routingKey: 'R'.repeat(32), ackUrl: 'https://a/ack' })!;
    const b = t.body as any;
    assert.equal(b.event_action, 'trigger');
    assert.equal(b.dedup_key, alertKey(state));
    assert.equal(b.payload.severity, state.alert.severity);
    assert.ok(b.payload.summary.length <= 1024 && b.payload.source);
    assert.deepEqual(b.links, [{ href: 'https://a/ack', text: 'Acknowledge in telemetry-stack' }]);
    const acked = { ...state, status: 'acknowledged' as const, ack: { by: 'alice', via: 'api' as const, at: 'now' } };
    assert.equal((renderWebhook('pagerduty', { ...base, state: acked, event: 'update', routingKey: 'R'.repeat(32) })!.body as any).event_action, 'acknowledge');
    assert.equal(renderWebhook('pagerduty', { ...base, event: 'update', routingKey: 'R'.repeat(32) }), null);
    assert.throws(() => renderWebhook('pagerduty', { ...base, event: 'trigger' }), /routing key/);
  });
  test('Opsgenie: create with alias and priority, acknowledge by alias', () => {
    const c = renderWebhook('opsgenie', { ...base, event: 'trigger', targets: ['alice@example.com', 'gpu-team'] })!;
    const b = c.body as any;
    assert.equal(b.alias, alertKey(state));
    assert.ok(b.message.length <= 130);
    assert.deepEqual(b.responders, [{ username: 'alice@example.com', type: 'user' }, { name: 'gpu-team', type: 'team' }]);
    const acked = { ...state, status: 'acknowledged' as const, ack: { by: 'alice', via: 'api' as const, at: 'now' } };
    const a = renderWebhook('opsgenie', { ...base, state: acked, event: 'update' })!;
    assert.match(a.url, /\/hook\/.+\/acknowledge\?identifierType=alias$/);
  });
  test('Teams: Adaptive Card with an Acknowledge button; Google Chat: one thread per alert', () => {
    const t = renderWebhook('teams', { ...base, event: 'trigger', ackUrl: 'https://a/ack' })!.body as any;
    assert.equal(t.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
    assert.deepEqual(t.attachments[0].content.actions, [{ type: 'Action.OpenUrl', title: 'Acknowledge', url: 'https://a/ack' }]);
    const g1 = renderWebhook('googlechat', { ...base, event: 'trigger' })!;
    const g2 = renderWebhook('googlechat', { ...base, event: 'escalate' })!;
    assert.equal(new URL(g1.url).searchParams.get('threadKey'), new URL(g2.url).searchParams.get('threadKey'));
  });
  test('idempotency keys: same page → same key; another level or status → another key', () => {
    assert.equal(idempotencyKey(state, 'trigger'), idempotencyKey(state, 'trigger'));
    assert.notEqual(idempotencyKey(state, 'escalate', 1), idempotencyKey(state, 'escalate', 2));
    assert.notEqual(idempotencyKey(state, 'update'), idempotencyKey({ ...state, status: 'resolved' }, 'update'));
  });
  test('signature is HMAC-SHA256 over "<timestamp>.<body>"', () => {
    assert.equal(webhookSignature('s', 1, '{}'), `v1=${createHmac('sha256', 's').update('1.{}').digest('hex')}`);
    assert.notEqual(webhookSignature('s', 1, '{}'), webhookSignature('s', 2, '{}'));
  });
});

describe('channels file and example policies', () => {
  test('the shipped examples parse and every policy channel exists in the channels example', () => {
    const channels = parseNotifyChannels(JSON.parse(readFileSync(new URL('../../../infra/config/notify-channels.example.json', import.meta.url), 'utf8')), { production: false });
    const policies = parseEscalationPolicies(JSON.parse(readFileSync(new URL('../../../infra/config/escalation-policy.channels.example.json', import.meta.url), 'utf8')));
    for (const p of [policies.default, ...Object.values(policies.bySeverity ?? {})])
      for (const name of policyChannels(p!)) assert.ok(channels[name], `policy channel ${name} is in the channels file`);
  });
  test('bad files are named; inline secrets refused in production', () => {
    assert.throws(() => parseNotifyChannels({ x: { kind: 'fax' } }, { production: false }), (e: unknown) => e instanceof ChannelsConfigError && /x\.kind/.test(e.message));
    assert.throws(() => parseNotifyChannels({ Bad: { kind: 'slack' } }, { production: false }), ChannelsConfigError);
    assert.throws(
      () => parseNotifyChannels({ pd: { kind: 'webhook', url: 'https://e/v2/enqueue', template: 'pagerduty', routingKey: 'k' } }, { production: true }),
      /pd\.routingKey: inline secrets/,
    );
  });
});

describe('bounds', () => {
  test(`a level holds at most ${MAX_LEVEL_TARGETS} targets; an email page at most ${MAX_RECIPIENTS} recipients; a digest fits Slack's 50 blocks`, async () => {
    const level = (n: number) => ({ levels: [{ name: 'l', waitFor: '5m', targets: Array.from({ length: n }, (_, i) => ({ channel: 'email', target: `u${i}@example.com` })) }] });
    assert.equal(parseEscalationPolicies(level(MAX_LEVEL_TARGETS)).default.levels[0]!.targets!.length, MAX_LEVEL_TARGETS);
    assert.throws(() => parseEscalationPolicies(level(MAX_LEVEL_TARGETS + 1)), /levels\.0\.targets/);

    const email = createEmailNotifier({ channel: 'mail', smtpUrl: 'smtp://127.0.0.1:9', from: 'a@b.test', requireTls: false, timeoutMs: 500, ackLinks: undefined, logger: createLogger('silent', 't') });
    try {
      const to = (n: number) => Array.from({ length: n }, (_, i) => `u${i}@example.com`);
      await assert.rejects(email.post({ state, channel: 'mail', targets: to(MAX_RECIPIENTS + 1) }), (e) => e instanceof ApplicationFailure && e.nonRetryable && /exceed 50/.test(e.message));
    } finally {
      email.close();
    }

    const lines = Array.from({ length: 40 }, (_, i) => ({ alertId: `a${i}`, severity: 'warning' as const, summary: 's'.repeat(5_000), device: 'd', rule: 'r', targets: ['U0ONCALL1', 'S0TEAM001'] }));
    const msg = digestMessage(lines);
    assert.ok(msg.blocks.length <= 50);
    assert.ok(msg.text.length <= 300 && msg.text.includes('<@U0ONCALL1>') && msg.text.includes('<!subteam^S0TEAM001>'), 'the digest still notifies its targets');
    for (const b of msg.blocks) if (b.type === 'section' && b.text) assert.ok(b.text.text.length <= 3_000);
  });
});

/**
 * Each channel adapter over its real protocol, through the notifier
 * activities (queue included): webhooks against local servers speaking the
 * PagerDuty / Opsgenie / Teams / Google Chat / generic wire formats (429 +
 * Retry-After, 5xx, 4xx), email against a real SMTP server (aiosmtpd), ntfy
 * against a server speaking its JSON publish API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FakeChannelServer } from '../../../infra/stack/fake-channel-server.ts';
import { startSmtp, type SmtpServer } from '../../../infra/stack/smtp.ts';
import { cacheDir } from '../../../infra/stack/binaries.ts';
import { freePort } from '../../../infra/stack/process.ts';
import { buildNotifyChannels } from '../../../activities/notify/build-channels.ts';
import { createNotifyActivities } from '../../../activities/notify/notify-activities.ts';
import { createAckLinks } from '../../../activities/notify/ack-links.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../../activities/notify/webhook.ts';
import { verifyAckToken } from '../../../lib/notify/ack-token.ts';
import { NOTIFY_PERMANENT_ERROR, NOTIFY_TRANSIENT_ERROR } from '../../../lib/notify/notifier.ts';
import type { ChannelsConfig } from '../../../lib/notify/channels.ts';
import { createLogger } from '../../../lib/logger.ts';
import { makeAlertState } from '../../support/fake-slack-server.ts';
import type { SlackActivities } from '../../../activities/slack/slack-activities.ts';

const KEY = 'integration-ack-key-0123456789abcdef';
const ROUTING = 'R0UT1NGKEY0123456789abcdefABCDEF';
const logger = createLogger('silent', 'notify-test');
const noSlack = {} as SlackActivities; // not configured in this file: no slack channel

let dir: string;
let smtp: SmtpServer;
const servers = {
  generic: new FakeChannelServer({ flavour: 'generic' }),
  pagerduty: new FakeChannelServer({ flavour: 'pagerduty' }),
  opsgenie: new FakeChannelServer({ flavour: 'opsgenie' }),
  teams: new FakeChannelServer({ flavour: 'teams' }),
  googlechat: new FakeChannelServer({ flavour: 'googlechat' }),
  ntfy: new FakeChannelServer({ flavour: 'ntfy' }),
};
let acts: ReturnType<typeof createNotifyActivities>;
let close: () => void;
const links = createAckLinks({ key: KEY, baseUrl: 'http://api.test', ttlS: 3_600 });

function activitiesFor(config: ChannelsConfig) {
  const built = buildNotifyChannels(config, { slack: { activities: noSlack, client: undefined, defaultChannel: '#x' }, ackLinks: links, timeoutMs: 5_000, production: false, logger });
  return { acts: createNotifyActivities({ channels: built.channels, logger }), close: built.close };
}

const limits = { ratePerSec: 50, burst: 1, maxQueue: 100, digestAfter: 100, digestMax: 20 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'notify-channels-'));
  smtp = await startSmtp({ cache: cacheDir(process.env.TELEMETRY_CACHE_DIR), dataDir: join(dir, 'smtp') });
  await Promise.all(Object.values(servers).map((s) => s.start()));
  ({ acts, close } = activitiesFor({
    hook: { kind: 'webhook', url: `${servers.generic.url}/hook`, template: 'generic', signingSecret: 'whsec-test', ...limits },
    pd: { kind: 'webhook', url: `${servers.pagerduty.url}/v2/enqueue`, template: 'pagerduty', routingKey: ROUTING, ...limits },
    og: { kind: 'webhook', url: `${servers.opsgenie.url}/v2/alerts`, template: 'opsgenie', apiKey: 'genie-key', ...limits },
    ognokey: { kind: 'webhook', url: `${servers.opsgenie.url}/v2/alerts`, template: 'opsgenie', ...limits },
    teams: { kind: 'webhook', url: `${servers.teams.url}/webhookb2/x`, template: 'teams', ...limits },
    gchat: { kind: 'webhook', url: `${servers.googlechat.url}/v1/spaces/AAA/messages?key=k`, template: 'googlechat', ...limits },
    mail: { kind: 'email', smtpUrl: smtp.url, from: 'Telemetry <alerts@telemetry.test>', ...limits },
    push: { kind: 'ntfy', server: servers.ntfy.url, token: 'tk_test', ...limits },
  }));
});

after(async () => {
  close?.();
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  await smtp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const failureType = (e: unknown) => (e instanceof ApplicationFailure ? `${e.type}/${e.nonRetryable ? 'permanent' : 'retryable'}` : String(e));

describe('webhook channel', () => {
  test('generic: signed JSON with an idempotency key; a 429 waits Retry-After and the same request is sent again', async () => {
    const state = makeAlertState();
    servers.generic.failNext({ kind: 'ratelimit', retryAfterS: 1 });
    const t0 = Date.now();
    const ref = await acts.notifyPost({ state, channel: 'hook', targets: ['ops'] });
    assert.equal(ref?.kind, 'webhook');
    const [limited, ok] = servers.generic.requests.slice(-2);
    assert.equal(limited!.status, 429);
    assert.equal(ok!.status, 200);
    assert.ok(Date.now() - t0 >= 900, 'waited Retry-After');
    assert.equal(ok!.headers['idempotency-key'], limited!.headers['idempotency-key'], 'same key on the retry');
    const ts = String(ok!.headers[TIMESTAMP_HEADER]);
    const expected = `v1=${createHmac('sha256', 'whsec-test').update(`${ts}.${ok!.raw}`).digest('hex')}`;
    assert.equal(ok!.headers[SIGNATURE_HEADER], expected);
    assert.equal(ok!.json.event, 'trigger');
    assert.equal(ok!.json.alert.alertId, state.alert.alertId);
    assert.equal(verifyAckToken(KEY, new URL(ok!.json.ackUrl).searchParams.get('token')!).alertId, state.alert.alertId);
  });

  test('a 5xx is retryable, a 4xx permanent (named by status)', async () => {
    const state = makeAlertState({}, { alertId: 'alert-5xx' });
    servers.generic.failNext({ kind: 'http', status: 503 });
    await assert.rejects(acts.notifyPost({ state, channel: 'hook', targets: [] }), (e) => failureType(e) === `${NOTIFY_TRANSIENT_ERROR}/retryable` && /HTTP 503/.test((e as Error).message));
    servers.generic.failNext({ kind: 'http', status: 404 });
    await assert.rejects(acts.notifyFollowUp({ state, channel: 'hook', ref: null, level: { index: 1, name: 'two' }, targets: [] }), (e) => failureType(e) === `${NOTIFY_PERMANENT_ERROR}/permanent`);
    await assert.rejects(acts.notifyPost({ state, channel: 'nope', targets: [] }), /notify channel "nope" is not configured/);
  });

  test('PagerDuty Events v2: trigger, then acknowledge once on the same dedup_key, then resolve', async () => {
    const state = makeAlertState({}, { alertId: 'alert-pd' });
    const ref = (await acts.notifyPost({ state, channel: 'pd', targets: [] }))!;
    const trigger = servers.pagerduty.accepted().at(-1)!;
    assert.equal(trigger.status, 202);
    assert.equal(trigger.json.event_action, 'trigger');
    const acked = { ...state, status: 'acknowledged' as const, ack: { by: 'alice', via: 'email' as const, at: new Date().toISOString() } };
    const ref2 = (await acts.notifyUpdate({ state: acked, ref }))!;
    assert.equal(await acts.notifyUpdate({ state: acked, ref: ref2 }), null, 'a second update of the same status sends nothing');
    const resolved = { ...acked, status: 'resolved' as const, resolved: { by: 'alice', at: new Date().toISOString(), reason: 'fixed' } };
    await acts.notifyUpdate({ state: resolved, ref: ref2 });
    const events = servers.pagerduty.accepted().filter((r) => r.json.dedup_key === trigger.json.dedup_key).map((r) => r.json.event_action);
    assert.deepEqual(events, ['trigger', 'acknowledge', 'resolve']);
  });

  test('PagerDuty rejects a bad routing key: permanent, with PagerDuty\'s reason', async () => {
    await assert.rejects(acts.notifyPost({ state: makeAlertState({}, { alertId: 'alert-pd-bad' }), channel: 'pd', targets: ['short'] }), (e) => failureType(e) === `${NOTIFY_PERMANENT_ERROR}/permanent` && /routing_key/.test((e as Error).message));
  });

  test('Opsgenie: GenieKey auth, create then acknowledge by alias; no key → 401 permanent', async () => {
    const state = makeAlertState({}, { alertId: 'alert-og' });
    const ref = (await acts.notifyPost({ state, channel: 'og', targets: ['alice@example.com'] }))!;
    const create = servers.opsgenie.accepted().at(-1)!;
    assert.equal(create.headers.authorization, 'GenieKey genie-key');
    assert.equal(create.json.priority, state.alert.severity === 'critical' ? 'P1' : 'P3');
    await acts.notifyUpdate({ state: { ...state, status: 'acknowledged', ack: { by: 'bob', via: 'api', at: 'now' } }, ref });
    assert.match(servers.opsgenie.accepted().at(-1)!.path, /^\/v2\/alerts\/.+\/acknowledge$/);
    await assert.rejects(acts.notifyPost({ state, channel: 'ognokey', targets: [] }), (e) => /HTTP 401/.test((e as Error).message) && failureType(e).endsWith('permanent'));
  });

  test('Teams and Google Chat: cards with the signed Acknowledge link; Chat threads by alert', async () => {
    const state = makeAlertState({}, { alertId: 'alert-cards' });
    await acts.notifyPost({ state, channel: 'teams', targets: [] });
    const card = servers.teams.accepted().at(-1)!.json.attachments[0].content;
    const url = card.actions[0].url as string;
    assert.equal(verifyAckToken(KEY, new URL(url).searchParams.get('token')!).via, 'webhook');
    const ref = await acts.notifyPost({ state, channel: 'gchat', targets: [] });
    assert.match(ref!.id, /^spaces\/AAA\/messages\//);
    await acts.notifyFollowUp({ state, channel: 'gchat', ref, level: { index: 1, name: 'lead' }, targets: [] });
    const [a, b] = servers.googlechat.accepted().slice(-2);
    assert.equal(a!.query.threadKey, b!.query.threadKey);
    assert.equal(b!.query.messageReplyOption, 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD');
  });
});

describe('email channel (real SMTP server)', () => {
  test('a page per recipient with its own signed link; escalation and ack reply in the thread, the ack once', async () => {
    const state = makeAlertState({}, { alertId: 'alert-mail', severity: 'critical' });
    const before = smtp.messages().length;
    const ref = (await acts.notifyPost({ state, channel: 'mail', targets: ['oncall@example.com', 'second@example.com'] }))!;
    await acts.notifyFollowUp({ state: { ...state, level: 1 }, channel: 'mail', ref, level: { index: 1, name: 'lead' }, targets: ['lead@example.com'] });
    const acked = { ...state, status: 'acknowledged' as const, ack: { by: 'email:oncall@example.com', via: 'email' as const, at: 'now' } };
    const r2 = (await acts.notifyUpdate({ state: acked, ref }))!;
    assert.equal(await acts.notifyUpdate({ state: acked, ref: r2 }), null);
    const mails = smtp.messages().slice(before);
    assert.equal(mails.length, 4, 'two pages, one escalation, one ack report');
    assert.match(mails[0]!, /^Subject: \[CRITICAL\]/m);
    assert.match(mails[0]!, /^To: oncall@example\.com/m);
    assert.match(mails[0]!, /^X-Telemetry-Alert-Id: alert-mail/im);
    const link = /Acknowledge: (\S+)/.exec(mails[0]!.replace(/=\r?\n/g, '').replace(/=3D/g, '='))![1]!;
    const claims = verifyAckToken(KEY, new URL(link).searchParams.get('token')!);
    assert.deepEqual([claims.alertId, claims.via, claims.target], ['alert-mail', 'email', 'oncall@example.com']);
    const pageId = /^Message-ID: (<[^>]+>)/im.exec(mails[0]!)![1];
    assert.equal(pageId, ref.id);
    assert.match(mails[2]!, new RegExp(`^In-Reply-To: ${pageId!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'mi'));
    assert.match(mails[3]!, /Acknowledged by email:oncall@example\.com/);
  });

  test('bad addresses are permanent; an unreachable server is retryable', async () => {
    await assert.rejects(acts.notifyPost({ state: makeAlertState({}, { alertId: 'alert-bad-mail' }), channel: 'mail', targets: ['not an address'] }), /not an address/);
    const dead = activitiesFor({ mail: { kind: 'email', smtpUrl: `smtp://127.0.0.1:${await freePort()}`, from: 'a@b.test', ...limits } });
    try {
      await assert.rejects(dead.acts.notifyPost({ state: makeAlertState({}, { alertId: 'alert-dead-mail' }), channel: 'mail', targets: ['a@example.com'] }), (e) => failureType(e) === `${NOTIFY_TRANSIENT_ERROR}/retryable`);
    } finally {
      dead.close();
    }
  });
});

describe('ntfy channel', () => {
  test('priority from severity, an http Acknowledge action with a signed link, bearer token; 429 waited out', async () => {
    const state = makeAlertState({}, { alertId: 'alert-push', severity: 'warning' });
    servers.ntfy.failNext({ kind: 'ratelimit', retryAfterS: 1 });
    const ref = (await acts.notifyPost({ state, channel: 'push', targets: ['gpu-oncall'] }))!;
    const pub = servers.ntfy.accepted().at(-1)!;
    assert.equal(pub.headers.authorization, 'Bearer tk_test');
    assert.equal(pub.json.topic, 'gpu-oncall');
    assert.equal(pub.json.priority, 4);
    const action = pub.json.actions[0];
    assert.deepEqual([action.action, action.method, action.label], ['http', 'POST', 'Acknowledge']);
    assert.equal(verifyAckToken(KEY, new URL(action.url).searchParams.get('token')!).target, 'gpu-oncall');
    assert.match(ref.id, /^n\d+$/, "ref carries ntfy's message id");
    await acts.notifyFollowUp({ state, channel: 'push', ref, level: { index: 1, name: 'lead' }, targets: ['gpu-lead'] });
    assert.equal(servers.ntfy.accepted().at(-1)!.json.priority, 5, 'an escalation is one step louder');
    await assert.rejects(acts.notifyPost({ state, channel: 'push', targets: ['bad topic!'] }), /not a topic name/);
  });
});

/**
 * One incident paged on four channels at once — Slack (fake Slack Web API),
 * a signed generic webhook (local server), email (real SMTP server, aiosmtpd)
 * and ntfy push (local server speaking ntfy's JSON publish API) — by the real
 * alerts worker process with a channels file. Then every channel's own ack
 * mechanism fires at the same time: the Slack button (signed interaction),
 * the email link (GET shows a page, the form POST acks) and the ntfy `http`
 * action (the phone POSTs the signed link). The alert is acknowledged once,
 * and the chain holds exactly one acknowledgement.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeChannelServer } from '../../infra/stack/fake-channel-server.ts';
import { startSmtp, type SmtpServer } from '../../infra/stack/smtp.ts';
import { cacheDir } from '../../infra/stack/binaries.ts';
import { alertWorkflowId, ledgerKey } from '../../lib/alerts/ids.ts';
import type { AlertInput } from '../../lib/alerts/types.ts';
import type { EscalationPolicy } from '../../lib/alerts/policy.ts';
import { ALERTS_TASK_QUEUE } from '../../workflows/alert-messages.ts';
import { clickButton } from '../support/fake-slack-server.ts';
import { eventually } from '../support/processes.ts';
import { ALERT_CHANNEL, SIGNING_SECRET, getAlert, startAlertStack, type AlertStack } from './alert-harness.ts';

const ACK_SECRET = 'e2e-notify-ack-secret-0123456789abcdef';

let st: AlertStack;
let smtp: SmtpServer;
let dir: string;
const hook = new FakeChannelServer({ flavour: 'generic' });
const ntfy = new FakeChannelServer({ flavour: 'ntfy' });

/** The link as the page carries it, sent to the API this test runs (the link's origin is PUBLIC_API_URL). */
const toApi = (link: string) => {
  const u = new URL(link);
  return `${st.api.url}${u.pathname}${u.search}`;
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'alert-channels-'));
  smtp = await startSmtp({ cache: cacheDir(process.env.TELEMETRY_CACHE_DIR), dataDir: join(dir, 'smtp') });
  await Promise.all([hook.start(), ntfy.start()]);
  const channelsFile = join(dir, 'channels.json');
  writeFileSync(
    channelsFile,
    JSON.stringify({
      slack: { kind: 'slack' },
      hook: { kind: 'webhook', url: `${hook.url}/incoming`, template: 'generic', signingSecret: 'e2e-webhook-secret' },
      mail: { kind: 'email', smtpUrl: smtp.url, from: 'Telemetry <alerts@telemetry.test>' },
      push: { kind: 'ntfy', server: ntfy.url },
    }),
  );
  st = await startAlertStack({
    rules: [],
    levels: [{ name: 'on-call', waitFor: '10m' }],
    collect: false,
    env: { NOTIFY_CHANNELS_FILE: channelsFile, NOTIFY_ACK_SECRET: ACK_SECRET, PUBLIC_API_URL: 'https://telemetry.example.com' },
  });
});

after(async () => {
  await st?.stop();
  await Promise.all([hook.stop(), ntfy.stop(), smtp?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('one incident on Slack + webhook + email + ntfy', () => {
  test('paged everywhere at once; the three ack mechanisms acknowledge once, on chain once', async () => {
    const device = 'GPU-c4a1e2f0-0000-4000-8000-00000000e2e1';
    const rule = 'gpu-temp-critical';
    const alert: AlertInput = {
      alertId: alertWorkflowId(device, rule),
      device,
      rule,
      severity: 'critical',
      summary: 'temperature_c 96 > 90 for 5s',
      host: 'node-e2e',
      values: { temperature_c: 96 },
      firedAt: new Date().toISOString(),
    };
    const policy: EscalationPolicy = {
      levels: [
        {
          name: 'on-call',
          channel: ALERT_CHANNEL,
          users: ['U0ONCALL1'],
          targets: [{ channel: 'hook' }, { channel: 'mail', target: 'oncall@example.com' }, { channel: 'push', target: 'gpu-oncall' }],
          waitFor: '10m',
        },
      ],
      repeat: 0,
      autoResolveAfter: '10m',
      snoozeMax: '1h',
    };
    await st.temporal.workflow.start('alertEscalation', { taskQueue: ALERTS_TASK_QUEUE, workflowId: alert.alertId, args: [{ alert, policy }] });

    // Four pages, one per channel.
    const state = await eventually(() => getAlert(st.api, alert.alertId), (v) => (v?.notifications?.length ?? 0) === 4, 60_000, 'paged on 4 channels', 250);
    assert.deepEqual(state!.notifications!.map((n) => n.channel).sort(), ['hook', 'mail', 'push', 'slack']);
    const ref = state!.slack!;
    const post = st.slack.successesOf('chat.postMessage').find((c) => JSON.stringify(c.body).includes(alert.alertId))!;
    assert.match(String(post.body.text), /<@U0ONCALL1>/, 'the Slack adapter formatted the mention');
    const hookReq = hook.accepted().find((r) => r.json.alert?.alertId === alert.alertId)!;
    assert.ok(hookReq.headers['x-telemetry-signature'], 'webhook signed');
    const mail = await eventually(async () => smtp.messages().find((m) => m.includes(alert.alertId)), Boolean, 10_000, 'email received');
    const push = ntfy.accepted().find((r) => r.json.topic === 'gpu-oncall')!;
    assert.equal(push.json.priority, 5, 'critical → ntfy max priority');

    // The email link: quoted-printable decoded as a mail client would.
    const emailLink = /Acknowledge: (\S+)/.exec(mail!.replace(/=\r?\n/g, '').replace(/=3D/g, '='))![1]!;
    assert.ok(emailLink.startsWith('https://telemetry.example.com/v1/notify/ack?token='), emailLink);
    const ntfyLink = push.json.actions[0].url as string;

    // A link preview (GET) shows a confirmation page and acknowledges nothing; a forged token is refused.
    const preview = await fetch(toApi(emailLink), { headers: { accept: 'text/html' } });
    assert.equal(preview.status, 200);
    assert.match(await preview.text(), /<form method="post"/);
    const forged = await fetch(toApi(emailLink.replace(/.{4}$/, 'AAAA')), { method: 'POST' });
    assert.equal(forged.status, 401);
    assert.equal((await getAlert(st.api, alert.alertId))!.status, 'firing');

    // All three mechanisms at once.
    const [slackClick, emailAck, ntfyAck] = await Promise.all([
      clickButton({ url: `${st.api.url}/slack/interactions`, signingSecret: SIGNING_SECRET, alertId: alert.alertId, action: 'ack', user: { id: 'U0ALICE01', name: 'alice' }, channel: ref.channel, messageTs: ref.ts }),
      fetch(toApi(emailLink), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: '' }),
      fetch(toApi(ntfyLink), { method: 'POST' }), // what the ntfy app sends for an `http` action
    ]);
    assert.equal(slackClick.status, 200, slackClick.body);
    assert.equal(emailAck.status, 200, await emailAck.clone().text());
    assert.equal(ntfyAck.status, 200, await ntfyAck.clone().text());

    const acked = await eventually(() => getAlert(st.api, alert.alertId), (v) => v?.ack?.receipt !== undefined, 30_000, 'ack with receipt', 250);
    assert.equal(acked!.status, 'acknowledged');
    assert.ok(['slack:alice', 'email:oncall@example.com', 'ntfy:gpu-oncall'].includes(acked!.ack!.by), acked!.ack!.by);
    assert.equal(acked!.history.filter((h) => h.event.startsWith('acknowledged by')).length, 1, 'acknowledged once');

    const ledger = await st.ledger();
    const events = await ledger.getAlertEvents(ledgerKey(alert));
    assert.deepEqual(events.map((e) => e.kind), ['recorded', 'acknowledged'], 'one ack on chain');
    assert.equal(events[1]!.txHash, acked!.ack!.receipt!.txHash);

    // Each channel reports the ack its own way: Slack edits in place; webhook, email and ntfy send one status message.
    await eventually(async () => hook.accepted().filter((r) => r.json.event === 'update' && r.json.status === 'acknowledged').length, (n) => n === 1, 15_000, 'webhook ack event');
    await eventually(async () => smtp.messages().filter((m) => /Acknowledged by/.test(m)).length, (n) => n === 1, 15_000, 'ack email');
    await eventually(async () => ntfy.accepted().filter((r) => r.json.priority === 2).length, (n) => n === 1, 15_000, 'ntfy ack push');
  });
});

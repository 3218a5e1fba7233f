/**
 * The whole alerting path on real servers: an nvidia-smi CSV with a thermal
 * runaway on one GPU → `telemetry-stack ingest` → JetStream → collector
 * workflows (health model + rules) → alertEscalation workflow → Slack (fake,
 * wire-compatible) → a signed Acknowledge click on the API → ack recorded on
 * the AlertLedger contract (anvil) → the Slack message updated with the tx hash.
 * Escalation stops after the ack; the healthy GPUs of the same file open no
 * critical alert.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gpuUuid, writeSample } from '../../lib/sample/generate-sample.ts';
import { alertWorkflowId, ledgerKey } from '../../lib/alerts/ids.ts';
import { identityHash } from '../../activities/ledger/ledger-ids.ts';
import { clickButton } from '../support/fake-slack-server.ts';
import { waitForCount } from '../support/pipeline.ts';
import type { AlertStateView } from '../../workflows/alert-messages.ts';
import {
  ALERT_CHANNEL,
  API_HEADERS,
  SIGNING_SECRET,
  TEMP_RULE,
  alertPosts,
  allText,
  cliAsync,
  eventually,
  getAlert,
  sleep,
  startAlertStack,
  threadReplies,
  updatesOf,
  waitForPostedAlert,
  type AlertStack,
} from './alert-harness.ts';

const GPUS = 3;
const SAMPLES = 90;
const HOT = 1;
const HOST = 'gpu-node-01';
const hotDevice = gpuUuid(HOST, HOT);
const alertId = alertWorkflowId(hotDevice, TEMP_RULE.name);
/** Level 0 waits long enough for the click; level 1 is the page the ack must prevent. */
const LEVEL0_WAIT_S = 15;
const LEVEL1_WAIT_S = 5;

let st: AlertStack;
let posted: AlertStateView;

before(async () => {
  st = await startAlertStack({
    rules: [TEMP_RULE, { name: 'gpu-health-critical', kind: 'health', severity: 'critical', atLeast: 'critical', for: '5s' }],
    levels: [
      { name: 'on-call', channel: ALERT_CHANNEL, users: ['U0ONCALL1'], waitFor: `${LEVEL0_WAIT_S}s` },
      { name: 'secondary', users: ['U0SECOND1'], waitFor: `${LEVEL1_WAIT_S}s` },
    ],
  });
});
after(async () => {
  await st?.stop();
});

describe('CSV with a thermal runaway → Slack → signed ack → ledger → Slack update', () => {
  test('ingest opens one escalation for the hot GPU, posted once to Slack with device and buttons', async () => {
    const file = join(st.s.dataDir, 'runaway.csv');
    // Recent timestamps; the runaway starts at sample 10 and lasts to the end (no recovery mid-test).
    const startMs = Math.floor(Date.now() / 1000) * 1000 - SAMPLES * 1000;
    await writeSample(file, { gpus: GPUS, samples: SAMPLES, startMs, seed: 11, host: HOST, fault: { gpu: HOT, start: 10, length: 10_000 } });
    const r = await cliAsync(['ingest', file, '--json', '--no-progress'], st.env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json!.points, GPUS * SAMPLES);

    posted = await waitForPostedAlert(st.api, alertId, 90_000);
    assert.equal(posted.alert.device, hotDevice);
    assert.equal(posted.alert.rule, TEMP_RULE.name);
    assert.equal(posted.alert.severity, 'critical');
    assert.ok(posted.alert.values.temperature_c! > 90, JSON.stringify(posted.alert.values));

    // The CLI sees it through Temporal visibility (search attributes).
    const list = await eventually(
      () => cliAsync(['alerts', 'list', '--json'], st.env),
      (x) => ((x.json?.alerts as { id: string; status?: string }[] | undefined) ?? []).some((a) => a.id === alertId && a.status === 'firing'),
      30_000,
      'alerts list shows the alert firing',
      1_000,
    );
    const row = (list.json!.alerts as { id: string; device?: string; severity?: string; workflowStatus: string }[]).find((a) => a.id === alertId)!;
    assert.equal(row.device, hotDevice);
    assert.equal(row.severity, 'critical');
    assert.equal(row.workflowStatus, 'RUNNING');

    const posts = alertPosts(st.slack, alertId);
    assert.equal(posts.length, 1, `exactly one chat.postMessage for ${alertId}`);
    const post = posts[0]!;
    assert.equal(post.auth, `Bearer xoxb-e2e-0000000000-test`);
    assert.equal(post.body.channel, ALERT_CHANNEL);
    assert.ok(Array.isArray(post.body.blocks), 'Block Kit blocks');
    const blocks = post.body.blocks as { type: string; block_id?: string; elements?: { action_id?: string; value?: string; text?: { text: string } }[] }[];
    const header = blocks.find((b) => b.type === 'header');
    assert.match(JSON.stringify(header), new RegExp(hotDevice));
    const actions = blocks.find((b) => b.type === 'actions')!;
    const ids = actions.elements!.map((e) => e.action_id);
    assert.ok(ids.includes('alert:ack') && ids.includes('alert:resolve'), `buttons: ${ids.join(', ')}`);
    for (const e of actions.elements!) assert.equal(e.value, alertId, 'every button carries the alert id');
    const stored = (st.slack.messages.get(ALERT_CHANNEL) ?? []).filter((m) => m.thread_ts === undefined && m.metadata?.event_payload.alert_id === alertId);
    assert.equal(stored.length, 1);
    assert.deepEqual(posted.slack, { channel: ALERT_CHANNEL, ts: stored[0]!.ts });
    assert.equal(threadReplies(st.slack, posted.slack!.ts).length, 0, 'no escalation yet');
  });

  test('the first post pages the policy level 0 (its mentions reach Slack)', () => {
    const post = alertPosts(st.slack, alertId)[0]!;
    // The workflow hands level 0's mentions to postAlertMessage; they must be in the message that notifies.
    assert.match(allText(post.body), /<@U0ONCALL1>/, 'the first post mentions the level-0 responder');
  });

  test('the healthy GPUs of the same file open no critical alert', async () => {
    // Every point is stored (so every point went through the rules) before looking.
    await waitForCount(st.s, GPUS * SAMPLES, 60_000);
    await sleep(2_000);
    const res = await fetch(`${st.api.url}/v1/alerts?limit=1000`, { headers: API_HEADERS });
    assert.equal(res.status, 200);
    const { alerts } = (await res.json()) as { alerts: { id: string; device?: string; severity?: string }[] };
    assert.ok(alerts.some((a) => a.id === alertId), 'the hot GPU alert is listed');
    for (let g = 0; g < GPUS; g++) {
      if (g === HOT) continue;
      const dev = gpuUuid(HOST, g);
      const critical = alerts.filter((a) => a.device === dev && a.severity === 'critical');
      assert.deepEqual(critical, [], `healthy ${dev} has no critical alert`);
      assert.ok(!st.slack.successesOf('chat.postMessage').some((c) => JSON.stringify(c.body).includes(dev)), `nothing posted about ${dev}`);
    }
  });

  test('a signed Acknowledge click records the ack on chain and updates the Slack message with the tx hash', async () => {
    const ref = posted.slack!;
    const before = await getAlert(st.api, alertId);
    assert.equal(before!.status, 'firing');
    const nextEscalationAt = Date.parse(before!.nextEscalationAt!);
    assert.ok(nextEscalationAt - Date.now() > 3_000, `enough time left before level 1 (${nextEscalationAt - Date.now()} ms)`);

    const clickedAt = Date.now();
    const click = await clickButton({
      url: `${st.api.url}/slack/interactions`,
      signingSecret: SIGNING_SECRET,
      alertId,
      action: 'ack',
      user: { id: 'U0ALICE01', name: 'alice' },
      channel: ref.channel,
      messageTs: ref.ts,
    });
    assert.equal(click.status, 200, click.body);
    assert.ok(click.elapsedMs < 3_000, `Slack needs an answer within 3 s (${Math.round(click.elapsedMs)} ms)`);

    const ledger = await st.ledger();
    const key = ledgerKey(posted.alert);
    const rec = await eventually(() => ledger.getAlert(key), (r) => r?.acknowledged != null, 10_000, 'ack on chain', 200);
    assert.equal(rec!.acknowledged!.responderHash, identityHash('slack:alice'));
    assert.equal(rec!.acknowledged!.channel, 'slack');
    const events = await ledger.getAlertEvents(key);
    assert.deepEqual(events.map((e) => e.kind), ['recorded', 'acknowledged']);
    const ackEvent = events.find((e) => e.kind === 'acknowledged')!;

    // chat.update of the same ts carries the tx hash (Slack shows a shortened hash in blocks; the full one in code span).
    const update = await eventually(
      async () => updatesOf(st.slack, ref.ts).find((u) => allText(u.body).includes(ackEvent.txHash)),
      (u) => u !== undefined,
      10_000,
      'chat.update with the tx hash',
      200,
    );
    assert.equal(update!.body.channel, ref.channel);
    assert.ok(update!.at - clickedAt < 10_000, `updated ${update!.at - clickedAt} ms after the click`);
    const msg = st.slack.message(ref.channel, ref.ts)!;
    assert.ok(allText(msg).includes(ackEvent.txHash), 'the stored message shows the tx');
    assert.ok(!JSON.stringify(msg.blocks).includes('alert:ack'), 'the Acknowledge button is gone');

    // Audit endpoint: the on-chain record with tx hash and block.
    const audit = await fetch(`${st.api.url}/v1/alerts/${alertId}/audit`, { headers: API_HEADERS });
    assert.equal(audit.status, 200, await audit.clone().text());
    const a = (await audit.json()) as { alertId: string; record: { acknowledged: unknown }; events: { kind: string; txHash: string; blockNumber: number }[] };
    assert.equal(a.alertId, key);
    assert.ok(a.record.acknowledged);
    const auditAck = a.events.find((e) => e.kind === 'acknowledged')!;
    assert.equal(auditAck.txHash, ackEvent.txHash);
    assert.equal(auditAck.blockNumber, ackEvent.blockNumber);
    assert.ok(auditAck.blockNumber > 0);

    // State: acknowledged, by the Slack user, with the same receipt.
    const state = await getAlert(st.api, alertId);
    assert.equal(state!.status, 'acknowledged');
    assert.equal(state!.ack!.by, 'slack:alice');
    assert.equal(state!.ack!.via, 'slack');
    assert.equal(state!.ack!.receipt!.txHash, ackEvent.txHash);
    const shown = await cliAsync(['alerts', 'show', alertId], st.env);
    assert.equal(shown.status, 0, shown.stderr);
    assert.equal((JSON.parse(shown.stdout) as AlertStateView).status, 'acknowledged');

    // Escalation stopped: nothing in the thread after the level-0 deadline and level 1's wait have passed.
    await sleep(Math.max(0, nextEscalationAt + LEVEL1_WAIT_S * 1000 + 2_000 - Date.now()));
    assert.equal(threadReplies(st.slack, ref.ts).length, 0, 'no escalation reply after the ack');
    const after = await getAlert(st.api, alertId);
    assert.equal(after!.level, 0);
    assert.equal(after!.status, 'acknowledged');
    assert.equal(after!.nextEscalationAt, undefined);
    assert.equal(alertPosts(st.slack, alertId).length, 1, 'still exactly one alert message');
    assert.equal((await ledger.getAlertEvents(key)).filter((e) => e.kind === 'acknowledged').length, 1);
  });
});

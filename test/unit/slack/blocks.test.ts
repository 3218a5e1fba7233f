import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_BLOCKS,
  MAX_SECTION_TEXT,
  alertMessage,
  escalationReply,
  escapeMrkdwn,
  formatMention,
  truncate,
} from '../../../activities/slack/blocks.ts';
import { parseActionId, buildActionId, SNOOZE_DURATIONS } from '../../../activities/slack/action-ids.ts';
import { makeAlertState } from '../../support/fake-slack-server.ts';

type AnyBlock = { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { type: string; text?: unknown; action_id?: string; value?: string }[] };

/** All human-visible text of a message, for "does it mention X" checks. */
function allText(blocks: AnyBlock[]): string {
  return JSON.stringify(blocks);
}
function actions(blocks: AnyBlock[]) {
  return blocks.find((b) => b.type === 'actions')?.elements ?? [];
}

const TX = '0x' + 'ab'.repeat(32);

describe('alertMessage', () => {
  test('renders header, identity, values, health and status', () => {
    const state = makeAlertState();
    const { text, blocks } = alertMessage(state) as { text: string; blocks: AnyBlock[] };
    const header = blocks[0]!;
    assert.equal(header.type, 'header');
    assert.match(header.text!.text, /:rotating_light: CRITICAL: temp-high on GPU-5fa3c1d2/);
    const all = allText(blocks);
    for (const needle of ['GPU-5fa3c1d2', 'NVIDIA H100 80GB HBM3', 'node-07', 'temp-high', 'temperature_c 97 &gt; 90 for 30s',
      '`temperature_c` 97', '`power_w` 612.457', 'critical (score 0.93)', 'thermal slowdown', 'firing', 'level 1']) {
      assert.ok(all.includes(needle), `missing ${needle}`);
    }
    assert.match(text, /^\[CRITICAL\] temp-high on GPU-5fa3c1d2: temperature_c 97 > 90 for 30s \(firing\)$/);
    assert.ok(all.includes('<!date^1740830400^'), 'fired time as a Slack date token');
  });

  test('a firing alert has Acknowledge, Resolve and three Snooze buttons carrying the alert id', () => {
    const state = makeAlertState();
    const els = actions(alertMessage(state).blocks as AnyBlock[]);
    assert.deepEqual(
      els.map((e) => e.action_id),
      ['alert:ack', 'alert:resolve', ...SNOOZE_DURATIONS.map((d) => `alert:snooze:${d}`)],
    );
    for (const e of els) {
      assert.equal(e.type, 'button');
      assert.equal(e.value, state.alert.alertId);
      assert.ok(parseActionId(e.action_id), `${e.action_id} parses back`);
    }
    assert.equal(new Set(els.map((e) => e.action_id)).size, els.length, 'action ids unique in a message');
  });

  test('acknowledged: shows who, the ledger tx and block; only Resolve remains', () => {
    const state = makeAlertState({
      status: 'acknowledged',
      ack: { by: 'U024BE7LH', via: 'slack', at: '2025-03-01T12:03:00.000Z', receipt: { txHash: TX, blockNumber: 42, alreadyRecorded: false } },
    });
    const blocks = alertMessage(state, { txUrl: (h) => `https://explorer.test/tx/${h}` }).blocks as AnyBlock[];
    const all = allText(blocks);
    assert.ok(all.includes('*Acknowledged* by <@U024BE7LH> via slack'));
    assert.ok(all.includes(`https://explorer.test/tx/${TX}`));
    assert.ok(all.includes('(block 42)'));
    assert.deepEqual(actions(blocks).map((e) => e.action_id), ['alert:resolve']);
  });

  test('resolved: buttons removed, resolution and tx shown', () => {
    const state = makeAlertState({
      status: 'resolved',
      ack: { by: 'alice', via: 'api', at: '2025-03-01T12:03:00.000Z' },
      resolved: { by: 'U024BE7LH', at: '2025-03-01T12:30:00.000Z', reason: 'fan replaced <ok>', receipt: { txHash: TX, blockNumber: 50, alreadyRecorded: true } },
    });
    const blocks = alertMessage(state).blocks as AnyBlock[];
    assert.equal(blocks.some((b) => b.type === 'actions'), false);
    const all = allText(blocks);
    assert.ok(all.includes('*Resolved* by <@U024BE7LH>'));
    assert.ok(all.includes('fan replaced &lt;ok&gt;'), 'user text is escaped');
    assert.ok(all.includes(`\`${TX}\``) && all.includes('(block 50), already recorded'));
    assert.ok(all.includes('by alice via api'));
    assert.match((blocks[0] as AnyBlock).text!.text, /^:white_check_mark:/);
  });

  test('snoozed shows until when; warning severity uses the warning emoji', () => {
    const state = makeAlertState({ status: 'snoozed', snoozedUntil: '2025-03-01T13:00:00.000Z' }, { severity: 'warning' });
    const blocks = alertMessage(state).blocks as AnyBlock[];
    assert.match(blocks[0]!.text!.text, /^:warning: WARNING/);
    assert.ok(allText(blocks).includes('*Snoozed* until <!date^1740834000^'));
    assert.ok(actions(blocks).some((e) => e.action_id === 'alert:snooze:1h'));
  });

  test('escapes mrkdwn control characters from telemetry fields', () => {
    const state = makeAlertState({}, { device: 'gpu<0>&1', summary: '<!channel> injected' });
    const all = allText(alertMessage(state).blocks as AnyBlock[]);
    assert.ok(!all.includes('<!channel>'));
    assert.ok(all.includes('&lt;!channel&gt; injected'));
    assert.ok(all.includes('gpu&lt;0&gt;&amp;1'));
  });

  test('stays within Slack limits with huge inputs', () => {
    const values: Record<string, number> = {};
    for (let i = 0; i < 500; i++) values[`field_with_a_long_name_${String(i).padStart(3, '0')}`] = i + 0.123456;
    const state = makeAlertState(
      { status: 'acknowledged', ack: { by: 'x'.repeat(5000), via: 'console', at: '2025-03-01T12:03:00.000Z' } },
      { summary: 's'.repeat(10_000), device: 'd'.repeat(400), values, health: { class: 'degraded', score: 0.5, reasons: Array.from({ length: 300 }, (_, i) => `reason ${i} <&>`) } },
    );
    const { text, blocks } = alertMessage(state) as { text: string; blocks: AnyBlock[] };
    assert.ok(blocks.length <= MAX_BLOCKS);
    assert.ok(text.length <= 300);
    assert.ok(blocks[0]!.text!.text.length <= 150);
    for (const b of blocks) {
      if (b.text) assert.ok(b.text.text.length <= MAX_SECTION_TEXT, `${b.type} text ${b.text.text.length}`);
      for (const f of b.fields ?? []) assert.ok(f.text.length <= 2000);
      for (const e of b.elements ?? []) {
        const t = (e as { text?: string | { text: string } }).text;
        const s = typeof t === 'string' ? t : t?.text;
        if (s) assert.ok(s.length <= MAX_SECTION_TEXT);
      }
    }
    assert.ok(allText(blocks).includes('+476 more'));
  });
});

describe('escalationReply and mentions', () => {
  test('mentions users, groups, channels and @here in Slack syntax', () => {
    const text = escalationReply(makeAlertState({ repeats: 1 }), 1, ['U024BE7LH', '@W123ABC', 'S0614TZR7', 'here', '#C0ONCALL1', 'bob<script>']);
    assert.match(text, /\*Escalation level 2\* \(repeat 1\)/);
    for (const m of ['<@U024BE7LH>', '<@W123ABC>', '<!subteam^S0614TZR7>', '<!here>', '<#C0ONCALL1>', 'bob&lt;script&gt;']) {
      assert.ok(text.includes(m), `missing ${m} in ${text}`);
    }
    assert.ok(text.includes('temp-high on GPU-5fa3c1d2 is still *firing*'));
    assert.ok(text.length <= MAX_SECTION_TEXT);
  });

  test('formatMention keeps preformatted mentions', () => {
    assert.equal(formatMention('<!subteam^S1|@oncall>'), '<!subteam^S1|@oncall>');
    assert.equal(formatMention('<@U024BE7LH>'), '<@U024BE7LH>');
  });

  test('escape and truncate helpers', () => {
    assert.equal(escapeMrkdwn('a<b>&c'), 'a&lt;b&gt;&amp;c');
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(truncate('ab&amp;cd', 5), 'ab…', 'never half an entity');
    assert.equal(truncate('abc', 3), 'abc');
  });

  test('action ids round-trip; foreign ids are rejected', () => {
    assert.deepEqual(parseActionId(buildActionId('snooze', '4h')), { action: 'snooze', snoozeFor: '4h' });
    assert.deepEqual(parseActionId(buildActionId('ack')), { action: 'ack' });
    assert.equal(parseActionId('alert:snooze:99y'), null);
    assert.equal(parseActionId('other:ack'), null);
    assert.equal(parseActionId(undefined), null);
  });
});

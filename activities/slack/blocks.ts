/**
 * Block Kit rendering of an alert. Pure functions of AlertState: the same
 * state always renders the same message, so chat.update on every state change
 * is idempotent.
 *
 * Slack limits honoured here (exceeding any → `invalid_blocks`, a permanent error):
 * header text ≤ 150 chars, section text ≤ 3000, section field ≤ 2000 (≤ 10 fields),
 * context ≤ 10 elements, button text ≤ 75, button value ≤ 2000, ≤ 50 blocks.
 */
import type { Button, ContextBlock, KnownBlock, SectionBlock } from '@slack/web-api';
import type { AlertState, ChainReceipt } from '../../lib/alerts/types.ts';
import { SNOOZE_DURATIONS, buildActionId } from './action-ids.ts';
import { triageText } from './triage-text.ts';
import { recommendedRemediation } from '../../lib/kube/recommend.ts';
import type { RemediationRecord } from '../../lib/kube/remediation-types.ts';

export const MAX_BLOCKS = 50;
export const MAX_SECTION_TEXT = 3000;
export const MAX_FIELD_TEXT = 2000;
export const MAX_HEADER_TEXT = 150;
/** The notification/fallback `text`: short, it is what phones show. */
export const MAX_FALLBACK_TEXT = 300;
/** Values listed on the message; the rest are summarised as "+N more". */
export const MAX_VALUES_SHOWN = 24;

export interface AlertMessageOptions {
  /** Link for a ledger transaction (block explorer), when one exists. */
  txUrl?: (txHash: string) => string;
  /** Link to the alert in the API/UI. */
  alertUrl?: string;
}

export interface AlertMessage {
  /** Fallback text: notifications, screen readers, clients without Block Kit. */
  text: string;
  blocks: KnownBlock[];
}

const SEVERITY_EMOJI = { critical: ':rotating_light:', warning: ':warning:' } as const;
const STATUS_EMOJI = {
  firing: ':red_circle:',
  acknowledged: ':eyes:',
  snoozed: ':zzz:',
  silenced: ':mute:',
  recovered: ':large_green_circle:',
  resolved: ':white_check_mark:',
} as const;
const HEALTH_EMOJI = { healthy: ':large_green_circle:', degraded: ':large_yellow_circle:', critical: ':red_circle:' } as const;

/** Escape the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cut to `max` characters with an ellipsis, never leaving half an `&amp;` entity. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, Math.max(0, max - 1)).replace(/&[a-z]{0,4}$/, '');
  return `${cut}…`;
}

const SLACK_USER_RE = /^[UW][A-Z0-9]{2,}$/;
const SLACK_GROUP_RE = /^S[A-Z0-9]{2,}$/;
const SLACK_CHANNEL_RE = /^[CG][A-Z0-9]{2,}$/;

/**
 * Render one escalation target as a Slack mention:
 * `U123`/`@U123` → `<@U123>`, `S123` → `<!subteam^S123>`, `here`/`@channel` → `<!here>`/`<!channel>`,
 * `C123`/`#C123` → `<#C123>`, an already formatted `<…>` is kept; anything else is shown
 * as escaped text (Slack cannot notify by display name).
 */
export function formatMention(target: string): string {
  const t = target.trim();
  if (/^<[@#!][^<>]+>$/.test(t)) return t;
  const bare = t.replace(/^[@#]/, '');
  if (SLACK_USER_RE.test(bare)) return `<@${bare}>`;
  if (SLACK_GROUP_RE.test(bare)) return `<!subteam^${bare}>`;
  if (SLACK_CHANNEL_RE.test(bare)) return `<#${bare}>`;
  if (['here', 'channel', 'everyone'].includes(bare.toLowerCase())) return `<!${bare.toLowerCase()}>`;
  return escapeMrkdwn(t);
}

/** A person: a Slack user id becomes a mention, anything else escaped text. */
function who(by: string): string {
  return SLACK_USER_RE.test(by) ? `<@${by}>` : escapeMrkdwn(by);
}

/** Slack date token: rendered in the reader's time zone, with the ISO string as fallback. */
function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return escapeMrkdwn(iso);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${escapeMrkdwn(iso)}>`;
}

function receiptText(r: ChainReceipt, opts: AlertMessageOptions): string {
  const short = `${r.txHash.slice(0, 10)}…${r.txHash.slice(-6)}`;
  const tx = opts.txUrl ? `<${opts.txUrl(r.txHash)}|${short}>` : `\`${escapeMrkdwn(r.txHash)}\``;
  return `ledger tx ${tx} (block ${r.blockNumber})${r.alreadyRecorded ? ', already recorded' : ''}`;
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
}

function mrkdwnSection(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, MAX_SECTION_TEXT) } };
}

function context(texts: string[]): ContextBlock {
  return {
    type: 'context',
    elements: texts.slice(0, 10).map((t) => ({ type: 'mrkdwn' as const, text: truncate(t, MAX_SECTION_TEXT) })),
  };
}

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Button {
  const b: Button = {
    type: 'button',
    text: { type: 'plain_text', text: truncate(text, 75), emoji: true },
    action_id: actionId,
    value: value.slice(0, 2000),
  };
  if (style) b.style = style;
  return b;
}

/** Fallback text of the message (also what notifications show). */
export function alertFallbackText(state: AlertState): string {
  const a = state.alert;
  return truncate(
    `[${a.severity.toUpperCase()}] ${a.rule} on ${a.device}: ${a.summary} (${state.status})`,
    MAX_FALLBACK_TEXT,
  );
}

/** The alert message, re-rendered in full on every state change (chat.update replaces it). */
export function alertMessage(state: AlertState, opts: AlertMessageOptions = {}): AlertMessage {
  const a = state.alert;
  const blocks: KnownBlock[] = [];
  const closed = state.status === 'resolved';

  blocks.push({
    type: 'header',
    text: {
      type: 'plain_text',
      emoji: true,
      text: truncate(
        `${closed ? STATUS_EMOJI.resolved : SEVERITY_EMOJI[a.severity]} ${a.severity.toUpperCase()}: ${a.rule} on ${a.device}`,
        MAX_HEADER_TEXT,
      ),
    },
  });

  blocks.push(mrkdwnSection(`*${escapeMrkdwn(a.summary)}*`));

  const fields: string[] = [
    `*Device*\n${escapeMrkdwn(a.device)}`,
    `*Model*\n${escapeMrkdwn(a.model ?? 'unknown')}`,
    `*Host*\n${escapeMrkdwn(a.host ?? 'unknown')}`,
    ...(a.node ? [`*Node*\n${escapeMrkdwn(a.node)}`] : []),
    `*Rule*\n${escapeMrkdwn(a.rule)}`,
    `*Status*\n${STATUS_EMOJI[state.status]} ${state.status}`,
    `*Escalation*\nlevel ${state.level + 1}${state.repeats > 0 ? `, repeat ${state.repeats}` : ''}`,
    `*Fired*\n${slackDate(a.firedAt)}`,
  ];
  blocks.push({
    type: 'section',
    fields: fields.map((t) => ({ type: 'mrkdwn' as const, text: truncate(t, MAX_FIELD_TEXT) })),
  });

  const keys = Object.keys(a.values).sort();
  if (keys.length > 0) {
    const shown = keys.slice(0, MAX_VALUES_SHOWN).map((k) => `\`${escapeMrkdwn(k)}\` ${formatValue(a.values[k]!)}`);
    const more = keys.length > MAX_VALUES_SHOWN ? `  _+${keys.length - MAX_VALUES_SHOWN} more_` : '';
    blocks.push(mrkdwnSection(`*Values*  ${shown.join(' · ')}${more}`));
  }

  if (a.health) {
    const h = a.health;
    const reasons = h.reasons.length ? `\n${h.reasons.map((r) => `• ${escapeMrkdwn(r)}`).join('\n')}` : '';
    blocks.push(mrkdwnSection(`*Health* ${HEALTH_EMOJI[h.class]} ${h.class} (score ${formatValue(h.score)})${reasons}`));
  }

  // Evidence on every page (issue 10): triage card and the incident's rule firings.
  const triage = triageText(a.triage, state.firings);
  if (triage) blocks.push(mrkdwnSection(triage));

  const lifecycle: string[] = [];
  if (state.ack) {
    const r = state.ack.receipt ? ` · ${receiptText(state.ack.receipt, opts)}` : '';
    lifecycle.push(`:eyes: *Acknowledged* by ${who(state.ack.by)} via ${state.ack.via} ${slackDate(state.ack.at)}${r}`);
  }
  if (state.snoozedUntil && state.status === 'snoozed') {
    lifecycle.push(`:zzz: *Snoozed* until ${slackDate(state.snoozedUntil)}`);
  }
  if (state.recoveredAt) lifecycle.push(`:large_green_circle: *Recovered* ${slackDate(state.recoveredAt)}`);
  if (state.resolved) {
    const r = state.resolved.receipt ? ` · ${receiptText(state.resolved.receipt, opts)}` : '';
    lifecycle.push(
      `:white_check_mark: *Resolved* by ${who(state.resolved.by)} ${slackDate(state.resolved.at)}: ${escapeMrkdwn(state.resolved.reason)}${r}`,
    );
  }
  if (lifecycle.length) blocks.push(mrkdwnSection(lifecycle.join('\n')));

  // Node remediation (quarantine/drain/release): the last few records, newest last.
  const rem = (state.remediations ?? []).slice(-MAX_REMEDIATIONS_SHOWN);
  if (rem.length) blocks.push(mrkdwnSection(rem.map(remediationLine).join('\n')));

  if (!closed) {
    const elements: Button[] = [];
    if (!state.ack) elements.push(button('Acknowledge', buildActionId('ack'), a.alertId, 'primary'));
    elements.push(button('Resolve', buildActionId('resolve'), a.alertId, 'danger'));
    if (!state.ack && (state.status === 'firing' || state.status === 'snoozed')) {
      for (const d of SNOOZE_DURATIONS) elements.push(button(`Snooze ${d}`, buildActionId('snooze', d), a.alertId));
    }
    blocks.push({ type: 'actions', block_id: 'alert_actions', elements });
  }
  const nodeButtons = nodeActionButtons(state);
  if (nodeButtons.length) blocks.push({ type: 'actions', block_id: 'node_actions', elements: nodeButtons });

  const footer = [`alert \`${escapeMrkdwn(a.alertId)}\``];
  if (state.raisedReceipt) footer.push(`raised: ${receiptText(state.raisedReceipt, opts)}`);
  if (opts.alertUrl) footer.push(`<${opts.alertUrl}|details>`);
  blocks.push(context(footer));

  return { text: alertFallbackText(state), blocks: blocks.slice(0, MAX_BLOCKS) };
}

/** Remediation records shown on the message. */
export const MAX_REMEDIATIONS_SHOWN = 5;
const OUTCOME_EMOJI = { done: ':white_check_mark:', already: ':ballot_box_with_check:', shadow: ':ghost:', refused: ':no_entry:', blocked: ':hourglass:', failed: ':x:' } as const;

function remediationLine(r: RemediationRecord): string {
  return `${OUTCOME_EMOJI[r.outcome]} *${r.action}* \`${escapeMrkdwn(r.node)}\` by ${who(r.by)} via ${r.via} ${slackDate(r.finishedAt)}: ${escapeMrkdwn(truncate(r.detail, 400))}`;
}

/** Is a quarantine (or drain) of ours still on the node, as far as this incident knows? */
function heldNode(state: AlertState): string | undefined {
  let held: string | undefined;
  for (const r of state.remediations ?? []) {
    if (r.action === 'release' && (r.outcome === 'done' || r.outcome === 'already')) held = undefined;
    else if (r.action !== 'release' && (r.outcome === 'done' || r.outcome === 'already')) held = r.node;
  }
  return held;
}

/**
 * Quarantine / Drain while the incident is open and its device maps to a node; Release once a
 * quarantine holds (also after the incident closed). The catalog's recommended action is primary.
 */
export function nodeActionButtons(state: AlertState): Button[] {
  const a = state.alert;
  if (!a.node) return [];
  const recommended = recommendedRemediation(a.triage?.recommendedAction);
  const style = (act: 'quarantine' | 'drain') => (recommended === act ? ('primary' as const) : undefined);
  const out: Button[] = [];
  const held = heldNode(state);
  if (state.status !== 'resolved') {
    if (!held) out.push(button(`Quarantine ${a.node}`, buildActionId('quarantine'), a.alertId, style('quarantine')));
    out.push(button(`Drain ${a.node}`, buildActionId('drain'), a.alertId, style('drain')));
  }
  if (held) out.push(button(`Release ${held}`, buildActionId('release'), a.alertId));
  return out;
}

/**
 * Text of an escalation reply in the alert's thread. `level` is the 0-based
 * policy level being entered; `mentions` are Slack ids (see formatMention).
 */
export function escalationReply(state: AlertState, level: number, mentions: string[]): string {
  const a = state.alert;
  const who = mentions.map(formatMention).filter((m) => m.length > 0);
  const repeat = state.repeats > 0 ? ` (repeat ${state.repeats})` : '';
  const head = `${SEVERITY_EMOJI[a.severity]} *Escalation level ${level + 1}*${repeat}${who.length ? ` ${who.join(' ')}` : ''}`;
  const body = `${escapeMrkdwn(a.rule)} on ${escapeMrkdwn(a.device)} is still *${state.status}* since ${slackDate(a.firedAt)}: ${escapeMrkdwn(a.summary)}. Please acknowledge.`;
  return truncate(`${head}\n${body}`, MAX_SECTION_TEXT);
}

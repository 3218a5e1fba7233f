/**
 * An incident's timeline for the console, from the workflow's `state` query
 * (its own history lines, pages, ack/resolve with their chain receipts).
 * Pure: the workflow owns the events, this only orders and labels them.
 * Bounded by the workflow's own history bound; the output is capped at
 * MAX_TIMELINE_ENTRIES anyway (newest kept), so a runaway flapper cannot
 * make the page unbounded.
 */
import type { AlertStateView } from '../../workflows/alert-messages.ts';
import { TIMELINE_KINDS, type TimelineKind } from './wire.ts';

export const MAX_TIMELINE_ENTRIES = 500;

export { TIMELINE_KINDS, type TimelineKind };

export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  text: string;
  /** Chain transaction recorded for this step (raise, ack, resolve). */
  txHash?: string;
  block?: number;
}

/** The history line's kind, by the workflow's own wording (workflows/alert-escalation.ts `record`). */
export function classifyHistoryEvent(event: string): TimelineKind {
  const e = event.toLowerCase();
  if (e.startsWith('raised') || e.startsWith('firing again')) return 'raised';
  if (e.startsWith('escalat')) return 'level';
  if (e.startsWith('on call at level') || e.startsWith('paged') || e.includes(' paged ') || e.startsWith('fallback')) return 'page';
  if (e.startsWith('acknowledged')) return 'ack';
  if (e.startsWith('snooze') || e.startsWith('snoozed')) return 'snooze';
  if (e.includes('silence')) return 'silence';
  if (e.startsWith('recovered')) return 'recovered';
  if (e.startsWith('resolved') || e.startsWith('auto-resolved')) return 'resolve';
  if (e.startsWith('ledger')) return 'ledger';
  return 'other';
}

export function incidentTimeline(state: AlertStateView): TimelineEntry[] {
  const out: TimelineEntry[] = state.history.map((h) => ({ at: h.at, kind: classifyHistoryEvent(h.event), text: h.event }));
  // The receipts are not history lines: attach them to the step they record, or add the step.
  const attach = (kind: TimelineKind, at: string | undefined, text: string, r?: { txHash: string; blockNumber: number }) => {
    if (!r) return;
    const hit = out.find((e) => e.kind === kind && !e.txHash);
    if (hit) Object.assign(hit, { txHash: r.txHash, block: r.blockNumber });
    else out.push({ at: at ?? state.alert.firedAt, kind, text, txHash: r.txHash, block: r.blockNumber });
  };
  attach('raised', state.alert.firedAt, `raised: ${state.alert.summary}`, state.raisedReceipt);
  // Level 0's page is the first post itself, not a history line (only schedule look-ups write one):
  // show where it went, at the time it was raised.
  if (!out.some((e) => e.kind === 'page')) {
    const paged = pagedPeople(state);
    const raisedAt = out.find((e) => e.kind === 'raised')?.at ?? state.alert.firedAt;
    if (paged.length) out.push({ at: raisedAt, kind: 'page', text: `paged level 0: ${paged.join(', ')}` });
  }
  if (state.ack && !out.some((e) => e.kind === 'ack')) out.push({ at: state.ack.at, kind: 'ack', text: `acknowledged by ${state.ack.by} via ${state.ack.via}` });
  attach('ack', state.ack?.at, `acknowledged by ${state.ack?.by}`, state.ack?.receipt);
  if (state.resolved && !out.some((e) => e.kind === 'resolve'))
    out.push({ at: state.resolved.at, kind: 'resolve', text: `resolved by ${state.resolved.by}: ${state.resolved.reason}` });
  attach('resolve', state.resolved?.at, `resolved by ${state.resolved?.by}`, state.resolved?.receipt);
  out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return out.length > MAX_TIMELINE_ENTRIES ? out.slice(out.length - MAX_TIMELINE_ENTRIES) : out;
}

/** Who the incident paged: the on-call people of the last page, else the notified channels. */
export function pagedPeople(state: AlertStateView): string[] {
  const people = state.oncall?.people.map((p) => (p.person ? `${p.person} (${p.schedule})` : `nobody (${p.schedule})`)) ?? [];
  if (people.length) return people;
  // Without schedules the state names the channels paged (the Slack conversation id for Slack).
  const channels = (state.notifications ?? []).map((n) =>
    n.kind === 'slack' && n.slack ? `slack:${n.slack.channel}` : n.channel === n.kind ? n.kind : `${n.kind}:${n.channel}`,
  );
  if (channels.length) return channels;
  return state.slack ? [`slack:${state.slack.channel}`] : [];
}

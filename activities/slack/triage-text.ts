/**
 * The triage card (lib/alerts/triage.ts) and an incident's rule firings as
 * Slack mrkdwn. Pure; renders only what the card holds (nothing is added
 * that the data does not back), escaped, in a fixed order.
 */
import type { IncidentFiring, TriageCard } from '../../lib/alerts/types.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v: number): string => (Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000));
const kv = (o: Record<string, number>): string =>
  Object.keys(o)
    .sort()
    .map((k) => `\`${esc(k)}\` ${num(o[k]!)}`)
    .join(' · ');

/** Bound on firings listed in the message (the API record has them all). */
export const MAX_FIRINGS_SHOWN = 10;

/** `undefined` when there is nothing to show. */
export function triageText(card: TriageCard | undefined, firings: readonly IncidentFiring[] | undefined): string | undefined {
  const lines: string[] = [];
  if (firings && firings.length > 0) {
    lines.push(`*Rule firings in this incident* (${firings.length})`);
    for (const f of firings.slice(0, MAX_FIRINGS_SHOWN)) {
      lines.push(`• \`${esc(f.rule)}\` ${f.severity}${f.active ? ' firing' : ' recovered'} ×${f.count}, since ${esc(f.firstAt)}`);
    }
    if (firings.length > MAX_FIRINGS_SHOWN) lines.push(`_+${firings.length - MAX_FIRINGS_SHOWN} more_`);
  }
  if (card) {
    lines.push(`*Triage* — decided by ${card.decidedBy.map(esc).join(', ')}`);
    if (card.recommendedAction) lines.push(`*Recommended action:* ${esc(card.recommendedAction)}`);
    for (const h of card.holds) lines.push(`• driver \`${esc(h.cause)}\` ${h.class} since ${esc(h.since)} ns — clears when ${esc(h.clearsWhen)}`);
    for (const c of card.catalog) lines.push(`• ${c.kind === 'xid' ? `XID ${c.code}` : 'recovery action'} ${esc(c.name)} (${esc(c.severity)}) <${c.source.split(' ')[0]}|catalog>`);
    if (Object.keys(card.driver).length > 0) lines.push(`Driver signals: ${kv(card.driver)}`);
    if (Object.keys(card.limits).length > 0) lines.push(`Limits: ${kv(card.limits)}`);
    for (const b of card.baseline) lines.push(`vs own baseline: \`${esc(b.field)}\` ${num(b.value)} (mean ${num(b.mean)}, z ${num(b.z)})`);
    if (card.peers) lines.push(`vs ${card.peers.n - 1} peers: \`${esc(card.peers.field)}\` ${num(card.peers.value)} (median ${num(card.peers.median)}, z ${num(card.peers.z)})`);
    const h = card.history;
    lines.push(
      `History: ${h.previousIncidents} earlier unhealthy episode${h.previousIncidents === 1 ? '' : 's'}${h.lastIncidentAt ? `, last ${esc(h.lastIncidentAt)}` : ''}${h.mtbiHours !== undefined ? `, MTBI ${num(h.mtbiHours)} h` : ''}`,
    );
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}

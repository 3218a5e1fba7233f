/**
 * Pure target handling shared by the workflow (sandbox-safe: no zod, no I/O)
 * and start-up checks: which channels a level pages, with which targets.
 */
import type { EscalationLevel, EscalationPolicy, LevelTarget } from '../alerts/policy.ts';

/**
 * Every target of a level, as `{ channel, target }`: the legacy Slack fields first
 * (`channel` → the conversation, `users`/`groups` → mentions, all on channel `slack`),
 * then `targets`. A level without `targets` always pages Slack, as before targets existed.
 */
export function levelTargets(level: Pick<EscalationLevel, 'channel' | 'users' | 'groups' | 'targets'>): LevelTarget[] {
  const slack: LevelTarget[] = [...(level.channel ? [level.channel] : []), ...(level.users ?? []), ...(level.groups ?? [])].map(
    (target): LevelTarget => ({ channel: 'slack', target }),
  );
  if (slack.length === 0 && level.targets === undefined) slack.push({ channel: 'slack' });
  return [...slack, ...(level.targets ?? [])];
}

/** A target after schedules are resolved: a fixed, channel-specific string (or the channel default). */
export interface FixedTarget {
  channel: string;
  target?: string;
}

/** Groups fixed targets by channel, in first-seen order, without duplicates: one page per channel. */
export function groupByChannel(targets: FixedTarget[]): { channel: string; targets: string[] }[] {
  const out = new Map<string, string[]>();
  for (const t of targets) {
    const list = out.get(t.channel) ?? [];
    if (t.target !== undefined && !list.includes(t.target)) list.push(t.target);
    out.set(t.channel, list);
  }
  return [...out].map(([channel, list]) => ({ channel, targets: list }));
}

/** Channel names a policy uses (checked against the channels file when the worker starts). */
export function policyChannels(policy: Pick<EscalationPolicy, 'levels'>): string[] {
  const names = new Set<string>();
  for (const l of policy.levels) for (const t of [...levelTargets(l), ...(l.fallback ?? [])]) names.add(t.channel);
  return [...names];
}

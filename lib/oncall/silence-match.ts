/**
 * Silence types and matching, free of dependencies so the escalation
 * workflow (deterministic sandbox) can check a silence signal against its own
 * alert — host is not a search attribute, so the signal may reach alerts of
 * other hosts and each workflow decides for itself.
 */

/** What happens to a paused escalation when the window ends. */
export type SilenceOnEnd = 'resume' | 'resolve';

/** Each given matcher must match: an exact value, or a prefix ending in "*". */
export interface SilenceMatchers {
  device?: string;
  host?: string;
  rule?: string;
}

/** What an escalation workflow is told (signal) or finds (page check). */
export interface ActiveSilence {
  id: string;
  matchers: SilenceMatchers;
  endsAt: string;
  onEnd: SilenceOnEnd;
  reason: string;
  by: string;
}

/** The alert fields a silence matches on. */
export interface SilenceSubject {
  device: string;
  rule: string;
  host?: string;
}

function matches(pattern: string | undefined, value: string | undefined): boolean {
  if (pattern === undefined) return true;
  if (value === undefined) return false;
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

export function silenceMatches(s: { matchers: SilenceMatchers }, alert: SilenceSubject): boolean {
  return matches(s.matchers.device, alert.device) && matches(s.matchers.host, alert.host) && matches(s.matchers.rule, alert.rule);
}

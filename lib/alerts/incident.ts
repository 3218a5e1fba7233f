/**
 * One incident per episode: a device's alerts that overlap in time go to one
 * escalation workflow (one notification thread, one ack) whose id comes from
 * a configurable grouping key; the individual rule firings are recorded
 * inside it. Pure: the signaller derives ids, the workflow applies firings.
 *
 * Invariant: with the default key (`device,group`) a rule without a `group`
 * keeps its historical id `alert-<device>-<rule>` (alertWorkflowId), so
 * ungrouped rules behave exactly as before.
 */
import { alertWorkflowId, sanitizeIdPart } from './ids.ts';
import type { AlertInput, IncidentFiring, Severity } from './types.ts';

/** Parts a grouping key can use: the device, its host tag, the rule's group (else its name). */
export const GROUP_KEY_PARTS = ['device', 'host', 'group'] as const;
export type GroupKeyPart = (typeof GROUP_KEY_PARTS)[number];

export const DEFAULT_GROUP_BY: readonly GroupKeyPart[] = ['device', 'group'];
/** Bound on firings kept per incident (distinct rules; the oldest inactive ones go first). */
export const MAX_INCIDENT_FIRINGS = 32;

export class GroupKeyError extends Error {
  override name = 'GroupKeyError';
}

/** `device,group` → parts; rejects unknown or repeated parts, naming them. */
export function parseGroupBy(text: string, source = 'ALERT_GROUP_BY'): GroupKeyPart[] {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) throw new GroupKeyError(`${source}: empty; use some of ${GROUP_KEY_PARTS.join(', ')}`);
  const seen = new Set<string>();
  for (const p of parts) {
    if (!(GROUP_KEY_PARTS as readonly string[]).includes(p)) throw new GroupKeyError(`${source}: unknown part "${p}"; use ${GROUP_KEY_PARTS.join(', ')}`);
    if (seen.has(p)) throw new GroupKeyError(`${source}: "${p}" given twice`);
    seen.add(p);
  }
  return parts as GroupKeyPart[];
}

/**
 * The incident workflow id of an alert. Grouped ids use `@`-prefixed parts
 * (`@` is not allowed in rule names, so they never collide with a rule id).
 */
export function incidentWorkflowId(alert: Pick<AlertInput, 'device' | 'rule' | 'host' | 'group'>, groupBy: readonly GroupKeyPart[] = DEFAULT_GROUP_BY): string {
  const grouped = alert.group !== undefined && groupBy.includes('group');
  if (!grouped && groupBy.includes('device') && groupBy.includes('group') && !groupBy.includes('host')) return alertWorkflowId(alert.device, alert.rule);
  const parts: string[] = [];
  for (const p of groupBy) {
    if (p === 'device') parts.push(sanitizeIdPart(alert.device));
    else if (p === 'host') parts.push(`@host.${sanitizeIdPart(alert.host ?? alert.device)}`);
    else parts.push(alert.group !== undefined ? `@${sanitizeIdPart(alert.group)}` : sanitizeIdPart(alert.rule));
  }
  return `alert-${parts.join('-')}`;
}

/** A rule firing or recovering inside an incident (the signal's payload). */
export interface RuleFiringInput {
  type: 'firing' | 'recovered';
  rule: string;
  severity: Severity;
  summary: string;
  /** Data time, ISO 8601. */
  at: string;
  values: Record<string, number>;
}

/**
 * Applies one firing/recovery to an incident's list (returns a new list).
 * `allRecovered`: no rule of the incident is still firing.
 */
export function applyRuleFiring(firings: readonly IncidentFiring[], f: RuleFiringInput): { firings: IncidentFiring[]; allRecovered: boolean } {
  const out = firings.map((x) => ({ ...x }));
  const i = out.findIndex((x) => x.rule === f.rule);
  if (f.type === 'firing') {
    if (i >= 0) {
      const x = out[i]!;
      if (!x.active) x.count++;
      x.active = true;
      x.lastAt = f.at;
      x.summary = f.summary;
      if (f.severity === 'critical') x.severity = 'critical';
    } else {
      if (out.length >= MAX_INCIDENT_FIRINGS) {
        const j = out.findIndex((x) => !x.active);
        out.splice(j >= 0 ? j : 0, 1);
      }
      out.push({ rule: f.rule, severity: f.severity, summary: f.summary, firstAt: f.at, lastAt: f.at, count: 1, active: true });
    }
  } else if (i >= 0) {
    out[i]!.active = false;
    out[i]!.lastAt = f.at;
  }
  return { firings: out, allRecovered: out.every((x) => !x.active) };
}

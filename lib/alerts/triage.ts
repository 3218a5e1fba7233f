/**
 * The triage card: evidence on every page. Built from the firing rule, the
 * deciding point's health verdict (driver signals, catalog, holds, baseline
 * and peer deviations, limits, the GPU's earlier unhealthy episodes —
 * lib/health/evidence.ts). Deterministic: the same inputs give the
 * same card, and every entry comes from the data (no free text is invented;
 * actions are the catalog's).
 */
import type { DecidedBy, HealthEvidence } from '../health/evidence.ts';
import type { TriageCard } from './types.ts';

export interface TriageInput {
  rule: { name: string; kind: string };
  health?: { class: string; reasons: string[]; decidedBy?: DecidedBy[]; evidence?: HealthEvidence };
}

export function buildTriage({ rule, health }: TriageInput): TriageCard {
  const ev = health?.evidence;
  const decidedBy = [`rule ${rule.name} (${rule.kind})`];
  if (health?.decidedBy) for (const d of health.decidedBy) decidedBy.push(`health: ${d}`);
  const catalog = (ev?.catalog ?? []).map((c) => ({
    kind: c.kind,
    code: c.code,
    name: c.name,
    severity: c.severity,
    recommended_action: c.recommended_action,
    source: c.source,
  }));
  const holds = (ev?.holds ?? []).map((h) => ({ cause: h.cause, class: h.class, since: h.since, action: h.action, clearsWhen: h.clearsWhen }));
  const actions = [
    ...holds.filter((h) => h.class === 'critical').map((h) => h.action),
    ...catalog.filter((c) => c.severity === 'critical').map((c) => c.recommended_action),
    ...holds.map((h) => h.action),
    ...catalog.map((c) => c.recommended_action),
  ];
  const card: TriageCard = {
    v: 1,
    decidedBy,
    driver: { ...(ev?.driver ?? {}) },
    catalog,
    holds,
    baseline: (ev?.baseline ?? []).map((b) => ({ ...b })),
    limits: { ...(ev?.limits ?? {}) },
    history: { previousIncidents: ev?.history?.previous ?? 0 },
  };
  if (actions.length > 0) card.recommendedAction = actions[0];
  if (ev?.peers) card.peers = { ...ev.peers };
  if (ev?.history?.lastAt !== undefined) card.history.lastIncidentAt = ev.history.lastAt;
  if (ev?.history?.mtbiHours !== undefined) card.history.mtbiHours = ev.history.mtbiHours;
  return card;
}

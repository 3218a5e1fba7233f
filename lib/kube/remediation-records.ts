/**
 * How an incident keeps its remediation records (pure, workflow-safe): one entry per request,
 * replaced when the same workflow reports again; a repeat that changed nothing (`already`) after
 * a done action of the same kind adds no entry (the timeline notes it); newest kept, bounded.
 */
import type { RemediationRecord } from './remediation-types.ts';

/** Records kept per incident. */
export const MAX_REMEDIATION_RECORDS = 10;
/**
 * Per record kept on the incident: its state rides in every page update's activity payload, so a
 * drain's 120 API lines stay in the remediation workflow's own result; the incident keeps the tail.
 * Worst case ≈ 10 × 5 KB, well under Temporal's 256 KB payload warning.
 */
export const INCIDENT_RECORD_LIMITS = { api: 10, evicted: 20, blocked: 10 } as const;

/** The record as an incident keeps it (lists cut, counts said in the detail's own words elsewhere). */
export function compactRecord(r: RemediationRecord): RemediationRecord {
  const out: RemediationRecord = { ...r, api: r.api.slice(-INCIDENT_RECORD_LIMITS.api) };
  if (r.evicted) out.evicted = r.evicted.slice(0, INCIDENT_RECORD_LIMITS.evicted);
  if (r.blocked) out.blocked = r.blocked.slice(0, INCIDENT_RECORD_LIMITS.blocked);
  return out;
}

/** Returns true when `r` entered the list (new or replacing its own earlier report). */
export function addRemediationRecord(list: RemediationRecord[], full: RemediationRecord, max = MAX_REMEDIATION_RECORDS): boolean {
  const r = compactRecord(full);
  const i = list.findIndex((x) => x.id === r.id && x.requestedAt === r.requestedAt);
  if (i >= 0) {
    list[i] = r;
    return true;
  }
  if (r.outcome === 'already' && list.some((x) => x.node === r.node && x.action === r.action && x.outcome === 'done')) return false;
  list.push(r);
  if (list.length > max) list.splice(0, list.length - max);
  return true;
}

/** Appends lines, keeping the newest `max`. */
export function appendBounded(lines: string[], more: string[], max: number): void {
  lines.push(...more);
  if (lines.length > max) lines.splice(0, lines.length - max);
}

/**
 * Where shadow-mode rule firings go (alert rules `mode: shadow`): they are
 * recorded — counted per rule and kept in a bounded in-process log, and
 * logged — and page nobody, so a new rule or model version can be compared
 * with the paging ones on live data before it is trusted.
 */
import { Counter } from 'prom-client';
import type { AlertInput } from '../../lib/alerts/types.ts';

export interface ShadowRecord {
  type: 'firing' | 'recovered';
  rule: string;
  device: string;
  severity: AlertInput['severity'];
  summary: string;
  at: string;
  health?: AlertInput['health'];
}

export interface ShadowRecorder {
  record(r: ShadowRecord): void;
  /** Newest last; at most `max` entries. */
  recent(): readonly ShadowRecord[];
}

/** Default bound of the in-process log. */
export const SHADOW_LOG_MAX = 1_000;

let counter: Counter<'rule' | 'type'> | undefined;
function shadowCounter(): Counter<'rule' | 'type'> {
  counter ??= new Counter({
    name: 'telemetry_alert_shadow_events_total',
    help: 'Shadow-mode rule transitions (recorded, not paged)',
    labelNames: ['rule', 'type'] as const,
  });
  return counter;
}

export function createShadowLog(opts: { max?: number; log?: (r: ShadowRecord) => void } = {}): ShadowRecorder {
  const max = opts.max ?? SHADOW_LOG_MAX;
  const entries: ShadowRecord[] = [];
  return {
    record(r) {
      shadowCounter().inc({ rule: r.rule, type: r.type });
      entries.push(r);
      if (entries.length > max) entries.splice(0, entries.length - max);
      opts.log?.(r);
    },
    recent: () => entries,
  };
}

export function shadowRecordOf(type: ShadowRecord['type'], alert: AlertInput, at: string): ShadowRecord {
  const r: ShadowRecord = { type, rule: alert.rule, device: alert.device, severity: alert.severity, summary: alert.summary, at };
  if (alert.health) r.health = alert.health;
  return r;
}

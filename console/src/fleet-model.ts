/**
 * Filter and sort of the fleet table, client-side over the bounded fleet
 * page (MAX_FLEET_ROWS in api/console/fleet-view.ts). Pure.
 */
import type { FleetRowView } from '../../api/console/wire.ts';
export type { FleetRowView };

export const SORT_KEYS = ['health', 'device', 'host', 'model', 'score', 'lastSeen', 'openIncidents'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** Worst first: what the on-call engineer looks for. */
const HEALTH_RANK: Record<FleetRowView['health'], number> = { critical: 0, degraded: 1, unknown: 2, healthy: 3 };

export interface FleetFilter {
  text: string;
  health: FleetRowView['health'] | 'all';
  onlyWithIncidents: boolean;
}

export function filterRows(rows: FleetRowView[], f: FleetFilter): FleetRowView[] {
  const needle = f.text.trim().toLowerCase();
  return rows.filter(
    (r) =>
      (f.health === 'all' || r.health === f.health) &&
      (!f.onlyWithIncidents || r.openIncidents > 0) &&
      (!needle || [r.device, r.host ?? '', r.model ?? '', ...r.reasons].some((s) => s.toLowerCase().includes(needle))),
  );
}

function compare(a: FleetRowView, b: FleetRowView, key: SortKey): number {
  switch (key) {
    case 'health':
      return HEALTH_RANK[a.health] - HEALTH_RANK[b.health] || (b.score ?? -1) - (a.score ?? -1);
    case 'score':
      return (a.score ?? -1) - (b.score ?? -1);
    case 'openIncidents':
      return a.openIncidents - b.openIncidents;
    case 'lastSeen':
      return Date.parse(a.lastSeen) - Date.parse(b.lastSeen);
    default:
      return String(a[key] ?? '').localeCompare(String(b[key] ?? ''));
  }
}

/** Stable sort; ties broken by device id so the order does not jump between polls. */
export function sortRows(rows: FleetRowView[], key: SortKey, dir: 'asc' | 'desc'): FleetRowView[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => sign * compare(a, b, key) || a.device.localeCompare(b.device));
}

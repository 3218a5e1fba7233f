/**
 * The console's fleet view, assembled from what the stores answer: one row
 * per device (identity, last health, open incidents) and the fleet KPIs.
 * Pure, so the bounds and the arithmetic are tested without servers.
 *
 * Invariant: the response is bounded by `limit` rows (the fleet can be tens
 * of thousands of GPUs); `total` and `truncated` say what was left out, and
 * the counts by health always cover the whole fleet.
 */
import type { AlertSummary } from '../services.ts';
import { HEALTH_CLASSES, type HealthClassOrUnknown } from './wire.ts';

/** Longest fleet page the console asks for (client-side filter and sort stay instant at this size). */
export const MAX_FLEET_ROWS = 5_000;
/**
 * A device whose newest point is older than this, on the data's own clock (the fleet's newest
 * point), counts as unavailable: replayed or backlogged data is not "down" (the pipeline
 * heartbeat pages about a stalled pipeline, as the dead-man rules do).
 */
export const STALE_AFTER_MS = 5 * 60_000;
/** Alerts looked at for MTBI / MTTR / time to acknowledge (newest first). */
export const KPI_ALERT_WINDOW = 200;

export { HEALTH_CLASSES, type HealthClassOrUnknown };

export interface DeviceInput {
  device: string;
  tags: Record<string, string>;
  lastSeen: string;
}
export interface HealthInput {
  class: string;
  score: number;
  reasons: string;
  time: string;
}
export interface FleetRow {
  device: string;
  model: string | null;
  host: string | null;
  health: HealthClassOrUnknown;
  score: number | null;
  reasons: string[];
  lastSeen: string;
  stale: boolean;
  openIncidents: number;
  utilGpuPct: number | null;
}
export interface FleetKpis {
  devices: number;
  /** Mean of the devices' latest `util_gpu_pct`, % (null: no device reports it). */
  utilisationPct: number | null;
  /** Share of devices seen within STALE_AFTER_MS of the fleet's newest point and not critical, %. */
  availabilityPct: number | null;
  /** Points written per second by the collectors since the previous poll (null on the first). */
  pointsPerSecond: number | null;
  /** Mean time between incidents (start to start), seconds. */
  mtbiS: number | null;
  /** Mean time to resolve (start to close) of closed incidents, seconds. */
  mttrS: number | null;
  /** Mean time from start to acknowledgement, seconds. */
  mttaS: number | null;
  openIncidents: number;
}
export interface FleetView {
  rows: FleetRow[];
  total: number;
  truncated: boolean;
  counts: Record<HealthClassOrUnknown, number>;
  kpis: FleetKpis;
  generatedAt: string;
}

const isHealth = (c: string): c is HealthClassOrUnknown => (HEALTH_CLASSES as readonly string[]).includes(c);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const round = (x: number | null, digits = 1) => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

/** An alert still needs someone: its workflow runs and it is not resolved. */
export function isOpen(a: AlertSummary): boolean {
  return a.workflowStatus === 'RUNNING' && a.status !== 'resolved';
}

/** MTBI, MTTR and MTTA from the newest KPI_ALERT_WINDOW alerts; `ackAt` maps alert id → acknowledgement time. */
export function incidentKpis(alerts: AlertSummary[], ackAt: Map<string, string>): Pick<FleetKpis, 'mtbiS' | 'mttrS' | 'mttaS'> {
  const window = alerts.filter((a) => a.startedAt).slice(0, KPI_ALERT_WINDOW);
  const starts = window.map((a) => Date.parse(a.startedAt!)).sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 1; i < starts.length; i++) gaps.push((starts[i]! - starts[i - 1]!) / 1_000);
  const repairs = window.filter((a) => a.closedAt).map((a) => (Date.parse(a.closedAt!) - Date.parse(a.startedAt!)) / 1_000);
  const acks = window.flatMap((a) => {
    const at = ackAt.get(a.id);
    return at ? [(Date.parse(at) - Date.parse(a.startedAt!)) / 1_000] : [];
  });
  return { mtbiS: round(mean(gaps)), mttrS: round(mean(repairs)), mttaS: round(mean(acks)) };
}

export interface AssembleFleetInput {
  devices: DeviceInput[];
  health: Map<string, HealthInput>;
  utilGpuPct: Map<string, number>;
  alerts: AlertSummary[];
  ackAt: Map<string, string>;
  pointsPerSecond: number | null;
  now: number;
  limit: number;
}

export function assembleFleet(input: AssembleFleetInput): FleetView {
  const openByDevice = new Map<string, number>();
  let open = 0;
  for (const a of input.alerts)
    if (isOpen(a)) {
      open++;
      if (a.device) openByDevice.set(a.device, (openByDevice.get(a.device) ?? 0) + 1);
    }
  const counts = Object.fromEntries(HEALTH_CLASSES.map((c) => [c, 0])) as Record<HealthClassOrUnknown, number>;
  const utils: number[] = [];
  let available = 0;
  const rows: FleetRow[] = [];
  let newest = Number.NEGATIVE_INFINITY;
  for (const d of input.devices) newest = Math.max(newest, Date.parse(d.lastSeen));
  for (const d of input.devices) {
    const h = input.health.get(d.device);
    const health: HealthClassOrUnknown = h && isHealth(h.class) ? h.class : 'unknown';
    counts[health]++;
    const stale = newest - Date.parse(d.lastSeen) > STALE_AFTER_MS;
    if (!stale && health !== 'critical') available++;
    const util = input.utilGpuPct.get(d.device);
    if (util !== undefined && Number.isFinite(util)) utils.push(util);
    if (rows.length < input.limit)
      rows.push({
        device: d.device,
        model: d.tags.model ?? null,
        host: d.tags.host ?? null,
        health,
        score: h && Number.isFinite(h.score) ? round(h.score, 3) : null,
        reasons: h?.reasons ? h.reasons.split(',').filter(Boolean) : [],
        lastSeen: d.lastSeen,
        stale,
        openIncidents: openByDevice.get(d.device) ?? 0,
        utilGpuPct: util ?? null,
      });
  }
  const n = input.devices.length;
  return {
    rows,
    total: n,
    truncated: n > rows.length,
    counts,
    kpis: {
      devices: n,
      utilisationPct: round(mean(utils)),
      availabilityPct: n ? round((available / n) * 100) : null,
      pointsPerSecond: input.pointsPerSecond === null ? null : round(input.pointsPerSecond),
      ...incidentKpis(input.alerts, input.ackAt),
      openIncidents: open,
    },
    generatedAt: new Date(input.now).toISOString(),
  };
}

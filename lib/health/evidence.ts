/**
 * The data behind a health verdict, as it travels from the health scorer
 * (activities/health) to the alert (lib/alerts triage card). JSON-safe; one
 * definition so the scorer's output and the card's input cannot drift.
 */

/** One sticky driver verdict (set by a driver signal, cleared only by the signal clearing). */
export interface DriverHold {
  /** Which signal: `recovery_action`, `remap_failure`, `remap_pending`, `retired_pending`, `ecc_dbe`, `xid_<code>`. */
  cause: string;
  class: 'degraded' | 'critical';
  /** ns timestamp of the point that set it. */
  since: string;
  /** Recommended action (catalog). */
  action: string;
  /** Catalog source reference. */
  source: string;
  /** What clears it. */
  clearsWhen: string;
}

/** A catalog entry shown on the page. */
export interface CatalogEvidence {
  kind: 'xid' | 'recovery_action';
  code: number;
  name: string;
  severity: string;
  recommended_action: string;
  resets_needed: boolean;
  source: string;
}

export interface BaselineDeviation {
  field: string;
  value: number;
  mean: number;
  sd: number;
  z: number;
}

export interface PeerDeviation {
  field: string;
  value: number;
  median: number;
  /** Peers in the group (same model, same host, same batch), this device included. */
  n: number;
  z: number;
}

export interface HealthEvidence {
  /** Driver fault signals present on the point. */
  driver: Record<string, number>;
  holds: DriverHold[];
  catalog: CatalogEvidence[];
  /** Deviation from the device's own learned range (once learned). */
  baseline?: BaselineDeviation[];
  /** Deviation from peers. */
  peers?: PeerDeviation;
  /** Device limits used: headroom, slowdown temperature, power limits. */
  limits: Record<string, number>;
  /** Earlier unhealthy episodes of this GPU known to the scorer's baseline (data time). */
  history?: EpisodeHistory;
}

export interface EpisodeHistory {
  /** Unhealthy episodes before the current one. */
  previous: number;
  /** Start of the previous episode, ISO 8601. */
  lastAt?: string;
  /** Mean time between episode starts, hours (≥ 2 episodes incl. the current). */
  mtbiHours?: number;
}

/** What decided a non-healthy class. */
export type DecidedBy = 'driver' | 'limits' | 'model' | 'envelope' | 'peers';

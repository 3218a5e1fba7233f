/**
 * What the API needs from the rest of the system, as interfaces. `server.ts`
 * builds the real ones (JetStream, InfluxDB, Temporal, chain); tests may build
 * them over their own real servers.
 */
import type { Point } from '../lib/point.ts';
import type { AckChannel } from '../lib/alerts/types.ts';
import type { OncallService } from './oncall-service.ts';

export interface TelemetryService {
  /** Throws StreamFullError (→ 429) or PublishError (→ 503). */
  publish(origin: string, points: Point[]): Promise<{ batches: number; duplicates: number }>;
}

export interface QueryService {
  devices(): Promise<{ device: string; tags: Record<string, string>; lastSeen: string }[]>;
  series(input: { device: string; field: string; from?: string; to?: string; limit?: number }): Promise<{ time: string; value: number }[]>;
  countPoints(input: { device?: string; from?: string; to?: string }): Promise<number>;
}

export interface AlertSummary {
  id: string;
  device?: string;
  rule?: string;
  severity?: string;
  status?: string;
  level?: number;
  startedAt?: string;
  closedAt?: string;
  workflowStatus: string;
}

export interface AlertsService {
  list(filter: { status?: string; device?: string; limit?: number }): Promise<AlertSummary[]>;
  /** The workflow's `state` query; undefined when no such alert. */
  get(id: string): Promise<unknown | undefined>;
  /** Acknowledge through the workflow Update and return the ledger receipt. */
  ack(id: string, by: string, via: AckChannel): Promise<unknown>;
  resolve(id: string, by: string, reason: string): Promise<void>;
  snooze(id: string, by: string, duration: string): Promise<void>;
  /** On-chain record with tx hash and block of each event. */
  audit(id: string): Promise<unknown | null>;
}

export interface LiveService {
  /**
   * Streams batches from JetStream starting after `afterSeq` (resume) or from
   * now. `seq` is the JetStream stream sequence, used as the SSE event id.
   */
  subscribe(afterSeq: number | undefined, onBatch: (seq: number, points: Point[]) => void): Promise<() => Promise<void>>;
}

export interface ReadinessService {
  check(): Promise<Record<string, boolean>>;
}

export interface ApiServices {
  /** On-call schedules and silences (absent: the /v1/oncall and /v1/silences routes are not served). */
  oncall?: OncallService;
  telemetry: TelemetryService;
  query: QueryService;
  alerts: AlertsService;
  live: LiveService;
  readiness: ReadinessService;
}

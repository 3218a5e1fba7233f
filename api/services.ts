/**
 * What the API needs from the rest of the system, as interfaces. `server.ts`
 * builds the real ones (JetStream, InfluxDB, Temporal, chain); tests may build
 * them over their own real servers.
 */
import type { Point } from '../lib/point.ts';
import type { HealthModel, HealthSample } from '../lib/influx/query.ts';
import type { AckChannel, ChainReceipt } from '../lib/alerts/types.ts';
import type { OncallService } from './oncall-service.ts';
import type { ConsoleService } from './console/console-service.ts';
import type { RemediationService } from './remediation-service.ts';

export interface TelemetryService {
  /** Throws StreamFullError (→ 429) or PublishError (→ 503). */
  publish(origin: string, points: Point[]): Promise<{ batches: number; duplicates: number }>;
}

export interface QueryService {
  devices(): Promise<{ device: string; tags: Record<string, string>; lastSeen: string }[]>;
  series(input: { device: string; field: string; from?: string; to?: string; limit?: number }): Promise<{ time: string; value: number }[]>;
  countPoints(input: { device?: string; from?: string; to?: string }): Promise<number>;
  /** Stored health verdicts of one device: the paging model's (`primary`) or the shadow model's. */
  health(input: { device: string; model: HealthModel; from?: string; to?: string; limit?: number }): Promise<HealthSample[]>;
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

/**
 * What an ack answers. `chain: 'pending'` = the workflow recorded the ack but the ledger
 * write has not finished within the answer bound (chain down or slow): it completes by
 * itself (the activity retries) and shows up as `state.ack.receipt` once mined.
 */
export interface AckAnswer {
  receipt: ChainReceipt | null;
  chain: 'recorded' | 'pending' | 'none';
  state?: unknown;
}

export interface AlertsService {
  list(filter: { status?: string; device?: string; limit?: number }): Promise<AlertSummary[]>;
  /** The workflow's `state` query; undefined when no such alert. */
  get(id: string): Promise<unknown | undefined>;
  /**
   * Acknowledge through the workflow Update; answers within a bound even when the chain is down.
   * Throws AlertNotFoundError, AlertClosedError, AlertRejectedError or AlertBusyError (api/alert-errors.ts).
   */
  ack(id: string, by: string, via: AckChannel): Promise<AckAnswer>;
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
  /** Sequence of the stream's newest message (bounds how far back a resume may reach); absent → no bound. */
  headSeq?(): Promise<number>;
}

export interface ReadinessService {
  check(): Promise<Record<string, boolean>>;
}

export interface ApiServices {
  /** On-call schedules and silences (absent: the /v1/oncall and /v1/silences routes are not served). */
  oncall?: OncallService;
  /** Reads behind the web console (absent: the /v1/console routes are not served; the static console still is). */
  console?: ConsoleService;
  /** Node quarantine/drain/release over Kubernetes (absent: /v1/nodes answers 503, Slack's node buttons are logged and ignored). */
  remediation?: RemediationService;
  telemetry: TelemetryService;
  query: QueryService;
  alerts: AlertsService;
  live: LiveService;
  readiness: ReadinessService;
}

/**
 * In-memory implementations of the API's OWN service interfaces
 * (api/services.ts), for `app.inject` tests of the HTTP layer. They record
 * every call so a test can assert what the handlers passed through, and can be
 * told to fail the way the real services do (StreamFullError, PublishError,
 * a workflow-rejected ack). Real-server behaviour is covered elsewhere
 * (test/integration).
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type ApiConfig } from '../../../api/app.ts';
import { AlertClosedError, AlertNotFoundError, AlertRejectedError } from '../../../api/alert-errors.ts';
import type {
  AckAnswer,
  AlertsService,
  AlertSummary,
  ApiServices,
  LiveService,
  QueryService,
  ReadinessService,
  TelemetryService,
} from '../../../api/services.ts';
import type { AckChannel } from '../../../lib/alerts/types.ts';
import type { Point } from '../../../lib/point.ts';

/** Keys used across the API tests; each at least 12 characters (parseApiKeys' minimum). */
export const KEYS = {
  admin: 'admin-key-0123456789',
  read: 'read-key-0123456789',
  ingest: 'ingest-key-0123456789',
  ack: 'ack-key-0123456789',
  readAck: 'read-ack-key-0123456789',
  actAs: 'act-as-key-0123456789',
} as const;

/** Named (`name=key:scopes`): an ack records `key:<name>`. The act-as key may also record a body `by`. */
export const API_KEYS_SPEC = [
  `admin=${KEYS.admin}:admin`,
  `reader=${KEYS.read}:read`,
  `ingester=${KEYS.ingest}:ingest`,
  `acker=${KEYS.ack}:ack`,
  `oncall-ui=${KEYS.readAck}:read+ack`,
  `pagerbot=${KEYS.actAs}:ack+act-as`,
].join(',');

export function testConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  return {
    NODE_ENV: 'test',
    API_KEYS: API_KEYS_SPEC,
    CORS_ORIGINS: 'http://localhost:3000,https://console.example.test',
    RATE_LIMIT_PER_MIN: 10_000,
    BODY_LIMIT_BYTES: 64 * 1024,
    SLACK_SIGNING_SECRET: undefined,
    // Uncached, so a test can flip a readiness check and see it at once (the cache has its own test).
    READY_CACHE_MS: 0,
    ...overrides,
  };
}

/** Records publishes; `failWith` makes the next publishes throw instead. */
export class RecordingTelemetry implements TelemetryService {
  readonly calls: { origin: string; points: Point[] }[] = [];
  /** Thrown by every publish while set (after recording nothing). */
  failWith: Error | undefined;
  private readonly seen = new Set<string>();

  async publish(origin: string, points: Point[]): Promise<{ batches: number; duplicates: number }> {
    if (this.failWith) throw this.failWith;
    this.calls.push({ origin, points: structuredClone(points) });
    // Like JetStream's Nats-Msg-Id dedup: a repeated origin is one duplicate batch.
    const dup = this.seen.has(origin);
    this.seen.add(origin);
    return { batches: 1, duplicates: dup ? 1 : 0 };
  }
}

export class MemoryQuery implements QueryService {
  readonly seriesCalls: Parameters<QueryService['series']>[0][] = [];
  /** Thrown by every method while set. */
  failWith: Error | undefined;

  async devices() {
    if (this.failWith) throw this.failWith;
    return [{ device: 'GPU-aaa', tags: { host: 'node-01' }, lastSeen: '2025-03-01T12:00:00.000Z' }];
  }
  async series(input: Parameters<QueryService['series']>[0]) {
    if (this.failWith) throw this.failWith;
    this.seriesCalls.push(input);
    return [{ time: '2025-03-01T12:00:00.000Z', value: 41.5 }];
  }
  async countPoints() {
    if (this.failWith) throw this.failWith;
    return 7;
  }
  readonly healthCalls: Parameters<QueryService['health']>[0][] = [];
  async health(input: Parameters<QueryService['health']>[0]) {
    if (this.failWith) throw this.failWith;
    this.healthCalls.push(input);
    return input.model === 'shadow'
      ? [{ time: '2025-03-01T12:00:00.000Z', class: 'degraded', score: 0.7, reasons: ['temp_c=80'], primary: 'healthy', shadowModel: 'abc123def456' }]
      : [{ time: '2025-03-01T12:00:00.000Z', class: 'healthy', score: 0.5, reasons: [] }];
  }
}

export interface StoredAlert {
  summary: AlertSummary;
  state: Record<string, unknown>;
  audit: unknown | null;
}

export class MemoryAlerts implements AlertsService {
  readonly alerts = new Map<string, StoredAlert>();
  readonly listCalls: Parameters<AlertsService['list']>[0][] = [];
  readonly ackCalls: { id: string; by: string; via: AckChannel }[] = [];
  readonly resolveCalls: { id: string; by: string; reason: string }[] = [];
  readonly snoozeCalls: { id: string; by: string; duration: string }[] = [];
  private receipts = 0;

  add(id: string, status: string, audit: unknown | null = null): void {
    this.alerts.set(id, {
      summary: { id, device: 'GPU-aaa', rule: 'temp-high', status, workflowStatus: 'RUNNING' },
      state: { alert: { alertId: id }, status, level: 0, repeats: 0, history: [] },
      audit,
    });
  }

  async list(filter: Parameters<AlertsService['list']>[0]) {
    this.listCalls.push(filter);
    return [...this.alerts.values()].map((a) => a.summary).filter((s) => !filter.status || s.status === filter.status);
  }
  async get(id: string) {
    return this.alerts.get(id)?.state;
  }
  /** While set, acks answer as the real service does when the chain is down: recorded, chain write pending. */
  chainDown = false;
  async ack(id: string, by: string, via: AckChannel): Promise<AckAnswer> {
    this.ackCalls.push({ id, by, via });
    const a = this.alerts.get(id);
    if (!a) throw new AlertNotFoundError(id);
    // Mirrors the real service's mapping of the workflow's update validator rejection.
    if (a.state.status === 'resolved') throw new AlertRejectedError(id, 'already resolved');
    a.state.status = 'acknowledged';
    if (this.chainDown) return { receipt: null, chain: 'pending', state: a.state };
    this.receipts++;
    const receipt = { txHash: `0x${this.receipts.toString(16).padStart(64, '0')}`, blockNumber: 100 + this.receipts, alreadyRecorded: false };
    return { receipt, chain: 'recorded', state: a.state };
  }
  async resolve(id: string, by: string, reason: string) {
    this.resolveCalls.push({ id, by, reason });
  }
  async snooze(id: string, by: string, duration: string) {
    // Mirrors the real service: a signal to a completed workflow is AlertClosedError.
    if (this.alerts.get(id)?.state.status === 'resolved') throw new AlertClosedError(id);
    this.snoozeCalls.push({ id, by, duration });
  }
  async audit(id: string) {
    return this.alerts.get(id)?.audit ?? null;
  }
}

/**
 * A live feed: `push(points)` assigns the next sequence and delivers it to
 * every subscriber; a subscriber with `afterSeq` first gets the retained
 * batches after it (like a JetStream consumer with opt_start_seq).
 */
export class MemoryLive implements LiveService {
  readonly subscribeCalls: (number | undefined)[] = [];
  unsubscribed = 0;
  private seq = 0;
  private readonly retained: { seq: number; points: Point[] }[] = [];
  private readonly subscribers = new Set<(seq: number, points: Point[]) => void>();
  private waiters: (() => void)[] = [];

  get active(): number {
    return this.subscribers.size;
  }

  push(points: Point[]): number {
    const seq = ++this.seq;
    this.retained.push({ seq, points });
    for (const s of this.subscribers) s(seq, points);
    return seq;
  }

  async headSeq(): Promise<number> {
    return this.seq;
  }

  async subscribe(afterSeq: number | undefined, onBatch: (seq: number, points: Point[]) => void) {
    this.subscribeCalls.push(afterSeq);
    if (afterSeq !== undefined) for (const b of this.retained) if (b.seq > afterSeq) onBatch(b.seq, b.points);
    this.subscribers.add(onBatch);
    for (const w of this.waiters.splice(0)) w();
    return async () => {
      if (this.subscribers.delete(onBatch)) this.unsubscribed++;
      for (const w of this.waiters.splice(0)) w();
    };
  }

  /** Resolves once `pred` holds, re-checked on every (un)subscribe; rejects after `ms`. */
  async until(pred: () => boolean, ms = 2_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error('MemoryLive.until: timed out');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }
}

export class StaticReadiness implements ReadinessService {
  constructor(public checks: Record<string, boolean> = { nats: true, influx: true, temporal: true }) {}
  async check() {
    return { ...this.checks };
  }
}

export interface Harness {
  app: FastifyInstance;
  services: {
    telemetry: RecordingTelemetry;
    query: MemoryQuery;
    alerts: MemoryAlerts;
    live: MemoryLive;
    readiness: StaticReadiness;
  };
}

export function makeServices(): Harness['services'] {
  return {
    telemetry: new RecordingTelemetry(),
    query: new MemoryQuery(),
    alerts: new MemoryAlerts(),
    live: new MemoryLive(),
    readiness: new StaticReadiness(),
  } satisfies ApiServices;
}

export async function harness(cfg: Partial<ApiConfig> = {}, opts: { heartbeatMs?: number } = {}): Promise<Harness> {
  const services = makeServices();
  const app = await buildApp({ cfg: testConfig(cfg), services, logger: false, heartbeatMs: opts.heartbeatMs });
  await app.ready();
  return { app, services };
}

export const auth = (key: string) => ({ 'x-api-key': key });

export function point(device: string, ts: string, fields: Record<string, number>, tags: Record<string, string> = {}): Point {
  return { device, ts, tags, fields };
}

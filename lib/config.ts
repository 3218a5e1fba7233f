/**
 * The one place that reads process.env. Every setting is parsed once, at
 * start-up, by a single zod schema; a bad value stops the program with a
 * message naming the variable and what was expected.
 */
import { parseGroupBy } from './alerts/incident.ts';
import { z } from 'zod';

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);
const num = (def: number, min = 0) => z.coerce.number().min(min).default(def);
const port = (def: number) => int(def, 1, 65_535);
const url = (def?: string) => (def === undefined ? z.string().url().optional() : z.string().url().default(def));

/** Known development-only secrets: refused when NODE_ENV=production. */
export const DEV_SECRETS = ['dev-admin-key', 'dev-signing-secret', 'dev-notify-ack-secret'] as const;

export const envSchema = z.object({
  /** development | test | production. Production refuses default secrets. */
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Folder for local server data (git-ignored). */
  DATA_DIR: z.string().min(1).default('.data'),
  /** Cache for server binaries, outside the repo. */
  TELEMETRY_CACHE_DIR: z.string().optional(),

  // ---- Temporal
  /** host:port of the Temporal frontend. Unset → the stack starts a dev server. */
  TEMPORAL_ADDRESS: z.string().regex(/^[^:]+:\d+$/, 'expected host:port').optional(),
  /** Temporal namespace used by workers, CLI and API. */
  TEMPORAL_NAMESPACE: z.string().min(1).default('telemetry'),
  /** Port of the local dev server (when started by the stack). */
  TEMPORAL_PORT: port(7233),
  /** Port of the local Temporal Web UI. */
  TEMPORAL_UI_PORT: port(8233),
  /** Path to the `temporal` CLI binary (optional; else PATH, cache, pip). */
  TEMPORAL_BIN: z.string().optional(),

  // ---- NATS JetStream
  /** NATS server URL. Unset → the stack starts nats-server -js. */
  NATS_URL: z.string().regex(/^nats:\/\/[^\s]+$/, 'expected nats://host:port').optional(),
  NATS_PORT: port(4222),
  NATS_MONITOR_PORT: port(8222),
  NATS_BIN: z.string().optional(),
  /** JetStream stream name for telemetry batches. */
  STREAM_NAME: z.string().regex(/^[A-Za-z0-9_-]+$/).default('TELEMETRY'),
  /** Subject prefix; partition N publishes on `<prefix>.N`. */
  SUBJECT_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('telemetry.p'),
  /** Stream capacity in messages (batches); full → HTTP 429 / file ingestion waits. */
  QUEUE_SIZE: int(100_000, 1),
  /** Stream capacity in bytes. */
  QUEUE_MAX_BYTES: int(1024 * 1024 * 1024, 1024),
  /** Consumer ack_wait in seconds: an unacked batch is redelivered after this. */
  VISIBILITY_TIMEOUT: int(30, 1, 3600),
  /** Number of partitions (subjects / consumers / collector workflows). */
  PARTITIONS_PER_TOPIC: int(4, 1, 1024),
  /** JetStream replicas for the streams and the state bucket (3 on a NATS cluster). */
  STREAM_REPLICAS: int(1, 1, 5),
  /** Points per JetStream message (batch). */
  BATCH_POINTS: int(2_000, 1, 50_000),
  /** Publish attempts for file ingestion. */
  PUBLISH_ATTEMPTS_FILE: int(3, 1, 20),
  /** Publish attempts for HTTP ingestion (clients retry on 503). */
  PUBLISH_ATTEMPTS_HTTP: int(2, 1, 20),

  // ---- InfluxDB 2
  /** InfluxDB URL. Unset → the stack starts influxd. */
  INFLUXDB_URL: url(),
  /** Operator/all-access token. Unset with a local stack → read from DATA_DIR/influx-token. */
  INFLUXDB_TOKEN: z.string().min(8).optional(),
  INFLUXDB_TOKEN_FILE: z.string().optional(),
  INFLUXDB_ORG: z.string().min(1).default('telemetryorg'),
  INFLUXDB_BUCKET: z.string().min(1).default('telem_bucket'),
  INFLUXDB_PORT: port(8086),
  INFLUXD_BIN: z.string().optional(),
  /** Lines per InfluxDB write request (gzip on). */
  INFLUX_WRITE_BATCH: int(5_000, 1, 100_000),
  /** Compress InfluxDB writes: `auto` = on unless InfluxDB is on loopback (where it only costs CPU). */
  INFLUX_GZIP: z.enum(['auto', 'on', 'off']).default('auto'),
  /** Timeout of one InfluxDB write request, ms (a timeout is transient: retried, never dead-lettered). */
  INFLUX_WRITE_TIMEOUT_MS: int(30_000, 100),

  // ---- Retry policy (activities, publishes)
  RETRY_ATTEMPTS: int(10, 1, 1000),
  BACKOFF_FACTOR: num(2, 1),
  RETRY_INITIAL_MS: int(500, 1),
  RETRY_MAX_MS: int(30_000, 1),
  // ---- Collector state (JetStream KV, one record per device)
  /** Delete a device's rule/baseline state after this long without data, seconds (default 7 days). */
  STATE_PRUNE_AFTER_S: int(7 * 86_400, 60),
  /** Device records kept per partition; beyond it the longest-silent devices are evicted (and their alerts recover). */
  STATE_MAX_DEVICES: int(200_000, 1),
  /** Acks wait for the next state flush at most this long, ms (one KV write per changed device per flush). 0 = flush every fetched group. */
  STATE_FLUSH_MS: int(1_000, 0, 20_000),
  /** Backlog older than this while the collector cannot write raises the `collect-stalled` operational alert, seconds. */
  COLLECT_STALL_ALERT_S: int(120, 1),

  /** Outbound HTTP timeout, ms. */
  HTTP_TIMEOUT: int(10_000, 100),

  // ---- Chain
  /** JSON-RPC URL of the ledger chain. Unset → the stack starts anvil. */
  CHAIN_RPC_URL: url(),
  CHAIN_PORT: port(8545),
  ANVIL_BIN: z.string().optional(),
  /** Private key of the recorder account (hex). Unset in dev → anvil's first dev account. */
  CHAIN_PRIVATE_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected 0x + 64 hex chars').optional(),
  CHAIN_PRIVATE_KEY_FILE: z.string().optional(),
  /** Deployed AlertLedger address. Unset → read from DATA_DIR/ledger.json or deployed. */
  LEDGER_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected 0x + 40 hex chars').optional(),
  /** Older AlertLedger versions the audit still reads (comma list of addresses), besides the registry's. */
  LEDGER_PREVIOUS_ADDRESSES: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}(,0x[0-9a-fA-F]{40})*$/, 'expected a comma list of 0x + 40 hex addresses')
    .optional(),
  /**
   * C2SP signed-note signer key of the ledger checkpoints (`PRIVATE+KEY+<name>+<hash>+<base64>`,
   * `telemetry-stack verify keygen`). Unset in development → generated in DATA_DIR/ledger-checkpoint.key.
   */
  LEDGER_CHECKPOINT_KEY: z.string().startsWith('PRIVATE+KEY+', 'expected a note signer key (PRIVATE+KEY+…)').optional(),
  LEDGER_CHECKPOINT_KEY_FILE: z.string().optional(),
  /** Witness endpoints that must co-sign each checkpoint (comma list of http(s) URLs). Unset → checkpoints are not anchored. */
  LEDGER_WITNESS_URLS: z.string().regex(/^https?:\/\/[^,\s]+(,https?:\/\/[^,\s]+)*$/, 'expected a comma list of http(s) URLs').optional(),
  /** Anchor a checkpoint after this many ledger writes (acks and resolves)… */
  LEDGER_ANCHOR_EVERY_WRITES: int(10, 1, 10_000),
  /** …and at least every this many seconds while there are unanchored writes. */
  LEDGER_ANCHOR_INTERVAL_S: int(300, 1, 86_400),

  // ---- Ledger witness (workers/ledger-witness.ts, its own process and key)
  /** The witness's note signer key (PRIVATE+KEY+…). Unset in development → generated in WITNESS_DATA_DIR. */
  WITNESS_KEY: z.string().startsWith('PRIVATE+KEY+', 'expected a note signer key (PRIVATE+KEY+…)').optional(),
  WITNESS_KEY_FILE: z.string().optional(),
  /** Where the witness keeps the last checkpoint it co-signed per log (its only state). */
  WITNESS_DATA_DIR: z.string().min(1).default('.data/witness'),
  /** Log verifier keys (`<name>+<id>+<base64>`, comma list) whose checkpoints the witness co-signs. */
  WITNESS_LOG_KEYS: z.string().optional(),
  /** Name of the witness key when one is generated in development. */
  WITNESS_NAME: z.string().regex(/^[^\s+]+$/, 'no spaces or +').default('witness.telemetry-stack.local'),
  WITNESS_HOST: z.string().default('127.0.0.1'),
  WITNESS_PORT: port(8590),

  // ---- Slack
  SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', 'expected a bot token (xoxb-…)').optional(),
  SLACK_SIGNING_SECRET: z.string().min(8).optional(),
  /** Override of Slack's API base (tests point it at a local wire-compatible server). */
  SLACK_API_URL: url(),
  /** Default channel for alerts. */
  SLACK_CHANNEL: z.string().default('#gpu-alerts'),

  // ---- Notification channels (lib/notify, activities/notify)
  /** Channels file (JSON, see infra/config/notify-channels.example.json): webhook/PagerDuty/Opsgenie/Teams/Chat, email, ntfy, limits. Unset → Slack only. */
  NOTIFY_CHANNELS_FILE: z.string().optional(),
  /** HMAC key of the signed acknowledge links in emails and ntfy buttons (≥ 32 chars). Unset outside production → a development key. */
  NOTIFY_ACK_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  NOTIFY_ACK_SECRET_FILE: z.string().optional(),
  /** How long an acknowledge link stays valid, seconds. */
  NOTIFY_ACK_TTL_S: int(86_400, 60, 30 * 86_400),
  /** Public base URL of this API, used in acknowledge links (what a phone or mail client can reach). */
  PUBLIC_API_URL: z.string().url().default('http://127.0.0.1:8080'),

  // ---- API
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port(8080),
  /** Comma list of key:scope[+scope] (scopes: read, ingest, ack, admin). */
  API_KEYS: z.string().optional(),
  CORS_ORIGINS: z.string().default('http://localhost:3000'),
  RATE_LIMIT_PER_MIN: int(600, 1),
  BODY_LIMIT_BYTES: int(5 * 1024 * 1024, 1024),
  /** Worker /metrics port (0 = off). The alerts worker uses this + 1. */
  WORKER_METRICS_PORT: int(9464, 0, 65_535),
  /** Interface the workers' /metrics binds to (0.0.0.0 in a pod so Prometheus can scrape it). */
  METRICS_HOST: z.string().default('127.0.0.1'),

  // ---- Health / alerting
  HEALTH_BACKEND: z.enum(['onnx', 'http', 'off']).default('onnx'),
  /** A healthy device's gpu_health line is written at least every this many seconds of data time (and on every change, and while not healthy); 0 = every point. */
  HEALTH_WRITE_EVERY_S: int(60, 0),
  HEALTH_MODEL_PATH: z.string().optional(),
  /** A second ONNX model (with its meta.json beside it) run in shadow mode: scored and counted (telemetry_health_shadow_points_total), never paged. Unset = none. */
  HEALTH_SHADOW_MODEL_PATH: z.string().min(1).optional(),
  HEALTH_HTTP_URL: url(),
  ALERT_RULES_FILE: z.string().optional(),
  /** Incident grouping key: comma list of `device`, `host`, `group` (rule group, else the rule). A device's firings with one key share one incident (workflow, thread, ack). */
  ALERT_GROUP_BY: z
    .string()
    .default('device,group')
    .refine((v) => {
      try {
        parseGroupBy(v);
        return true;
      } catch {
        return false;
      }
    }, 'comma list of device, host, group (each once)'),
  ESCALATION_POLICY_FILE: z.string().optional(),
  /** On-call schedules (JSON, see infra/config/oncall-schedules.example.json); re-read when it changes. Unset → `{ schedule }` targets page nobody (logged). */
  ONCALL_SCHEDULES_FILE: z.string().optional(),
  /** Pipeline heartbeat (run by the alerts worker): check every this many seconds; 0 = off. */
  HEARTBEAT_INTERVAL_S: int(15, 0, 3_600),
  /** No worker polling the collect task queue for this long raises `pipeline/heartbeat-collector-stopped`, seconds (above the ~60 s long poll of an idle worker). */
  HEARTBEAT_STALL_S: int(90, 5, 86_400),
  /** A partition whose backlog grows while nothing is consumed for this long raises `pipeline/heartbeat-collector-lag`, seconds. */
  HEARTBEAT_LAG_S: int(120, 5, 86_400),
  /** No telemetry batch at all reaching JetStream for this long raises `pipeline/heartbeat-no-data`, seconds; 0 = off (a quiet fleet is not an outage). */
  HEARTBEAT_NO_DATA_S: int(0, 0, 7 * 86_400),
  /** Ingestion time zone for timestamps that carry none (IANA name). */
  INGEST_TIMEZONE: z.string().default('UTC'),
  /** Earliest point timestamp accepted at the edge (files, HTTP), ISO 8601 with offset; not before 1970. */
  INGEST_MIN_TIME: z.iso
    .datetime({ offset: true, message: 'expected an ISO 8601 time with offset, e.g. 1970-01-01T00:00:00Z' })
    .refine((s) => !(Date.parse(s) < 0), 'must not be before 1970-01-01T00:00:00Z (timestamps are unsigned ns)')
    .default('1970-01-01T00:00:00Z'),
  /** Latest point timestamp accepted at the edge, in seconds after now (clamped to InfluxDB's 2262 limit). */
  INGEST_MAX_FUTURE_S: int(86_400, 0, 3_153_600_000),
});

export type Config = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: { variable: string; problem: string }[],
  ) {
    super(message);
  }
}

/** Parse an environment. Throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset" (common in .env files and k8s manifests).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), problem: i.message }));
    throw new ConfigError(
      `Invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.problem}`).join('\n')}`,
      issues,
    );
  }
  const cfg = parsed.data;
  if (cfg.NODE_ENV === 'production') {
    const problems: { variable: string; problem: string }[] = [];
    for (const key of ['API_KEYS', 'SLACK_SIGNING_SECRET', 'NOTIFY_ACK_SECRET'] as const) {
      const v = cfg[key];
      if (v && DEV_SECRETS.some((s) => v.includes(s)))
        problems.push({ variable: key, problem: 'a development default secret is not accepted in production' });
    }
    if (!cfg.API_KEYS) problems.push({ variable: 'API_KEYS', problem: 'required in production' });
    if (cfg.WITNESS_LOG_KEYS && !cfg.WITNESS_KEY && !cfg.WITNESS_KEY_FILE)
      problems.push({ variable: 'WITNESS_KEY', problem: 'required in production for the witness (no generated key)' });
    if (cfg.LEDGER_WITNESS_URLS && !cfg.LEDGER_CHECKPOINT_KEY && !cfg.LEDGER_CHECKPOINT_KEY_FILE)
      problems.push({ variable: 'LEDGER_CHECKPOINT_KEY', problem: 'required in production when LEDGER_WITNESS_URLS is set (no generated key)' });
    if (problems.length)
      throw new ConfigError(
        `Invalid configuration:\n${problems.map((i) => `  ${i.variable}: ${i.problem}`).join('\n')}`,
        problems,
      );
  }
  return cfg;
}

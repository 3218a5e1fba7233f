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
  /** Dead-letter stream capacity in messages. Full → the collector holds the poison batch and retries (discard `new`: a dead letter is never dropped to make room). */
  DLQ_MAX_MSGS: int(1_000_000, 1),
  /** Dead-letter stream capacity in bytes (the disk the DLQ may use). */
  DLQ_MAX_BYTES: int(1024 * 1024 * 1024, 1024),
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
  /**
   * Under a backlog, acks wait for the next state flush at most this long, ms (one KV write per
   * changed device per flush; a caught-up collector flushes at once). 0 = flush every fetched group.
   */
  STATE_FLUSH_MS: int(5_000, 0, 20_000),
  /** Backlog older than this while the collector cannot write raises the `collect-stalled` operational alert, seconds. */
  COLLECT_STALL_ALERT_S: int(120, 1),

  /** Outbound HTTP timeout, ms. */
  HTTP_TIMEOUT: int(10_000, 100),

  // ---- Chain
  /** JSON-RPC URL of the ledger chain. Unset → the stack starts anvil. */
  CHAIN_RPC_URL: url(),
  CHAIN_PORT: port(8545),
  ANVIL_BIN: z.string().optional(),
  // ---- Test Kubernetes API server (infra/stack/kube.ts; tests and local trials only, never a cluster of yours)
  /** Path to kube-apiserver 1.34 (optional; else the cache, built by infra/scripts/build-kube.sh). */
  KUBE_APISERVER_BIN: z.string().optional(),
  /** Path to etcd 3.6 for the test API server (optional; else the cache, built by infra/scripts/build-kube.sh). */
  ETCD_BIN: z.string().optional(),
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

  // ---- Kubernetes remediation (lib/kube, activities/remediation; README "Remediation")
  /** kubeconfig of the cluster whose nodes are quarantined/drained (bearer-token users only). Unset → in-cluster service account when mounted. */
  KUBECONFIG: z.string().min(1).optional(),
  /** kubeconfig context to use instead of its current-context. */
  KUBE_CONTEXT: z.string().min(1).optional(),
  /** auto: in-cluster service account when KUBECONFIG is unset and one is mounted; on: only in-cluster; off: only KUBECONFIG. */
  KUBE_IN_CLUSTER: z.enum(['auto', 'on', 'off']).default('auto'),
  /** Set by the kubelet in every pod: the API server's service address (in-cluster mode). */
  KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
  KUBERNETES_SERVICE_PORT: port(443),
  /** Timeout of one Kubernetes API request, ms. */
  KUBE_REQUEST_TIMEOUT_MS: int(10_000, 100, 120_000),
  /** Device → node map, comma list `device-or-host=node` (GPU UUID or host tag on the left); wins over the host tag. */
  KUBE_NODE_MAP: z
    .string()
    .regex(/^[^=,\s]+=[a-z0-9]([-a-z0-9.]*[a-z0-9])?(,[^=,\s]+=[a-z0-9]([-a-z0-9.]*[a-z0-9])?)*$/, 'expected a comma list of device-or-host=node (node: a DNS-1123 name)')
    .optional(),
  /** The same map as a JSON object file `{ "GPU-…": "node-a", "host-1": "node-b" }` (merged; KUBE_NODE_MAP wins). */
  KUBE_NODE_MAP_FILE: z.string().min(1).optional(),
  /** Automatic quarantine on a critical incident whose recommended action is listed: off | shadow (record what it would do) | on. */
  REMEDIATION_AUTO: z.enum(['off', 'shadow', 'on']).default('off'),
  /** Recommended-action kinds (lib/kube/recommend.ts: reset, reboot, drain) that auto-quarantine. */
  REMEDIATION_AUTO_ACTIONS: z
    .string()
    .regex(/^(reset|reboot|drain)(,(reset|reboot|drain))*$/, 'expected a comma list of reset, reboot, drain')
    .default('reset,reboot'),
  /** Circuit breaker: never more than this many nodes quarantined at once by policy (beyond it, page instead). */
  REMEDIATION_MAX_NODES: int(2, 0, 10_000),
  /** Circuit breaker: never more than this percentage of the fleet's nodes quarantined at once. */
  REMEDIATION_MAX_PERCENT: num(10, 0).refine((v) => v <= 100, 'at most 100'),
  /** How long a drain keeps retrying evictions that PodDisruptionBudgets block, seconds (then reported, never forced unless asked). */
  REMEDIATION_DRAIN_TIMEOUT_S: int(600, 5, 86_400),
  /** Grace period given to evicted pods, seconds; unset → each pod's own terminationGracePeriodSeconds. */
  REMEDIATION_DRAIN_GRACE_S: z.coerce.number().int().min(0).max(86_400).optional(),
  /** Release a node quarantined for an incident when that incident auto-resolves (recovered and quiet): true | false (manual release only). */
  REMEDIATION_RELEASE_ON_RECOVERY: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),

  // ---- Web console (console/, served by the API at /)
  /** Serve the on-call console at `/` (built into CONSOLE_DIR by scripts/ensure-deps.mjs). */
  CONSOLE_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Folder of the built console (index.html + assets); relative to the repository root. */
  CONSOLE_DIR: z.string().min(1).default('dist/console'),
  /** Temporal Web UI base URL the console links workflows to. Unset → http://localhost:<TEMPORAL_UI_PORT> outside production, no links in production. */
  TEMPORAL_UI_URL: url(),

  // ---- API
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port(8080),
  /**
   * Comma list of `name=key:scope[+scope]` (scopes: read, ingest, ack, act-as, remediate, admin; see api/auth.ts).
   * The name is the caller's identity (acks record `key:<name>`); the older `key:scope` form is named `key<N>`.
   */
  API_KEYS: z.string().optional(),
  /** Comma list of origins allowed cross-origin. Set but empty → none; unset → http://localhost:3000 in development only. */
  CORS_ORIGINS: z.string().optional(),
  /** Requests per minute per API key (each key its own bucket). */
  RATE_LIMIT_PER_MIN: int(600, 1),
  /** Requests per minute per client IP without a valid key (anonymous or bad key): cannot use up a key's or Slack's budget. */
  RATE_LIMIT_ANON_PER_MIN: int(120, 1),
  /** Signed Slack callbacks per minute (counted only once the signature verified; one bucket per Slack team). */
  RATE_LIMIT_SLACK_PER_MIN: int(600, 1),
  /**
   * Proxies whose X-Forwarded-For is believed (Fastify trustProxy): `false` (default: the socket peer is the client),
   * `true` (any), a hop count, or a comma list of IPs/CIDRs (e.g. the ingress' pod CIDR).
   */
  TRUST_PROXY: z
    .string()
    .default('false')
    .refine((v) => /^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*)$/.test(v.trim()), 'expected true, false, a hop count or a comma list of IPs/CIDRs'),
  /** /ready answers from a result this fresh, ms (so it cannot be used to hammer InfluxDB and Temporal). */
  READY_CACHE_MS: int(2_000, 0, 60_000),
  /** Open /v1/stream connections, all keys together (beyond → 429). */
  SSE_MAX_CONNECTIONS: int(200, 1, 100_000),
  /** Open /v1/stream connections per API key (beyond → 429). */
  SSE_MAX_PER_KEY: int(10, 1, 10_000),
  /** How far back a resume (Last-Event-ID) may reach, in stream messages; older → resumes at the window's start with a `gap` event. */
  SSE_RESUME_WINDOW: int(10_000, 1),
  /** Bytes queued for one SSE client beyond which it is dropped (it reconnects with Last-Event-ID; nothing lost). */
  SSE_MAX_BUFFER_BYTES: int(1024 * 1024, 16 * 1024),
  /** A client that has not drained its socket for this long is dropped, ms. */
  SSE_STALL_MS: int(30_000, 1_000),
  /** An ack answers within this, ms: with the receipt, or `chain: pending` while the ledger write retries (chain down). */
  ACK_ANSWER_TIMEOUT_MS: int(4_000, 500, 4_500),
  BODY_LIMIT_BYTES: int(5 * 1024 * 1024, 1024),
  /**
   * Seconds added to the wall clock where the API judges a time window (the ±5 min freshness of Slack's
   * signed requests). Only for rehearsing a skewed host clock (`telemetry-stack chaos --scenario clock-skew`);
   * must be 0 in production, where the host clock is kept by NTP.
   */
  API_CLOCK_OFFSET_S: z.coerce.number().int().min(-86_400).max(86_400).default(0),
  // ---- CLI → API (cli/api-client.ts: `alerts ack|resolve|snooze` act as the key they present)
  /** Base URL of the API the CLI's alert commands call. Unset → http://127.0.0.1:<API_PORT> (the local API). */
  TELEMETRY_API_URL: url(),
  /** API key the CLI presents (its name is the identity recorded, on chain too). Prefer TELEMETRY_API_KEY_FILE: env is visible to the user's other processes. */
  TELEMETRY_API_KEY: z.string().min(12, 'an API key is at least 12 characters').optional(),
  /** File holding the CLI's API key (first line); read only by the CLI. */
  TELEMETRY_API_KEY_FILE: z.string().min(1).optional(),
  /** How long the CLI waits for one API answer, ms (above ACK_ANSWER_TIMEOUT_MS: an ack answers within that). */
  TELEMETRY_API_TIMEOUT_MS: int(15_000, 1_000, 120_000),
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
  /** Which shadow verdicts go to InfluxDB (measurement health_shadow): off | disagree (only points whose class differs from the paging model's) | all. */
  HEALTH_SHADOW_WRITE: z.enum(['off', 'disagree', 'all']).default('disagree'),
  /** Bound of health_shadow lines per collected batch; the rest are counted (telemetry_health_shadow_lines_dropped_total). */
  HEALTH_SHADOW_MAX_LINES: int(2_000, 1, 1_000_000),
  /** `shadow_model` tag of the health_shadow lines. Unset = the first 12 hex digits of the shadow model file's sha256. */
  HEALTH_SHADOW_MODEL_VERSION: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 . _ -').optional(),
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

export type Config = Omit<z.infer<typeof envSchema>, 'CORS_ORIGINS'> & {
  /** Resolved by loadConfig: '' = no cross-origin access. */
  CORS_ORIGINS: string;
};

/** The CORS default, in development only. */
export const DEV_CORS_ORIGINS = 'http://localhost:3000';

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
  // Set-but-empty is a decision (no cross-origin access), not "unset" → the development default.
  const corsOrigins = env.CORS_ORIGINS !== undefined ? env.CORS_ORIGINS.trim() : parsed.data.NODE_ENV === 'development' ? DEV_CORS_ORIGINS : '';
  const cfg: Config = { ...parsed.data, CORS_ORIGINS: corsOrigins };
  if (cfg.NODE_ENV === 'production') {
    const problems: { variable: string; problem: string }[] = [];
    for (const key of ['API_KEYS', 'SLACK_SIGNING_SECRET', 'NOTIFY_ACK_SECRET', 'TELEMETRY_API_KEY'] as const) {
      const v = cfg[key];
      if (v && DEV_SECRETS.some((s) => v.includes(s)))
        problems.push({ variable: key, problem: 'a development default secret is not accepted in production' });
    }
    if (!cfg.API_KEYS) problems.push({ variable: 'API_KEYS', problem: 'required in production' });
    if (cfg.API_CLOCK_OFFSET_S !== 0) problems.push({ variable: 'API_CLOCK_OFFSET_S', problem: 'must be 0 in production (a clock offset is for rehearsing skew only)' });
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

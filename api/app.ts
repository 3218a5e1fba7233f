/**
 * The REST API as a Fastify plugin: auth with scoped keys, rate limits with
 * Retry-After, CORS allowlist, body-size limits, OpenAPI from the zod schemas
 * (`/docs`), ingestion, SSE, queries, alerts and audit, Slack interactivity.
 * Handlers are thin: the work is in the injected services.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { register } from 'prom-client';
import type { Logger } from '../lib/logger.ts';
import { apiKeysFromConfig, findKey, presentedKey, type ApiKey } from './auth.ts';
import { documentCommonResponses, MAX_PARAM_LENGTH } from './openapi-responses.ts';
import { UPSTREAMS, upstreamOf } from './upstream-errors.ts';
import { AlertOperationError } from './alert-errors.ts';
import type { ApiServices } from './services.ts';
import { telemetryRoutes } from './routes/telemetry.ts';
import { streamRoutes, type SseLimits } from './routes/stream.ts';
import { deviceRoutes } from './routes/devices.ts';
import { alertRoutes } from './routes/alerts.ts';
import { oncallRoutes } from './routes/oncall.ts';
import { nodeRoutes } from './routes/nodes.ts';
import { SLACK_INTERACTIONS_PATH, slackInteractions } from './slack/interactions.ts';
import { notifyAckRoutes } from './routes/notify-ack.ts';
import { consoleRoutes } from './routes/console.ts';
import { consoleStatic, resolveConsoleDir } from './console/static.ts';
import { notifyAckSecret } from '../lib/notify/ack-secret.ts';
import type { Config } from '../lib/config.ts';
import { timeRangeFromConfig, type TimeRangeOptions } from '../lib/parse/index.ts';

export type ApiConfig = Pick<
  Config,
  'NODE_ENV' | 'API_KEYS' | 'CORS_ORIGINS' | 'RATE_LIMIT_PER_MIN' | 'BODY_LIMIT_BYTES' | 'SLACK_SIGNING_SECRET'
> &
  // Key of the signed acknowledge links (email, ntfy); unset outside production → the development key.
  Partial<Pick<Config, 'NOTIFY_ACK_SECRET' | 'NOTIFY_ACK_SECRET_FILE'>> &
  // Accepted point timestamps (POST /v1/telemetry); unset → the config defaults (1970 … now + 1 day).
  Partial<Pick<Config, 'INGEST_MIN_TIME' | 'INGEST_MAX_FUTURE_S'>> &
  // Offset of the API's clock for time windows (rehearsing a skewed host); unset → the wall clock.
  Partial<Pick<Config, 'API_CLOCK_OFFSET_S'>> &
  // The web console at / (console/); unset → served from the default build folder.
  Partial<Pick<Config, 'CONSOLE_ENABLED' | 'CONSOLE_DIR'>> &
  // Access limits (README "Security model"); unset → the config defaults.
  Partial<
    Pick<
      Config,
      | 'RATE_LIMIT_ANON_PER_MIN'
      | 'RATE_LIMIT_SLACK_PER_MIN'
      | 'TRUST_PROXY'
      | 'READY_CACHE_MS'
      | 'SSE_MAX_CONNECTIONS'
      | 'SSE_MAX_PER_KEY'
      | 'SSE_RESUME_WINDOW'
      | 'SSE_MAX_BUFFER_BYTES'
      | 'SSE_STALL_MS'
    >
  >;

/** `__proto__` / `constructor.prototype` keys in a JSON body are dropped (never reach a handler), not refused: the body is otherwise valid JSON. */
const JSON_POISONING = { onProtoPoisoning: 'remove', onConstructorPoisoning: 'remove' } as const;

/** TRUST_PROXY as Fastify's trustProxy: boolean, hop count or the address list. */
export function trustProxyOption(v: string | undefined): boolean | string | ((addr: string, hop: number) => boolean) {
  const t = (v ?? 'false').trim();
  if (t === 'true') return true;
  if (t === 'false' || t === '') return false;
  if (/^\d+$/.test(t)) {
    // A hop count: trust the nearest n proxies (proxy-addr's semantics, as fastify's numeric trustProxy).
    const hops = Number(t);
    return (_addr, hop) => hop < hops;
  }
  return t;
}

export interface BuildAppInput {
  cfg: ApiConfig;
  services: ApiServices;
  logger?: Logger | boolean;
  /** SSE heartbeat interval (tests shorten it). */
  heartbeatMs?: number;
}

export async function buildApp(input: BuildAppInput): Promise<FastifyInstance> {
  const { cfg, services } = input;
  // Behind an ingress the socket peer is the proxy: only a trusted proxy's X-Forwarded-For names the client.
  const trustProxy = trustProxyOption(cfg.TRUST_PROXY);
  const base = Fastify(
    typeof input.logger === 'object'
      ? { loggerInstance: input.logger, bodyLimit: cfg.BODY_LIMIT_BYTES, trustProxy, routerOptions: { maxParamLength: MAX_PARAM_LENGTH }, ...JSON_POISONING }
      : { logger: input.logger ?? false, bodyLimit: cfg.BODY_LIMIT_BYTES, trustProxy, routerOptions: { maxParamLength: MAX_PARAM_LENGTH }, ...JSON_POISONING },
  );
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const { keys, devDefault } = apiKeysFromConfig(cfg);
  if (devDefault) app.log.warn('API_KEYS unset: accepting the development key "dev-admin-key" (never in production)');

  // Never leak internals on 5xx; 4xx bodies say exactly what was wrong.
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; code?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (err.validation) {
      return reply.code(400).send({ error: 'bad_request', message: err.message, issues: err.validation });
    }
    if (status === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.code(413).send({ error: 'payload_too_large', message: `body exceeds ${cfg.BODY_LIMIT_BYTES} bytes` });
    // A dependency's failure is ours to word: its status and body (InfluxDB's JSON, Temporal's gRPC text) stay in the log.
    const upstream = upstreamOf(err);
    if (upstream) {
      req.log.warn({ err, upstream }, 'dependency unavailable');
      return reply.code(503).header('retry-after', '5').send({ error: 'upstream_unavailable', message: `${UPSTREAMS[upstream]} is unavailable; retry later` });
    }
    if (err instanceof AlertOperationError && err.code === 'alert_unavailable')
      return reply.code(503).header('retry-after', '5').send({ error: err.code, message: err.message });
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: 'internal_error', message: 'internal error; see server logs', requestId: req.id });
    }
    return reply.code(status).send({ error: err.code ?? 'error', message: err.message });
  });

  // Every route documents the error answers it can give (before any route is added).
  app.addHook('onRoute', documentCommonResponses);
  // The caller's key, resolved once: rate-limit bucket and scope checks use the same answer.
  app.addHook('onRequest', async (req) => {
    req.apiKey ??= findKey(keys, presentedKey(req));
  });

  // Empty CORS_ORIGINS = no cross-origin access (an empty allowlist), never the development default.
  await app.register(cors, {
    origin: cfg.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['content-type', 'x-api-key', 'authorization', 'last-event-id'],
    exposedHeaders: ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
  });
  await app.register(rateLimit, {
    global: true,
    // Two kinds of bucket: one per valid key, and one per client IP for everything without a valid key
    // (anonymous or a bad key), with its own smaller budget — so a flood of bad keys uses up only its
    // own IP's anonymous bucket, never a key's. Slack callbacks are counted by the Slack plugin once
    // their signature verified (a forged one must not spend Slack's budget).
    max: (_req, bucket) => (bucket.startsWith('key:') ? cfg.RATE_LIMIT_PER_MIN : (cfg.RATE_LIMIT_ANON_PER_MIN ?? 120)),
    timeWindow: 60_000,
    // Bounded memory: the least recently seen buckets are forgotten first.
    cache: 10_000,
    keyGenerator: (req) => (req.apiKey ? `key:${req.apiKey.label}` : `ip:${req.ip}`),
    allowList: (req) => {
      const path = req.url.split('?')[0];
      return path === '/health' || path === '/ready' || path === '/metrics' || path === SLACK_INTERACTIONS_PATH;
    },
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Telemetry Stack API', version: '0.1.0', description: 'GPU telemetry ingestion, queries, alerts and audit.' },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  // Unauthenticated, so cached and coalesced: a flood of /ready costs one InfluxDB + Temporal probe per READY_CACHE_MS.
  const readyCacheMs = cfg.READY_CACHE_MS ?? 2_000;
  let ready: { atMs: number; checks: Promise<Record<string, boolean>> } | undefined;
  app.get('/ready', { schema: { hide: true } }, async (_req, reply) => {
    if (!ready || Date.now() - ready.atMs >= readyCacheMs) ready = { atMs: Date.now(), checks: services.readiness.check() };
    const pending = ready;
    const checks = await pending.checks.catch(() => {
      if (ready === pending) ready = undefined;
      return { readiness: false } as Record<string, boolean>;
    });
    const ok = Object.values(checks).every(Boolean);
    return reply.code(ok ? 200 : 503).send({ ready: ok, checks });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    return reply.header('content-type', register.contentType).send(await register.metrics());
  });

  const sse: Partial<SseLimits> = {
    ...(cfg.SSE_MAX_CONNECTIONS !== undefined && { maxConnections: cfg.SSE_MAX_CONNECTIONS }),
    ...(cfg.SSE_MAX_PER_KEY !== undefined && { maxPerKey: cfg.SSE_MAX_PER_KEY }),
    ...(cfg.SSE_RESUME_WINDOW !== undefined && { resumeWindow: cfg.SSE_RESUME_WINDOW }),
    ...(cfg.SSE_MAX_BUFFER_BYTES !== undefined && { maxBufferBytes: cfg.SSE_MAX_BUFFER_BYTES }),
    ...(cfg.SSE_STALL_MS !== undefined && { stallMs: cfg.SSE_STALL_MS }),
  };
  const ctx = { keys, services, heartbeatMs: input.heartbeatMs ?? 15_000, timeRange: timeRangeFromConfig(cfg), sse } satisfies RouteContext;
  await app.register(telemetryRoutes, ctx);
  await app.register(streamRoutes, ctx);
  await app.register(deviceRoutes, ctx);
  await app.register(alertRoutes, ctx);
  const ackKey = notifyAckSecret(cfg);
  if (ackKey) await app.register(notifyAckRoutes, { key: ackKey, services });
  await app.register(oncallRoutes, ctx);
  await app.register(nodeRoutes, ctx);
  if (cfg.CONSOLE_ENABLED !== false) {
    if (services.console) await app.register(consoleRoutes, { ...ctx, console: services.console, linkKey: ackKey });
    await app.register(consoleStatic, { dir: resolveConsoleDir(cfg.CONSOLE_DIR) });
  }
  if (cfg.SLACK_SIGNING_SECRET) {
    await app.register(slackInteractions, {
      signingSecret: cfg.SLACK_SIGNING_SECRET,
      rateLimit: { signedPerMin: cfg.RATE_LIMIT_SLACK_PER_MIN ?? 600, unsignedPerMin: cfg.RATE_LIMIT_ANON_PER_MIN ?? 120 },
      ...(cfg.API_CLOCK_OFFSET_S ? { now: () => Date.now() / 1_000 + cfg.API_CLOCK_OFFSET_S! } : {}),
      onAction: async (a) => {
        const by = `slack:${a.user.name || a.user.id}`;
        if (a.action === 'ack') await services.alerts.ack(a.alertId, by, 'slack');
        else if (a.action === 'resolve') await services.alerts.resolve(a.alertId, by, 'resolved from Slack');
        else if (a.action === 'snooze') await services.alerts.snooze(a.alertId, by, a.snoozeFor ?? '1h');
        else await remediateFromSlack(services, a.action, a.alertId, by);
      },
    });
  }
  return base as unknown as FastifyInstance;
}

/** A node button on a page. Slack's 3 s deadline: start only; the outcome reaches the page through the incident workflow (chat.update). */
async function remediateFromSlack(services: ApiServices, action: 'quarantine' | 'drain' | 'release', alertId: string, by: string): Promise<void> {
  if (!services.remediation) throw new Error(`node ${action} clicked on ${alertId}, but no Kubernetes cluster is configured`);
  await services.remediation.requestForAlert({ alertId, action, by, via: 'slack' });
}

export interface RouteContext {
  keys: ApiKey[];
  services: ApiServices;
  heartbeatMs: number;
  /** Accepted point timestamps for ingestion (INGEST_MIN_TIME, INGEST_MAX_FUTURE_S); the upper bound moves with the clock. */
  timeRange: TimeRangeOptions;
  /** /v1/stream caps (SSE_* config); unset fields → DEFAULT_SSE_LIMITS. */
  sse?: Partial<SseLimits>;
}

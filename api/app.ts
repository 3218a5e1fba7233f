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
import type { ApiServices } from './services.ts';
import { telemetryRoutes } from './routes/telemetry.ts';
import { streamRoutes } from './routes/stream.ts';
import { deviceRoutes } from './routes/devices.ts';
import { alertRoutes } from './routes/alerts.ts';
import { oncallRoutes } from './routes/oncall.ts';
import { slackInteractions } from './slack/interactions.ts';
import { notifyAckRoutes } from './routes/notify-ack.ts';
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
  Partial<Pick<Config, 'INGEST_MIN_TIME' | 'INGEST_MAX_FUTURE_S'>>;

export interface BuildAppInput {
  cfg: ApiConfig;
  services: ApiServices;
  logger?: Logger | boolean;
  /** SSE heartbeat interval (tests shorten it). */
  heartbeatMs?: number;
}

export async function buildApp(input: BuildAppInput): Promise<FastifyInstance> {
  const { cfg, services } = input;
  const base = Fastify(
    typeof input.logger === 'object'
      ? { loggerInstance: input.logger, bodyLimit: cfg.BODY_LIMIT_BYTES }
      : { logger: input.logger ?? false, bodyLimit: cfg.BODY_LIMIT_BYTES },
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
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.code(status).send({ error: 'internal_error', message: 'internal error; see server logs', requestId: req.id });
    }
    return reply.code(status).send({ error: err.code ?? 'error', message: err.message });
  });

  await app.register(cors, {
    origin: cfg.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['content-type', 'x-api-key', 'authorization', 'last-event-id'],
    exposedHeaders: ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
  });
  await app.register(rateLimit, {
    global: true,
    max: cfg.RATE_LIMIT_PER_MIN,
    timeWindow: 60_000,
    // Per key when one is presented (so one client cannot starve another behind the same NAT), else per IP.
    keyGenerator: (req) => findKey(keys, presentedKey(req))?.label ?? req.ip,
    allowList: (req) => req.url === '/health' || req.url === '/ready' || req.url === '/metrics',
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
  app.get('/ready', { schema: { hide: true } }, async (_req, reply) => {
    const checks = await services.readiness.check();
    const ok = Object.values(checks).every(Boolean);
    return reply.code(ok ? 200 : 503).send({ ready: ok, checks });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    return reply.header('content-type', register.contentType).send(await register.metrics());
  });

  const ctx = { keys, services, heartbeatMs: input.heartbeatMs ?? 15_000, timeRange: timeRangeFromConfig(cfg) } satisfies RouteContext;
  await app.register(telemetryRoutes, ctx);
  await app.register(streamRoutes, ctx);
  await app.register(deviceRoutes, ctx);
  await app.register(alertRoutes, ctx);
  const ackKey = notifyAckSecret(cfg);
  if (ackKey) await app.register(notifyAckRoutes, { key: ackKey, services });
  await app.register(oncallRoutes, ctx);
  if (cfg.SLACK_SIGNING_SECRET) {
    await app.register(slackInteractions, {
      signingSecret: cfg.SLACK_SIGNING_SECRET,
      onAction: async (a) => {
        const by = `slack:${a.user.name || a.user.id}`;
        if (a.action === 'ack') await services.alerts.ack(a.alertId, by, 'slack');
        else if (a.action === 'resolve') await services.alerts.resolve(a.alertId, by, 'resolved from Slack');
        else await services.alerts.snooze(a.alertId, by, a.snoozeFor ?? '1h');
      },
    });
  }
  return base as unknown as FastifyInstance;
}

export interface RouteContext {
  keys: ApiKey[];
  services: ApiServices;
  heartbeatMs: number;
  /** Accepted point timestamps for ingestion (INGEST_MIN_TIME, INGEST_MAX_FUTURE_S); the upper bound moves with the clock. */
  timeRange: TimeRangeOptions;
}

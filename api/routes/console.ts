/**
 * Reads behind the web console (console/; its actions are the alert routes'): the fleet
 * with health and KPIs, downsampled history, a device's health timeline and
 * driver signals, an incident's timeline, the pipeline view, the caller's
 * session (scopes decide which buttons the console shows; the API still
 * checks every action), and the incident behind a signed notification link.
 * Response schemas are declared: the OpenAPI document is fuzzed.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hasScope, requireScope, SCOPES } from '../auth.ts';
import type { RouteContext } from '../app.ts';
import { problemSchema } from '../openapi-responses.ts';
import { hasControlChar } from '../control-chars.ts';
import { deviceIdParam, rfc3339Time as time } from '../query-params.ts';
import { AckTokenError, verifyAckToken } from '../../lib/notify/ack-token.ts';
import { ackRejected } from './notify-ack.ts';
import type { AlertStateView } from '../../workflows/alert-messages.ts';
import { MAX_FLEET_ROWS, isOpen } from '../console/fleet-view.ts';
import { fleetSchema, healthSchema, historySchema, incidentRowSchema, MAX_PAGED_LOOKUPS, pipelineSchema, timelineSchema } from '../console/wire.ts';
import { incidentTimeline, pagedPeople } from '../console/incident-timeline.ts';
import { MAX_HISTORY_FIELDS, type ConsoleService, type DeviceHealthResult, type HistoryResult } from '../console/console-service.ts';
import { downsampleEverySeconds } from '../console/health-segments.ts';

export interface ConsoleRoutesOptions extends RouteContext {
  console: ConsoleService;
  /** Key of the signed notification links (lib/notify/ack-token.ts); absent → /v1/console/link answers 404. */
  linkKey?: string;
}

const idParams = z.object({ id: z.string().min(1).max(300) });
/** No stored device id holds a control character (and InfluxDB refuses one in a query): such an id is answered "nothing" by the handlers. */
const deviceParams = z.object({ id: deviceIdParam });
/**
 * `fields=a,b,c` (form, not exploded: what the console sends), documented as an array so the bound
 * is in the document (maxItems) and a 9th name is a 400 schemathesis can predict.
 */
const historyFields = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',') : v),
  z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'field names are [A-Za-z_][A-Za-z0-9_]*').max(64))
    .min(1)
    .max(MAX_HISTORY_FIELDS, `at most ${MAX_HISTORY_FIELDS} fields`),
);
/** InfluxDB stores 1677-09-21 … 2262-04-11; a query range outside it is refused by InfluxDB (a 500 here): clamp to what it holds. */
const MIN_QUERY_MS = Date.parse('1970-01-01T00:00:00Z');
const MAX_QUERY_MS = Date.parse('2262-01-01T00:00:00Z');
const clampMs = (ms: number) => Math.min(MAX_QUERY_MS, Math.max(MIN_QUERY_MS, ms));

/**
 * The requested window (default: the hour before `to`, `to` default now), clamped. `empty` when it holds
 * no time (from ≥ to after clamping): answered with no data, as /v1/devices/{id}/metrics does, since
 * "from before to" is a rule the document cannot state (and Flux refuses such a range).
 */
function queryWindow(q: { from?: string; to?: string }): { from: string; to: string; empty: boolean } {
  const to = clampMs(q.to ? Date.parse(q.to) : Date.now());
  const from = clampMs(q.from ? Date.parse(q.from) : to - 3_600_000);
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), empty: from >= to };
}

function noHistory(device: string, fields: string[], w: { from: string; to: string }, points: number): HistoryResult {
  const every = downsampleEverySeconds(Date.parse(w.from), Date.parse(w.to), points);
  return { device, everySeconds: every, from: w.from, to: w.to, series: fields.map((field) => ({ field, points: [] })) };
}
const noHealth = (device: string): DeviceHealthResult => ({ device, segments: [], latest: null, signals: [] });

/** The alert's state, or undefined when there is no such alert (or the workflow is not an alert: no `state` query). */
async function alertState(ctx: RouteContext, id: string): Promise<AlertStateView | undefined> {
  try {
    const s = (await ctx.services.alerts.get(id)) as AlertStateView | undefined;
    return s && typeof s === 'object' && s.alert && Array.isArray(s.history) ? s : undefined;
  } catch (err) {
    if ((err as Error).name === 'QueryNotRegisteredError') return undefined;
    throw err;
  }
}

/** NaN scores (a health line without one) are not JSON: null. */
const finite = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? null : x);

function timelineOf(id: string, state: AlertStateView, url: string | null): z.infer<typeof timelineSchema> {
  return {
    id,
    device: state.alert.device,
    rule: state.alert.rule,
    severity: state.alert.severity,
    status: state.status,
    level: state.level,
    summary: state.alert.summary,
    paged: pagedPeople(state),
    ack: state.ack ? { by: state.ack.by, via: state.ack.via, at: state.ack.at, txHash: state.ack.receipt?.txHash ?? null } : null,
    temporalUrl: url,
    entries: incidentTimeline(state),
  };
}

export const consoleRoutes: FastifyPluginAsync<ConsoleRoutesOptions> = async (app, ctx) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = requireScope(ctx.keys, 'read');
  const svc = ctx.console;

  r.get(
    '/v1/console/session',
    {
      preHandler: read,
      schema: {
        summary: "The presented key's name and scopes (the console hides what the key may not do; the API checks anyway)",
        tags: ['console'],
        response: { 200: z.object({ name: z.string(), identity: z.string(), scopes: z.array(z.enum(SCOPES)), canAck: z.boolean() }) },
      },
    },
    async (req) => {
      const key = req.apiKey!;
      return { name: key.name, identity: key.identity, scopes: [...key.scopes], canAck: hasScope(key, 'ack') };
    },
  );

  r.get(
    '/v1/console/fleet',
    {
      preHandler: read,
      schema: {
        summary: 'Every device with identity, latest health and open incidents; counts by health; fleet KPIs',
        tags: ['console'],
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(MAX_FLEET_ROWS).default(MAX_FLEET_ROWS) }),
        response: { 200: fleetSchema },
      },
    },
    async (req) => {
      const f = await svc.fleet(req.query.limit);
      return { ...f, rows: f.rows.map((row) => ({ ...row, score: finite(row.score), utilGpuPct: finite(row.utilGpuPct) })) };
    },
  );

  r.get(
    '/v1/console/devices/:id/history',
    {
      preHandler: read,
      schema: {
        summary: 'History of up to 8 fields of one device, downsampled in InfluxDB (aggregateWindow, mean) to about `points` per field',
        tags: ['console'],
        params: deviceParams,
        querystring: z
          .object({
            fields: historyFields.describe(`field names, comma-separated (fields=a,b), at most ${MAX_HISTORY_FIELDS}; more, or a bad name, is a 400 naming it`),
            from: time.optional().describe('RFC 3339; default: 1 h before `to`. A window with from ≥ to holds nothing (empty series)'),
            to: time.optional().describe('RFC 3339; default: now'),
            points: z.coerce.number().int().min(10).max(5_000).default(600),
          })
          // OpenAPI serialisation of `fields`: one comma-separated value, not repeated keys.
          .meta({ style: 'form', explode: false }),
        response: { 200: historySchema, 400: problemSchema },
      },
    },
    async (req) => {
      const { empty, ...w } = queryWindow(req.query);
      const fields = [...new Set(req.query.fields)];
      if (empty || hasControlChar(req.params.id)) return noHistory(req.params.id, fields, w, req.query.points);
      return svc.history({ device: req.params.id, fields, ...w, points: req.query.points });
    },
  );

  r.get(
    '/v1/console/devices/:id/health',
    {
      preHandler: read,
      schema: {
        summary: "A device's health timeline (segments of one class, with their evidence) and the driver's latest signals",
        tags: ['console'],
        params: deviceParams,
        querystring: z.object({
          from: time.optional().describe('RFC 3339; default: 1 h before `to`. A window with from ≥ to holds nothing'),
          to: time.optional().describe('RFC 3339; default: now'),
        }),
        response: { 200: healthSchema, 400: problemSchema },
      },
    },
    async (req) => {
      const { empty, ...w } = queryWindow(req.query);
      if (empty || hasControlChar(req.params.id)) return noHealth(req.params.id);
      const h = await svc.deviceHealth({ device: req.params.id, ...w });
      return {
        ...h,
        segments: h.segments.map((s) => ({ ...s, maxScore: finite(s.maxScore) })),
        latest: h.latest ? { ...h.latest, score: finite(h.latest.score) } : null,
        signals: h.signals.filter((s) => Number.isFinite(s.value)),
      };
    },
  );

  r.get(
    '/v1/console/incidents',
    {
      preHandler: read,
      schema: {
        summary: 'Incidents, open first then recent, with who is paged and who acknowledged (for the open ones)',
        tags: ['console'],
        // A device with a control character is answered "none" by the alerts service (api/control-chars.ts).
        querystring: z.object({ device: deviceIdParam.optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
        response: { 200: z.object({ incidents: z.array(incidentRowSchema), openLookedUp: z.number().int().describe(`open incidents whose state was read (at most ${MAX_PAGED_LOOKUPS})`) }) },
      },
    },
    async (req) => {
      const list = await ctx.services.alerts.list({ device: req.query.device, limit: req.query.limit });
      const open = list.filter(isOpen);
      const sorted = [...open, ...list.filter((a) => !isOpen(a))];
      // Who is paged needs each workflow's state: bounded, and only for the open ones (what on-call looks at).
      const lookups = new Map<string, AlertStateView | undefined>();
      const ids = open.slice(0, MAX_PAGED_LOOKUPS).map((a) => a.id);
      for (let i = 0; i < ids.length; i += 8)
        await Promise.all(ids.slice(i, i + 8).map(async (id) => lookups.set(id, await alertState(ctx, id).catch(() => undefined))));
      return {
        incidents: sorted.map((a) => {
          const st = lookups.get(a.id);
          return {
            id: a.id,
            device: a.device ?? null,
            rule: a.rule ?? null,
            severity: a.severity ?? null,
            status: a.status ?? null,
            level: a.level ?? null,
            startedAt: a.startedAt ?? null,
            closedAt: a.closedAt ?? null,
            workflowStatus: a.workflowStatus,
            open: isOpen(a),
            paged: st ? pagedPeople(st) : null,
            ackBy: st?.ack?.by ?? null,
          };
        }),
        openLookedUp: ids.length,
      };
    },
  );

  r.get(
    '/v1/console/incidents/:id/timeline',
    {
      preHandler: read,
      schema: {
        summary: "An incident's timeline: raised, each page and level, ack, resolve, with the chain transactions",
        tags: ['console'],
        params: idParams,
        response: { 200: timelineSchema, 404: problemSchema },
      },
    },
    async (req, reply) => {
      const state = await alertState(ctx, req.params.id);
      if (state === undefined) return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
      return timelineOf(req.params.id, state, svc.workflowUrl(req.params.id));
    },
  );

  r.get(
    '/v1/console/pipeline',
    {
      preHandler: read,
      schema: {
        summary: "Partitions (collector `stats` query: lag, points, DLQ), stream and DLQ sizes, workers' pollers, Temporal UI links",
        tags: ['console'],
        response: { 200: pipelineSchema },
      },
    },
    async () => {
      const p = await svc.pipeline();
      return { ...p, partitions: p.partitions.map((x) => ({ ...x, stats: x.stats ? { ...x.stats } : null })) };
    },
  );

  r.get(
    '/v1/console/link',
    {
      schema: {
        summary: 'The incident a signed notification link points at (the token is the credential: no API key)',
        description: 'The console opens `/#/link?token=<ack token>` from an email/ntfy/card; Acknowledge then posts to /v1/notify/ack with the same token.',
        tags: ['console'],
        querystring: z.object({ token: z.string().min(1).max(2_048) }),
        response: {
          200: z.object({ alertId: z.string(), via: z.string(), target: z.string(), expiresAt: z.string(), incident: timelineSchema }),
          400: problemSchema,
          401: problemSchema,
          404: problemSchema,
          410: problemSchema,
        },
      },
    },
    async (req, reply) => {
      if (!ctx.linkKey) return reply.code(404).send({ error: 'not_found', message: 'signed links are not configured (NOTIFY_ACK_SECRET)' });
      let claims;
      try {
        claims = verifyAckToken(ctx.linkKey, req.query.token);
      } catch (err) {
        if (!(err instanceof AckTokenError)) throw err;
        // Same tokens as the acknowledge links: counted with theirs, by problem.
        ackRejected.inc({ problem: err.problem });
        req.log.warn({ problem: err.problem, ip: req.ip }, 'console link refused');
        const status = err.problem === 'bad_signature' ? 401 : err.problem === 'expired' ? 410 : 400;
        return reply.code(status).send({ error: err.problem, message: err.message });
      }
      const state = await alertState(ctx, claims.alertId);
      if (state === undefined) return reply.code(404).send({ error: 'not_found', message: `no alert ${claims.alertId}` });
      return {
        alertId: claims.alertId,
        via: claims.via,
        target: claims.target,
        expiresAt: new Date(claims.expiresAtS * 1_000).toISOString(),
        incident: timelineOf(claims.alertId, state, svc.workflowUrl(claims.alertId)),
      };
    },
  );
};

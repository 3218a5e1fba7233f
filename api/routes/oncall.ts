/** Who is on call (schedules resolved now or at a given time) and silences / maintenance windows. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actingIdentity, requireScope } from '../auth.ts';
import type { RouteContext } from '../app.ts';
import { problemSchema } from '../openapi-responses.ts';
import { NoSchedulesError } from '../oncall-service.ts';
import { UnknownScheduleError } from '../../lib/oncall/resolve.ts';
import { ScheduleFileError } from '../../lib/oncall/schedule-schema.ts';
import { SilenceRequestError, SilenceRequestSchema } from '../../lib/oncall/silences.ts';
import { SilenceNotFoundError } from '../../lib/oncall/silence-store.ts';

const at = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time with offset' });

export const oncallRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const oncall = ctx.services.oncall;
  if (!oncall) return;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = requireScope(ctx.keys, 'read');
  const ack = requireScope(ctx.keys, 'ack');

  r.get(
    '/v1/oncall',
    {
      preHandler: read,
      schema: {
        summary: 'Who is on call, per schedule, now or at a given time',
        tags: ['oncall'],
        querystring: z.object({ schedule: z.string().min(1).max(64).optional(), at: at.optional() }),
        response: { 200: z.unknown(), 404: problemSchema, 503: problemSchema },
      },
    },
    async (req, reply) => {
      try {
        return { oncall: oncall.who({ schedule: req.query.schedule, atMs: req.query.at ? Date.parse(req.query.at) : undefined }) };
      } catch (err) {
        if (err instanceof UnknownScheduleError) return reply.code(404).send({ error: 'not_found', message: err.message });
        if (err instanceof NoSchedulesError || err instanceof ScheduleFileError) return reply.code(503).send({ error: 'no_schedules', message: err.message });
        throw err;
      }
    },
  );

  r.get('/v1/silences', { preHandler: read, schema: { summary: 'Silences (active, planned and ended, with their audit trail), newest first', tags: ['oncall'] } }, async () => ({
    silences: await oncall.silences.list(),
  }));

  r.post(
    '/v1/silences',
    {
      preHandler: ack,
      // Validated in the handler by lib/oncall/silences.ts (one schema, 400 naming each bad field); documented from it.
      validatorCompiler: () => (value: unknown) => ({ value }),
      schema: {
        summary: 'Silence alerts (or plan a maintenance window): matching alerts page nobody; running escalations pause at once',
        tags: ['oncall'],
        body: SilenceRequestSchema.partial({ by: true }),
        response: { 201: z.unknown(), 400: problemSchema, 403: problemSchema },
      },
    },
    async (req, reply) => {
      // Who silences is the caller (the key's identity), as for acks: a body `by` needs act-as.
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const who = actingIdentity(req.apiKey!, typeof body.by === 'string' ? body.by : undefined);
      if (!who.ok) return reply.code(403).send({ error: 'forbidden', message: who.message });
      try {
        return reply.code(201).send(await oncall.silences.add({ ...body, by: who.by }));
      } catch (err) {
        if (err instanceof SilenceRequestError) return reply.code(400).send({ error: 'bad_request', message: err.message, issues: err.issues });
        throw err;
      }
    },
  );

  r.post(
    '/v1/silences/:id/end',
    {
      preHandler: ack,
      schema: {
        summary: 'End a silence early (kept for audit); paused alerts resume or resolve',
        tags: ['oncall'],
        // Silence ids are `sil-<base36>-<hex>`; anything else cannot name one (and is no valid KV key).
        params: z.object({ id: z.string().min(1).max(100).regex(/^[A-Za-z0-9_-]+$/, 'a silence id is [A-Za-z0-9_-]') }),
        body: z.object({ by: z.string().min(1).max(200).optional(), reason: z.string().max(500).optional() }).nullish(),
        response: { 200: z.unknown(), 403: problemSchema, 404: problemSchema },
      },
    },
    async (req, reply) => {
      const who = actingIdentity(req.apiKey!, req.body?.by);
      if (!who.ok) return reply.code(403).send({ error: 'forbidden', message: who.message });
      try {
        return await oncall.silences.end(req.params.id, who.by, req.body?.reason);
      } catch (err) {
        if (err instanceof SilenceNotFoundError) return reply.code(404).send({ error: 'not_found', message: err.message });
        throw err;
      }
    },
  );
};

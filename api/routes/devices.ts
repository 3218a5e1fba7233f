/** Device list, metric series and point counts from InfluxDB (parameterised Flux). */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireScope } from '../auth.ts';
import type { RouteContext } from '../app.ts';

const time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an RFC 3339 time');

export const deviceRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = requireScope(ctx.keys, 'read');
  r.get('/v1/devices', { preHandler: read, schema: { summary: 'Devices seen, with identity tags and last-seen time', tags: ['query'] } }, async () => ({
    devices: await ctx.services.query.devices(),
  }));
  r.get(
    '/v1/devices/:id/metrics',
    {
      preHandler: read,
      schema: {
        summary: 'Time series of one field of one device',
        tags: ['query'],
        params: z.object({ id: z.string().min(1) }),
        querystring: z.object({
          field: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
          from: time.optional(),
          to: time.optional(),
          limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
        }),
      },
    },
    async (req) => ({
      device: req.params.id,
      field: req.query.field,
      points: await ctx.services.query.series({ device: req.params.id, ...req.query }),
    }),
  );
  r.get(
    '/v1/points/count',
    {
      preHandler: read,
      schema: {
        summary: 'Number of stored points (one per device per timestamp)',
        tags: ['query'],
        querystring: z.object({ device: z.string().optional(), from: time.optional(), to: time.optional() }),
      },
    },
    async (req) => ({ count: await ctx.services.query.countPoints(req.query) }),
  );
};

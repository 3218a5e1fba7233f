/** Device list, metric series and point counts from InfluxDB (parameterised Flux). */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireScope } from '../auth.ts';
import type { RouteContext } from '../app.ts';
import { hasControlChar } from '../control-chars.ts';
import { HEALTH_MODELS } from '../../lib/influx/query.ts';
import { deviceIdParam as deviceId, rfc3339Time as time } from '../query-params.ts';

/** No stored device id holds a control character, and InfluxDB refuses a query with one: the answer is "nothing". */
const unstorable = hasControlChar;

export const deviceRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = requireScope(ctx.keys, 'read');
  r.get('/v1/devices', { preHandler: read, schema: { summary: 'Devices seen, with identity tags, last-seen time and Kubernetes node (when known)', tags: ['query'] } }, async () => {
    const devices = await ctx.services.query.devices();
    // The node (lib/kube/node-map.ts: configured map, else the host tag) is what the node actions act on.
    const nodeFor = ctx.services.remediation?.nodeFor;
    if (!nodeFor) return { devices };
    return {
      devices: devices.map((d) => {
        const node = nodeFor({ device: d.device, host: d.tags.host });
        return node ? { ...d, node } : d;
      }),
    };
  });
  r.get(
    '/v1/devices/:id/metrics',
    {
      preHandler: read,
      schema: {
        summary: 'Time series of one field of one device',
        tags: ['query'],
        params: z.object({ id: deviceId }),
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
      points: unstorable(req.params.id) ? [] : await ctx.services.query.series({ device: req.params.id, ...req.query }),
    }),
  );
  r.get(
    '/v1/devices/:id/health',
    {
      preHandler: read,
      schema: {
        summary: "Stored health verdicts of one device: the paging model's (gpu_health) or a shadow model's (health_shadow, with the paging model's class beside it)",
        tags: ['query'],
        params: z.object({ id: deviceId }),
        querystring: z.object({
          model: z.enum(HEALTH_MODELS).default('primary'),
          from: time.optional(),
          to: time.optional(),
          limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
        }),
      },
    },
    async (req) => ({
      device: req.params.id,
      model: req.query.model,
      points: await ctx.services.query.health({ device: req.params.id, ...req.query }),
    }),
  );
  r.get(
    '/v1/points/count',
    {
      preHandler: read,
      schema: {
        summary: 'Number of stored points (one per device per timestamp)',
        tags: ['query'],
        querystring: z.object({ device: deviceId.optional(), from: time.optional(), to: time.optional() }),
      },
    },
    async (req) => ({ count: unstorable(req.query.device) ? 0 : await ctx.services.query.countPoints(req.query) }),
  );
};

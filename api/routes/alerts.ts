/** Alerts (Temporal workflows), acknowledgement (Update → ledger receipt) and the on-chain audit record. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireScope } from '../auth.ts';
import type { RouteContext } from '../app.ts';

const idParams = z.object({ id: z.string().min(1).max(300) });

export const alertRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = requireScope(ctx.keys, 'read');
  const ack = requireScope(ctx.keys, 'ack');
  r.get(
    '/v1/alerts',
    {
      preHandler: read,
      schema: {
        summary: 'Alerts, newest first (filter by status or device)',
        tags: ['alerts'],
        querystring: z.object({
          status: z.enum(['firing', 'acknowledged', 'snoozed', 'silenced', 'recovered', 'resolved']).optional(),
          device: z.string().optional(),
          limit: z.coerce.number().int().min(1).max(1_000).default(100),
        }),
      },
    },
    async (req) => ({ alerts: await ctx.services.alerts.list(req.query) }),
  );
  r.get('/v1/alerts/:id', { preHandler: read, schema: { summary: 'Alert state', tags: ['alerts'], params: idParams } }, async (req, reply) => {
    const state = await ctx.services.alerts.get(req.params.id);
    if (state === undefined) return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
    return state;
  });
  r.post(
    '/v1/alerts/:id/ack',
    {
      preHandler: ack,
      schema: {
        summary: 'Acknowledge an alert; returns the ledger transaction',
        tags: ['alerts'],
        params: idParams,
        body: z.object({ by: z.string().min(1).max(200) }),
      },
    },
    async (req, reply) => {
      if ((await ctx.services.alerts.get(req.params.id)) === undefined)
        return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
      try {
        return await ctx.services.alerts.ack(req.params.id, req.body.by, 'api');
      } catch (err) {
        const msg = (err as Error).message ?? '';
        if (/resolved|rejected|validat/i.test(msg)) return reply.code(409).send({ error: 'conflict', message: msg });
        throw err;
      }
    },
  );
  r.post(
    '/v1/alerts/:id/resolve',
    {
      preHandler: ack,
      schema: {
        summary: 'Resolve an alert',
        tags: ['alerts'],
        params: idParams,
        body: z.object({ by: z.string().min(1).max(200), reason: z.string().max(500).default('resolved via API') }),
      },
    },
    async (req, reply) => {
      if ((await ctx.services.alerts.get(req.params.id)) === undefined)
        return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
      await ctx.services.alerts.resolve(req.params.id, req.body.by, req.body.reason);
      return reply.code(202).send({ accepted: true });
    },
  );
  r.get(
    '/v1/alerts/:id/audit',
    {
      preHandler: read,
      schema: {
        summary: 'Verifies the on-chain record against the workflow state: {verified, mismatches, tx, block, confirmations, ledgerHead}',
        description: 'Needs only the RPC URL and the ledger addresses (no key). A mismatch also raises the `pipeline`/`ledger-audit-mismatch` operational alert.',
        tags: ['alerts'],
        params: idParams,
      },
    },
    async (req, reply) => {
      const audit = await ctx.services.alerts.audit(req.params.id);
      if (audit === null) return reply.code(404).send({ error: 'not_found', message: `no ledger record for ${req.params.id}` });
      return audit;
    },
  );
};

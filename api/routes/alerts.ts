/** Alerts (Temporal workflows): acknowledgement (Update → ledger receipt), resolve, snooze, and the on-chain audit record. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { actingIdentity, requireScope } from '../auth.ts';
import type { RouteContext } from '../app.ts';
import { AlertOperationError, alertErrorStatus } from '../alert-errors.ts';
import { problemSchema } from '../openapi-responses.ts';

const idParams = z.object({ id: z.string().min(1).max(300) });
const by = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe('acting for someone else (needs the act-as scope); omitted → the API key\'s own identity is recorded');
/** What the workflow's snooze takes (workflows/alert-messages.ts SnoozeInput): a positive count of s, m or h. */
const snoozeDuration = z
  .string()
  .regex(/^[1-9]\d{0,5}(s|m|h)$/, 'a duration like 30m or 1h')
  .describe('e.g. 30m, 1h; capped by the policy\'s snoozeMax');
const ackAnswer = z.looseObject({
  receipt: z
    .object({ txHash: z.string(), blockNumber: z.number(), alreadyRecorded: z.boolean(), contract: z.string().optional(), chainId: z.number().optional() })
    .nullable(),
  chain: z.enum(['recorded', 'pending', 'none']).describe('pending: recorded in the workflow, ledger write still retrying (chain down)'),
  by: z.string().describe('the identity recorded (and hashed on chain)'),
});

/** Our alert errors → their status; anything else goes to the app's error handler. */
function sendAlertError(reply: FastifyReply, err: unknown) {
  if (!(err instanceof AlertOperationError)) throw err;
  const status = alertErrorStatus(err);
  if (status === 503) reply.header('retry-after', '5');
  return reply.code(status).send({ error: err.code, message: err.message });
}

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
          // A control character cannot name a device: the service answers none (a NUL would stall the visibility query).
          device: z.string().max(256).optional(),
          limit: z.coerce.number().int().min(1).max(1_000).default(100),
        }),
      },
    },
    async (req) => ({ alerts: await ctx.services.alerts.list(req.query) }),
  );
  r.get('/v1/alerts/:id', { preHandler: read, schema: { summary: 'Alert state', tags: ['alerts'], params: idParams, response: { 200: z.unknown(), 404: problemSchema } } }, async (req, reply) => {
    const state = await ctx.services.alerts.get(req.params.id);
    if (state === undefined) return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
    return state;
  });
  r.post(
    '/v1/alerts/:id/ack',
    {
      preHandler: ack,
      schema: {
        summary: 'Acknowledge an alert as the API key\'s identity; returns the ledger transaction (or chain: pending within 5 s when the chain is down)',
        tags: ['alerts'],
        params: idParams,
        body: z.object({ by }).nullish(),
        response: { 200: ackAnswer, 202: ackAnswer, 403: problemSchema, 404: problemSchema, 409: problemSchema, 503: problemSchema },
      },
    },
    async (req, reply) => {
      const who = actingIdentity(req.apiKey!, req.body?.by);
      if (!who.ok) return reply.code(403).send({ error: 'forbidden', message: who.message });
      try {
        if ((await ctx.services.alerts.get(req.params.id)) === undefined)
          return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
        const r = await ctx.services.alerts.ack(req.params.id, who.by, 'api');
        return reply.code(r.chain === 'pending' ? 202 : 200).send({ ...r, by: who.by });
      } catch (err) {
        return sendAlertError(reply, err);
      }
    },
  );
  r.post(
    '/v1/alerts/:id/resolve',
    {
      preHandler: ack,
      schema: {
        summary: 'Resolve an alert as the API key\'s identity',
        tags: ['alerts'],
        params: idParams,
        body: z.object({ by, reason: z.string().max(500).default('resolved via API') }).nullish(),
        response: { 202: z.object({ accepted: z.literal(true), by: z.string() }), 403: problemSchema, 404: problemSchema, 409: problemSchema, 503: problemSchema },
      },
    },
    async (req, reply) => {
      const who = actingIdentity(req.apiKey!, req.body?.by);
      if (!who.ok) return reply.code(403).send({ error: 'forbidden', message: who.message });
      try {
        if ((await ctx.services.alerts.get(req.params.id)) === undefined)
          return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
        await ctx.services.alerts.resolve(req.params.id, who.by, req.body?.reason ?? 'resolved via API');
      } catch (err) {
        return sendAlertError(reply, err);
      }
      return reply.code(202).send({ accepted: true, by: who.by });
    },
  );
  r.post(
    '/v1/alerts/:id/snooze',
    {
      preHandler: ack,
      schema: {
        summary: "Snooze an alert's escalation as the API key's identity (capped by the policy's snoozeMax); the console's and Slack's snooze",
        tags: ['alerts'],
        params: idParams,
        body: z.object({ by, duration: snoozeDuration }),
        response: { 202: z.object({ accepted: z.literal(true), by: z.string() }), 403: problemSchema, 404: problemSchema, 409: problemSchema, 503: problemSchema },
      },
    },
    async (req, reply) => {
      const who = actingIdentity(req.apiKey!, req.body.by);
      if (!who.ok) return reply.code(403).send({ error: 'forbidden', message: who.message });
      try {
        if ((await ctx.services.alerts.get(req.params.id)) === undefined)
          return reply.code(404).send({ error: 'not_found', message: `no alert ${req.params.id}` });
        await ctx.services.alerts.snooze(req.params.id, who.by, req.body.duration);
      } catch (err) {
        return sendAlertError(reply, err);
      }
      return reply.code(202).send({ accepted: true as const, by: who.by });
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
        response: { 200: z.unknown(), 404: problemSchema },
      },
    },
    async (req, reply) => {
      const audit = await ctx.services.alerts.audit(req.params.id);
      if (audit === null) return reply.code(404).send({ error: 'not_found', message: `no ledger record for ${req.params.id}` });
      return audit;
    },
  );
};

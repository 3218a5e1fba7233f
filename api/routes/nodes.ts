/** Node remediation: quarantine, drain, release (behind the `remediate` scope), and a remediation's record. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actingIdentity, requireScope } from '../auth.ts';
import type { RouteContext } from '../app.ts';
import { problemSchema } from '../openapi-responses.ts';
import { NODE_NAME_RE } from '../../lib/kube/node-map.ts';

/** How long the API waits for a quick action (quarantine, release) before answering 202. */
export const REMEDIATION_ANSWER_MS = 8_000;

const record = z.looseObject({
  id: z.string(),
  action: z.enum(['quarantine', 'drain', 'release']),
  node: z.string(),
  outcome: z.enum(['done', 'already', 'shadow', 'refused', 'blocked', 'failed']),
  detail: z.string(),
  api: z.array(z.string()).describe("the Kubernetes API's answers, one line per call"),
});
const started = z.object({ workflowId: z.string(), running: z.boolean(), record: record.optional() });

export const nodeRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const remediate = requireScope(ctx.keys, 'remediate');
  const unavailable = {
    error: 'remediation_unavailable',
    message: 'no Kubernetes cluster is configured for remediation (KUBECONFIG or in-cluster service account)',
  };

  r.post(
    '/v1/nodes/:node/:action',
    {
      preHandler: remediate,
      schema: {
        summary:
          'Quarantine (cordon + taint + label + condition), drain (Eviction API, honours PodDisruptionBudgets) or release a Kubernetes node',
        description:
          'Idempotent: the same `Idempotency-Key` (or incident) joins the running request, and a node already as asked is left unchanged (`outcome: already`). ' +
          'Answers 200 with the record when done within a few seconds, else 202 (drains) — poll `GET /v1/remediations/{id}`.',
        tags: ['remediation'],
        params: z.object({
          node: z.string().max(253).regex(NODE_NAME_RE, 'a Kubernetes node name (DNS-1123 subdomain)'),
          action: z.enum(['quarantine', 'drain', 'release']),
        }),
        headers: z.looseObject({
          'idempotency-key': z
            .string()
            .regex(/^[A-Za-z0-9._:@-]{1,200}$/)
            .optional(),
        }),
        body: z
          .object({
            gpu: z
              .string()
              .min(1)
              .max(200)
              .optional()
              .describe("the faulty GPU (device id) the label names; default: the incident's device"),
            alertId: z.string().min(1).max(300).optional().describe('incident to record the action on (its timeline and page)'),
            by: z.string().min(1).max(200).optional().describe('acting for someone else (needs act-as)'),
            reason: z.string().max(500).optional(),
            force: z.boolean().optional().describe('drain: delete pods a PodDisruptionBudget still protects at the timeout'),
            timeoutS: z.number().int().min(5).max(86_400).optional().describe('drain: how long blocked evictions are retried'),
          })
          .optional(),
        response: { 200: started, 202: started, 403: problemSchema, 404: problemSchema, 503: problemSchema },
      },
    },
    async (req, reply) => {
      const svc = ctx.services.remediation;
      if (!svc) return reply.code(503).send(unavailable);
      const body = req.body ?? {};
      const who = actingIdentity(req.apiKey!, body.by);
      if (!who.ok) return reply.code(403).send({ error: 'forbidden', message: who.message });
      let gpu = body.gpu;
      let key = req.headers['idempotency-key'] ?? `api-${req.id}-${Date.now()}`;
      if (body.alertId) {
        const inc = await svc.forAlert(body.alertId);
        if (!inc) return reply.code(404).send({ error: 'not_found', message: `no alert ${body.alertId}` });
        gpu ??= inc.gpu;
        if (!req.headers['idempotency-key']) key = inc.episode;
      }
      const res = await svc.request(
        {
          action: req.params.action,
          node: req.params.node,
          gpu,
          alertId: body.alertId,
          by: who.by,
          via: 'api',
          reason: body.reason,
          force: body.force,
          drainTimeoutS: body.timeoutS,
        },
        key,
        req.params.action === 'drain' ? 0 : REMEDIATION_ANSWER_MS,
      );
      return reply.code(res.record ? 200 : 202).send({ workflowId: res.workflowId, running: !res.record, record: res.record });
    },
  );

  r.get(
    '/v1/remediations/:id',
    {
      preHandler: requireScope(ctx.keys, 'read'),
      schema: {
        summary: "A remediation's record: progress while it runs (drain passes, blocked pods), the result once done",
        tags: ['remediation'],
        params: z.object({ id: z.string().min(1).max(900) }),
        response: { 200: z.object({ running: z.boolean(), record }), 404: problemSchema, 503: problemSchema },
      },
    },
    async (req, reply) => {
      const svc = ctx.services.remediation;
      if (!svc) return reply.code(503).send(unavailable);
      const got = await svc.get(req.params.id);
      if (!got) return reply.code(404).send({ error: 'not_found', message: `no remediation ${req.params.id}` });
      return got;
    },
  );
};

/** POST /v1/telemetry: JSON (zod) or line protocol → JetStream, 202 with counts. */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { PointTooLargeError, PublishError, StreamFullError } from '../../lib/stream/publisher.ts';
import { requireScope } from '../auth.ts';
import { bodyToPoints, LineProtocolError, parseLineProtocol, telemetryBodySchema, timestampIssues } from '../ingest-schema.ts';
import { TimeRange } from '../../lib/parse/index.ts';
import type { RouteContext } from '../app.ts';
import type { Point } from '../../lib/point.ts';

const accepted = z.object({ accepted: z.number(), batches: z.number(), duplicates: z.number(), batchId: z.string() });
/** Bodies refused with 400 (nothing of them published), by format. */
export const ingestRefused = new Counter({
  name: 'telemetry_api_ingest_refused_total',
  help: 'POST /v1/telemetry bodies refused with 400 (invalid point, control character in a tag, timestamp outside the window), by format (json, line_protocol)',
  labelNames: ['format'] as const,
});

const problem = z.object({ error: z.string(), message: z.string(), issues: z.any().optional() });

export const telemetryRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/telemetry',
    {
      preHandler: requireScope(ctx.keys, 'ingest'),
      // Validation happens in the handler so JSON and line protocol report errors the same way.
      validatorCompiler: () => (value) => ({ value }),
      schema: {
        summary: 'Ingest GPU telemetry (JSON or InfluxDB line protocol as text/plain)',
        tags: ['ingest'],
        body: telemetryBodySchema,
        response: { 202: accepted, 400: problem, 413: problem, 429: problem, 503: problem },
      },
    },
    async (req, reply) => {
      let points: Point[];
      let batchId: string | undefined;
      const ctype = String(req.headers['content-type'] ?? '');
      // Per request: the upper bound is relative to now.
      const range = new TimeRange(ctx.timeRange);
      if (ctype.startsWith('text/plain')) {
        try {
          points = parseLineProtocol(String(req.body ?? ''), range);
        } catch (err) {
          if (!(err instanceof LineProtocolError)) throw err;
          ingestRefused.inc({ format: 'line_protocol' });
          return reply.code(400).send({ error: 'bad_request', message: err.message, issues: [{ line: err.line, message: err.reason }] });
        }
      } else {
        const parsed = telemetryBodySchema.safeParse(req.body);
        if (!parsed.success) {
          const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
          ingestRefused.inc({ format: 'json' });
          return reply.code(400).send({
            error: 'bad_request',
            message: issues.map((i) => `${i.path || '(body)'}: ${i.message}`).slice(0, 5).join('; '),
            issues,
          });
        }
        points = bodyToPoints(parsed.data);
        // A point InfluxDB cannot store would dead-letter its whole batch later: refuse the body now.
        const issues = timestampIssues(points, range);
        if (issues.length > 0) {
          ingestRefused.inc({ format: 'json' });
          return reply.code(400).send({
            error: 'bad_request',
            message: issues.map((i) => `${i.path}: ${i.message}`).slice(0, 5).join('; '),
            issues,
          });
        }
        batchId = parsed.data.batchId;
      }
      // Without a client batch id, the body's digest stands in: an identical retry is deduplicated.
      const origin = `h:${batchId ?? createHash('sha256').update(JSON.stringify(points)).digest('hex').slice(0, 32)}`;
      try {
        const r = await ctx.services.telemetry.publish(origin, points);
        return reply.code(202).send({ accepted: points.length, batches: r.batches, duplicates: r.duplicates, batchId: origin });
      } catch (err) {
        if (err instanceof StreamFullError)
          return reply
            .code(429)
            .header('retry-after', String(err.retryAfterS))
            .send({ error: 'stream_full', message: 'the telemetry stream is full; retry later with the same batchId' });
        if (err instanceof PublishError)
          return reply
            .code(503)
            .header('retry-after', '5')
            .send({ error: 'stream_unavailable', message: 'the telemetry stream is unavailable; retry later with the same batchId' });
        // Larger bodies are split into several messages; only a point that alone exceeds one cannot be sent.
        if (err instanceof PointTooLargeError) return reply.code(413).send({ error: 'point_too_large', message: err.message });
        throw err;
      }
    },
  );
};

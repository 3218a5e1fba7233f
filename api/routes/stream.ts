/**
 * GET /v1/stream: live telemetry as Server-Sent Events. The event id is the
 * JetStream sequence of the batch, so a client reconnecting with
 * `Last-Event-ID` resumes exactly after the last batch it saw.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireScope } from '../auth.ts';
import type { RouteContext } from '../app.ts';
import type { Point } from '../../lib/point.ts';

const query = z.object({
  device: z.string().optional().describe('comma-separated device ids'),
  field: z.string().optional().describe('comma-separated field names to keep'),
  lastEventId: z.coerce.number().int().nonnegative().optional().describe('resume after this event id (same as Last-Event-ID)'),
});

export function filterPoints(points: Point[], devices?: Set<string>, fields?: Set<string>): Point[] {
  const out: Point[] = [];
  for (const p of points) {
    if (devices && !devices.has(p.device)) continue;
    if (!fields) {
      out.push(p);
      continue;
    }
    const f: Record<string, number> = {};
    let any = false;
    for (const k of fields)
      if (k in p.fields) {
        f[k] = p.fields[k]!;
        any = true;
      }
    if (any) out.push({ ...p, fields: f });
  }
  return out;
}

export const streamRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/stream',
    {
      preHandler: requireScope(ctx.keys, 'read'),
      schema: { summary: 'Live telemetry (Server-Sent Events)', tags: ['query'], querystring: query },
    },
    async (req, reply) => {
      const devices = req.query.device ? new Set(req.query.device.split(',')) : undefined;
      const fields = req.query.field ? new Set(req.query.field.split(',')) : undefined;
      const header = req.headers['last-event-id'];
      const resume = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : req.query.lastEventId;

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'access-control-allow-origin': String(reply.getHeader('access-control-allow-origin') ?? ''),
      });
      res.write(`retry: 2000\n: connected${resume !== undefined ? `, resuming after ${resume}` : ''}\n\n`);
      const heartbeat = setInterval(() => res.write(`: heartbeat ${Date.now()}\n\n`), ctx.heartbeatMs);
      let unsubscribe: (() => Promise<void>) | undefined;
      const close = async () => {
        clearInterval(heartbeat);
        await unsubscribe?.().catch(() => {});
      };
      req.raw.on('close', () => void close());
      try {
        unsubscribe = await ctx.services.live.subscribe(resume, (seq, points) => {
          const kept = filterPoints(points, devices, fields);
          // The id advances even when nothing matched, so a resume does not replay filtered-out batches.
          res.write(kept.length ? `id: ${seq}\nevent: points\ndata: ${JSON.stringify(kept)}\n\n` : `id: ${seq}\n: no matching points\n\n`);
        });
        if (res.destroyed) await close();
      } catch (err) {
        req.log.error({ err }, 'SSE subscription failed');
        res.write(`event: error\ndata: ${JSON.stringify({ message: 'stream unavailable' })}\n\n`);
        await close();
        res.end();
      }
    },
  );
};

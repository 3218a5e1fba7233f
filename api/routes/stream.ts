/**
 * GET /v1/stream: live telemetry as Server-Sent Events. The event id is the
 * JetStream sequence of the batch, so a client reconnecting with
 * `Last-Event-ID` resumes exactly after the last batch it saw.
 */
import type { OutgoingHttpHeaders } from 'node:http';
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
  // An SSE response never ends by itself: end them all when the server closes, or app.close() (SIGTERM) waits forever.
  const open = new Set<() => Promise<void>>();
  app.addHook('preClose', async () => {
    await Promise.all([...open].map((end) => end()));
  });
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
        // Hijacked: keep what the hooks already set (CORS allow-origin and vary, rate-limit headers), never an empty allow-origin.
        ...(reply.getHeaders() as OutgoingHttpHeaders),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 2000\n: connected${resume !== undefined ? `, resuming after ${resume}` : ''}\n\n`);
      const heartbeat = setInterval(() => res.write(`: heartbeat ${Date.now()}\n\n`), ctx.heartbeatMs);
      let unsubscribe: (() => Promise<void>) | undefined;
      let closed = false;
      const close = async () => {
        closed = true;
        open.delete(end);
        clearInterval(heartbeat);
        await unsubscribe?.().catch(() => {});
      };
      // Unsubscribe before end(): a write after end() is an unhandled 'error' on the response.
      const end = async () => {
        await close();
        res.end();
      };
      open.add(end);
      req.raw.on('close', () => void close());
      try {
        unsubscribe = await ctx.services.live.subscribe(resume, (seq, points) => {
          const kept = filterPoints(points, devices, fields);
          // The id advances even when nothing matched, so a resume does not replay filtered-out batches.
          res.write(kept.length ? `id: ${seq}\nevent: points\ndata: ${JSON.stringify(kept)}\n\n` : `id: ${seq}\n: no matching points\n\n`);
        });
        // Closed (client gone or server closing) while subscribing: let go of the new subscription too.
        if (closed || res.destroyed) await close();
      } catch (err) {
        req.log.error({ err }, 'SSE subscription failed');
        res.write(`event: error\ndata: ${JSON.stringify({ message: 'stream unavailable' })}\n\n`);
        await close();
        res.end();
      }
    },
  );
};

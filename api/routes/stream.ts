/**
 * GET /v1/stream: live telemetry as Server-Sent Events. The event id is the
 * JetStream sequence of the batch, so a client reconnecting with
 * `Last-Event-ID` resumes exactly after the last batch it saw.
 *
 * Invariant: one client can cost the API at most `maxBufferBytes` of memory
 * and one connection slot. Backpressure is honoured (heartbeats pause while
 * `write()` reports a full socket); a client whose queue passes the buffer
 * cap, or that does not drain for `stallMs`, is dropped — never buffered
 * without limit — and loses nothing: it reconnects with Last-Event-ID.
 * Connections are capped per key and in total (429 beyond), and a resume may
 * reach back at most `resumeWindow` messages (older → a `gap` event first).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireScope } from '../auth.ts';
import type { RouteContext } from '../app.ts';
import type { Point } from '../../lib/point.ts';
import { Counter, Gauge } from 'prom-client';
import { problemSchema } from '../openapi-responses.ts';

/** Stream limits (SSE_* config keys). */
export interface SseLimits {
  maxConnections: number;
  maxPerKey: number;
  resumeWindow: number;
  maxBufferBytes: number;
  stallMs: number;
}

export const DEFAULT_SSE_LIMITS: SseLimits = {
  maxConnections: 200,
  maxPerKey: 10,
  resumeWindow: 10_000,
  maxBufferBytes: 1024 * 1024,
  stallMs: 30_000,
};

const sseMetrics = {
  open: new Gauge({ name: 'telemetry_api_sse_connections', help: 'Open /v1/stream connections' }),
  refused: new Counter({
    name: 'telemetry_api_sse_refused_total',
    help: '/v1/stream connections refused with 429, by cap (global, per_key)',
    labelNames: ['cap'],
  }),
  dropped: new Counter({
    name: 'telemetry_api_sse_dropped_total',
    help: 'SSE clients dropped for not reading, by reason (buffer: queue over SSE_MAX_BUFFER_BYTES, stalled: no drain for SSE_STALL_MS)',
    labelNames: ['reason'],
  }),
};

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
  const limits = { ...DEFAULT_SSE_LIMITS, ...ctx.sse };
  // An SSE response never ends by itself: end them all when the server closes, or app.close() (SIGTERM) waits forever.
  const open = new Set<() => Promise<void>>();
  /** Open connections per key label (entries removed at zero: bounded by the number of keys). */
  const perKey = new Map<string, number>();
  app.addHook('preClose', async () => {
    await Promise.all([...open].map((end) => end()));
  });
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/stream',
    {
      preHandler: requireScope(ctx.keys, 'read'),
      schema: {
        summary: 'Live telemetry (Server-Sent Events)',
        description: 'Capped per key and in total (429 beyond); a client that stops reading is dropped and resumes with Last-Event-ID.',
        tags: ['query'],
        querystring: query,
        response: { 200: z.string().describe('text/event-stream'), 429: problemSchema },
      },
    },
    async (req, reply) => {
      const devices = req.query.device ? new Set(req.query.device.split(',')) : undefined;
      const fields = req.query.field ? new Set(req.query.field.split(',')) : undefined;
      const header = req.headers['last-event-id'];
      let resume = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : req.query.lastEventId;

      const bucket = req.apiKey!.label;
      if (open.size >= limits.maxConnections || (perKey.get(bucket) ?? 0) >= limits.maxPerKey) {
        const cap = open.size >= limits.maxConnections ? 'global' : 'per_key';
        sseMetrics.refused.inc({ cap });
        return reply
          .code(429)
          .header('retry-after', '5')
          .send({
            error: 'too_many_streams',
            message:
              cap === 'global'
                ? `the API serves at most ${limits.maxConnections} streams; retry later`
                : `this key has ${limits.maxPerKey} streams open (the most allowed); close one first`,
          });
      }
      // A resume older than the window would replay the stream's whole history into one socket.
      let gap: { requested: number; resumedAfter: number } | undefined;
      if (resume !== undefined && ctx.services.live.headSeq) {
        const head = await ctx.services.live.headSeq();
        const oldest = Math.max(0, head - limits.resumeWindow);
        if (resume < oldest) {
          gap = { requested: resume, resumedAfter: oldest };
          resume = oldest;
        }
      }

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
      perKey.set(bucket, (perKey.get(bucket) ?? 0) + 1);
      sseMetrics.open.inc();
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const n = (perKey.get(bucket) ?? 1) - 1;
        if (n <= 0) perKey.delete(bucket);
        else perKey.set(bucket, n);
        sseMetrics.open.dec();
      };

      let congestedSinceMs: number | undefined;
      let dropped = false;
      const drop = (reason: 'buffer' | 'stalled') => {
        if (dropped) return;
        dropped = true;
        sseMetrics.dropped.inc({ reason });
        req.log.warn({ reason, queuedBytes: res.writableLength, key: bucket }, 'SSE client dropped: not reading');
        res.destroy();
      };
      /** Every write goes through here: a full socket starts the stall clock, an over-cap queue drops the client. */
      const send = (chunk: string) => {
        if (dropped || res.destroyed) return;
        if (!res.write(chunk)) congestedSinceMs ??= Date.now();
        if (res.writableLength > limits.maxBufferBytes) drop('buffer');
      };
      res.on('drain', () => {
        congestedSinceMs = undefined;
      });

      send(`retry: 2000\n: connected${resume !== undefined ? `, resuming after ${resume}` : ''}\n\n`);
      if (gap)
        send(`event: gap\ndata: ${JSON.stringify({ ...gap, message: `resume reaches back at most ${limits.resumeWindow} messages` })}\n\n`);
      // Heartbeats wait while the socket is full (backpressure); the same tick notices a stalled client.
      const heartbeat = setInterval(() => {
        if (congestedSinceMs === undefined) send(`: heartbeat ${Date.now()}\n\n`);
      }, ctx.heartbeatMs);
      const stallCheck = setInterval(
        () => {
          if (congestedSinceMs !== undefined && Date.now() - congestedSinceMs >= limits.stallMs) drop('stalled');
        },
        Math.min(1_000, limits.stallMs),
      );
      let unsubscribe: (() => Promise<void>) | undefined;
      let closed = false;
      const close = async () => {
        closed = true;
        open.delete(end);
        release();
        clearInterval(heartbeat);
        clearInterval(stallCheck);
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
          send(kept.length ? `id: ${seq}\nevent: points\ndata: ${JSON.stringify(kept)}\n\n` : `id: ${seq}\n: no matching points\n\n`);
        });
        // Closed (client gone or server closing) while subscribing: let go of the new subscription too.
        if (closed || res.destroyed) await close();
      } catch (err) {
        req.log.error({ err }, 'SSE subscription failed');
        send(`event: error\ndata: ${JSON.stringify({ message: 'stream unavailable' })}\n\n`);
        await close();
        res.end();
      }
    },
  );
};

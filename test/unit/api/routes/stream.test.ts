/**
 * GET /v1/stream over a real socket: `app.inject` cannot observe a hijacked,
 * never-ending response, and the close → unsubscribe path needs a real
 * client disconnect.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { filterPoints } from '../../../../api/routes/stream.ts';
import { auth, harness, KEYS, point, type Harness } from '../fakes.ts';

const HEARTBEAT_MS = 150;

interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comments: string[];
}

/** A connected SSE client that parses frames as they arrive. */
class SseClient {
  readonly frames: SseFrame[] = [];
  status = 0;
  headers = new Headers();
  private readonly ctl = new AbortController();
  private buf = '';
  private waiters: (() => void)[] = [];
  private done: Promise<void> | undefined;

  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const c = new SseClient();
    const res = await fetch(url, { headers, signal: c.ctl.signal });
    c.status = res.status;
    c.headers = res.headers;
    if (res.body) c.done = c.pump(res.body);
    return c;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    try {
      for await (const chunk of body) {
        this.buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = this.buf.indexOf('\n\n')) >= 0) {
          const raw = this.buf.slice(0, i);
          this.buf = this.buf.slice(i + 2);
          const f: SseFrame = { comments: [] };
          for (const line of raw.split('\n')) {
            if (line.startsWith(':')) f.comments.push(line.slice(1).trim());
            else {
              const j = line.indexOf(':');
              const k = line.slice(0, j);
              const v = line.slice(j + 1).replace(/^ /, '');
              if (k === 'id' || k === 'event' || k === 'data') f[k] = v;
            }
          }
          this.frames.push(f);
          for (const w of this.waiters.splice(0)) w();
        }
      }
    } catch {
      // aborted by close()
    }
  }

  get events(): { id: number; points: ReturnType<typeof point>[] }[] {
    return this.frames.filter((f) => f.event === 'points').map((f) => ({ id: Number(f.id), points: JSON.parse(f.data!) }));
  }

  async waitFor(pred: (c: SseClient) => boolean, ms = 2_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SSE: condition not met in ${ms} ms; frames: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, Math.min(left, 50));
      });
    }
  }

  async close(): Promise<void> {
    this.ctl.abort();
    await this.done;
  }
}

describe('GET /v1/stream (SSE over a socket)', () => {
  let h: Harness;
  let base: string;
  const clients: SseClient[] = [];
  const open = async (query = '', headers: Record<string, string> = {}) => {
    const c = await SseClient.open(`${base}/v1/stream${query}`, { ...auth(KEYS.read), ...headers });
    clients.push(c);
    return c;
  };
  /** Disconnect, then wait until the server has let go of the subscription (it learns of the close asynchronously). */
  const disconnect = async (c: SseClient) => {
    await c.close();
    await h.services.live.until(() => h.services.live.active === 0);
  };

  before(async () => {
    h = await harness({}, { heartbeatMs: HEARTBEAT_MS });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    // After an abort, fetch (undici) may leave a spare connection open that never carried a request; the server's
    // idle-connection sweep does not reach it, so close() would wait for undici's 4 s keep-alive. Not what is under test.
    h.app.server.closeAllConnections();
    await h.app.close();
  });

  test('without a key → 401 before anything is streamed', async () => {
    const res = await fetch(`${base}/v1/stream`);
    assert.equal(res.status, 401);
    assert.equal(h.services.live.subscribeCalls.length, 0);
  });

  test('batches arrive as `event: points` with id = seq, in order', async () => {
    const c = await open();
    assert.equal(c.status, 200);
    assert.match(String(c.headers.get('content-type')), /^text\/event-stream/);
    await h.services.live.until(() => h.services.live.active === 1);
    assert.deepEqual(h.services.live.subscribeCalls, [undefined]);

    const s1 = h.services.live.push([point('GPU-aaa', '1740830400000000000', { temperature_c: 41 })]);
    const s2 = h.services.live.push([point('GPU-bbb', '1740830400000000001', { power_w: 300 }, { host: 'node-01' })]);
    await c.waitFor((x) => x.events.length === 2);
    assert.deepEqual(c.events, [
      { id: s1, points: [point('GPU-aaa', '1740830400000000000', { temperature_c: 41 })] },
      { id: s2, points: [point('GPU-bbb', '1740830400000000001', { power_w: 300 }, { host: 'node-01' })] },
    ]);
    assert.equal(s2, s1 + 1);
    await disconnect(c);
  });

  test('device and field filters keep only matching points and fields; the id still advances', async () => {
    const c = await open('?device=GPU-aaa,GPU-ccc&field=temperature_c');
    await h.services.live.until(() => h.services.live.active === 1);
    const sNone = h.services.live.push([point('GPU-bbb', '1', { temperature_c: 50 })]);
    const sMatch = h.services.live.push([
      point('GPU-aaa', '2', { temperature_c: 42, power_w: 301 }),
      point('GPU-bbb', '2', { temperature_c: 51 }),
      point('GPU-ccc', '2', { power_w: 10 }), // right device, no wanted field
    ]);
    await c.waitFor((x) => x.events.length === 1);
    assert.deepEqual(c.events, [{ id: sMatch, points: [point('GPU-aaa', '2', { temperature_c: 42 })] }]);
    // The filtered-out batch still moved the client's last event id, so a resume does not replay it.
    const skipped = c.frames.find((f) => f.id === String(sNone));
    assert.ok(skipped && skipped.event === undefined, JSON.stringify(c.frames));
    await disconnect(c);
  });

  test('CORS: an allowed origin gets its access-control-allow-origin; another origin gets none', async () => {
    const ok = await open('', { origin: 'http://localhost:3000' });
    await disconnect(ok);
    const evil = await open('', { origin: 'https://evil.example.test' });
    await disconnect(evil);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    // The answer depends on Origin: shared caches must know.
    assert.match(String(ok.headers.get('vary')), /origin/i);
    assert.equal(evil.status, 200);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  });

  test('a heartbeat comment arrives within heartbeatMs', async () => {
    const c = await open();
    const t0 = Date.now();
    await c.waitFor((x) => x.frames.some((f) => f.comments.some((m) => m.startsWith('heartbeat'))), HEARTBEAT_MS * 4);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < HEARTBEAT_MS * 3, `first heartbeat after ${elapsed} ms`);
    await disconnect(c);
  });

  test('Last-Event-ID: N resumes with afterSeq N; the replay starts at N+1', async () => {
    const seqs = [1, 2, 3].map((i) => h.services.live.push([point('GPU-ddd', String(i), { power_w: i })]));
    const n = seqs[0]!;
    const calls = h.services.live.subscribeCalls.length;
    const c = await open('', { 'last-event-id': String(n) });
    await c.waitFor((x) => x.events.length === 2);
    assert.equal(h.services.live.subscribeCalls[calls], n);
    assert.deepEqual(
      c.events.map((e) => e.id),
      [n + 1, n + 2],
    );
    assert.ok(c.frames[0]!.comments.some((m) => m.includes(`resuming after ${n}`)));
    await disconnect(c);

    // The query-string form (for EventSource polyfills that cannot set headers) does the same.
    const q = await open(`?lastEventId=${n + 1}`);
    await q.waitFor((x) => x.events.length === 1);
    assert.equal(h.services.live.subscribeCalls.at(-1), n + 1);
    assert.deepEqual(q.events.map((e) => e.id), [n + 2]);
    await disconnect(q);
  });

  test('closing the client calls the unsubscribe function and stops heartbeats', async () => {
    const before = h.services.live.unsubscribed;
    const c = await open();
    await h.services.live.until(() => h.services.live.active === 1);
    // Still subscribed after a few heartbeats: the stream is not torn down by itself.
    await c.waitFor((x) => x.frames.filter((f) => f.comments.some((m) => m.startsWith('heartbeat'))).length >= 2);
    assert.equal(h.services.live.active, 1);
    assert.equal(h.services.live.unsubscribed, before);
    await c.close();
    await h.services.live.until(() => h.services.live.unsubscribed === before + 1);
    assert.equal(h.services.live.active, 0);
  });

  test('a subscription failure ends the stream with an error event and no internals', async () => {
    const live = h.services.live;
    const orig = live.subscribe.bind(live);
    live.subscribe = async () => {
      throw new Error('JetStream consumer create failed: nats://10.1.2.3:4222');
    };
    try {
      const res = await fetch(`${base}/v1/stream`, { headers: auth(KEYS.read), signal: AbortSignal.timeout(2_000) });
      const text = await res.text(); // the server ends the response
      assert.match(text, /event: error\ndata: \{"message":"stream unavailable"\}/);
      assert.ok(!text.includes('10.1.2.3'));
    } finally {
      live.subscribe = orig;
    }
  });
});

describe('GET /v1/stream and shutdown', () => {
  // api/server.ts closes the app on SIGTERM; a connected dashboard must not hold that up forever.
  test('app.close() with a client still connected ends the stream and unsubscribes', async () => {
    const h = await harness({}, { heartbeatMs: HEARTBEAT_MS });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/v1/stream`;
    const c = await SseClient.open(url, auth(KEYS.read));
    try {
      await h.services.live.until(() => h.services.live.active === 1);
      const closing = h.app.close().then(() => 'closed' as const);
      const outcome = await Promise.race([closing, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 1_500).unref())]);
      assert.equal(outcome, 'closed', 'app.close() did not finish within 1.5 s while an SSE client was connected');
      assert.equal(h.services.live.active, 0);
    } finally {
      // Let a hung close() finish so the runner can exit.
      await c.close();
      await h.app.close();
    }
  });
});

describe('filterPoints', () => {
  const pts = [point('a', '1', { x: 1, y: 2 }), point('b', '1', { y: 3 })];
  test('no filter keeps everything; unknown fields drop the point', () => {
    assert.deepEqual(filterPoints(pts), pts);
    assert.deepEqual(filterPoints(pts, undefined, new Set(['z'])), []);
    assert.deepEqual(filterPoints(pts, new Set(['b']), new Set(['x', 'y'])), [point('b', '1', { y: 3 })]);
  });
});

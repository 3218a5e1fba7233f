/**
 * /v1/stream limits over a real socket (app.inject cannot stall a reader):
 * per-key and global caps → 429, a reader that stops is dropped with the
 * queue it cost bounded, a resume older than the window starts at the
 * window with a `gap` event.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { harness, KEYS, point, type Harness } from '../fakes.ts';

const BUFFER = 32 * 1024;

describe('SSE limits', () => {
  let h: Harness;
  let port: number;
  before(async () => {
    h = await harness(
      { SSE_MAX_PER_KEY: 2, SSE_MAX_CONNECTIONS: 3, SSE_MAX_BUFFER_BYTES: BUFFER, SSE_STALL_MS: 1_000, SSE_RESUME_WINDOW: 5 },
      { heartbeatMs: 200 },
    );
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as { port: number }).port;
  });
  after(() => h.app.close());

  const open = async (key: string, extra = ''): Promise<{ sock: Socket; head: Promise<string> }> => {
    const sock = connect({ host: '127.0.0.1', port });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.on('error', () => {});
    let buf = '';
    const head = new Promise<string>((resolve) => {
      const on = (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\r\n\r\n')) {
          sock.off('data', on);
          resolve(buf);
        }
      };
      sock.on('data', on);
    });
    sock.write(`GET /v1/stream HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\n${extra}\r\n`);
    return { sock, head };
  };

  test('caps: per key, then in total → 429 with Retry-After; slots come back on close', async () => {
    const a = await open(KEYS.read);
    const b = await open(KEYS.read);
    assert.match(await a.head, /^HTTP\/1.1 200/);
    assert.match(await b.head, /^HTTP\/1.1 200/);
    const c = await open(KEYS.read);
    const ch = await c.head;
    assert.match(ch, /^HTTP\/1.1 429/);
    assert.match(ch, /retry-after: 5/i);
    const d = await open(KEYS.readAck);
    assert.match(await d.head, /^HTTP\/1.1 200/);
    const e = await open(KEYS.admin);
    assert.match(await e.head, /^HTTP\/1.1 429/, 'global cap of 3');
    for (const x of [a, b, c, d, e]) x.sock.destroy();
    await h.services.live.until(() => h.services.live.active === 0, 5_000);
    const again = await open(KEYS.read);
    assert.match(await again.head, /^HTTP\/1.1 200/);
    again.sock.destroy();
    await h.services.live.until(() => h.services.live.active === 0, 5_000);
  });

  test('a reader that stops is dropped once its queue passes the cap; it never holds more', async () => {
    const { sock, head } = await open(KEYS.read);
    await head;
    sock.pause();
    let closed = false;
    sock.on('close', () => (closed = true));
    await h.services.live.until(() => h.services.live.active === 1, 5_000);
    // ~40 KB per batch: the socket buffers fill, then the API's own queue; it must give up, not grow.
    const big = Array.from({ length: 400 }, (_, i) =>
      point(`GPU-${i}`, String(1_000 + i), { temperature_c: 40.123456789, power_w: 300.987654321 }),
    );
    for (let i = 0; i < 2_000 && !closed && h.services.live.active > 0; i++) {
      h.services.live.push(big);
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    await h.services.live.until(() => h.services.live.active === 0, 10_000);
    const text = await (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(text, /telemetry_api_sse_dropped_total\{reason="(buffer|stalled)"\} [1-9]/);
    sock.destroy();
  });

  test('a resume older than the window starts at the window with a gap event', async () => {
    for (let i = 0; i < 10; i++) h.services.live.push([point('GPU-r', String(5_000 + i), { temperature_c: i })]);
    const head = await h.services.live.headSeq!();
    const { sock, head: h0 } = await open(KEYS.read, 'Last-Event-ID: 1\r\n');
    let text = await h0;
    await new Promise<void>((resolve) => {
      if (text.includes(`id: ${head}\n`)) resolve();
      sock.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes(`id: ${head}\n`)) resolve();
      });
    });
    assert.match(text, /event: gap\ndata: \{"requested":1,"resumedAfter":\d+/);
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(ids[0], head - 5 + 1, 'first event right after the window start');
    sock.destroy();
  });
});

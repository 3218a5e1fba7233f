import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pollDcgm, scrapeDcgm, ScrapeError } from '../../../lib/parse/index.ts';
import { fixture } from './helpers.ts';

describe('scrapeDcgm / pollDcgm against a local HTTP server', () => {
  let server: Server;
  let base = '';
  let hits = 0;
  before(async () => {
    const body = fixture('real/k8s-ai-conformance__kops__L4.prom');
    server = createServer((req, res) => {
      if (req.url === '/metrics') {
        hits++;
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-x"} 40\n'), 2000).unref();
      } else res.writeHead(500).end('boom');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('one scrape: scrape time is the timestamp of untimestamped samples', async () => {
    const { points, summary } = await scrapeDcgm(`${base}/metrics`, { now: () => 1_700_000_000_000 });
    assert.equal(summary.format, 'dcgm');
    assert.equal(summary.file, `${base}/metrics`);
    assert.equal(points.length, 1);
    assert.equal(points[0]!.ts, '1700000000000000000');
    assert.equal(points[0]!.fields.temperature_c, 31);
  });

  test('HTTP errors and timeouts are ScrapeErrors', async () => {
    await assert.rejects(scrapeDcgm(`${base}/nope`), (err: unknown) => err instanceof ScrapeError && err.status === 500);
    await assert.rejects(scrapeDcgm(`${base}/slow`, { timeoutMs: 100 }), ScrapeError);
  });

  test('pollDcgm yields one result per interval until aborted, and survives failures', async () => {
    const ac = new AbortController();
    const got: Array<{ ok: boolean }> = [];
    const start = hits;
    for await (const r of pollDcgm(`${base}/metrics`, 40, ac.signal)) {
      got.push({ ok: r.result !== undefined && r.result.points.length === 1 });
      if (got.length === 3) ac.abort();
    }
    assert.deepEqual(got, [{ ok: true }, { ok: true }, { ok: true }]);
    assert.equal(hits - start, 3);
    const errs: boolean[] = [];
    const ac2 = new AbortController();
    for await (const r of pollDcgm(`${base}/bad`, 20, ac2.signal)) {
      errs.push(r.error instanceof ScrapeError);
      if (errs.length === 2) ac2.abort();
    }
    assert.deepEqual(errs, [true, true]);
  });
});

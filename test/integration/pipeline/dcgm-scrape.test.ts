/**
 * Issue 3: DCGM-exporter text as a periodic scrape of a /metrics URL:
 * `telemetry-stack scrape URL` polls a local exporter (serving a real L4
 * scrape) and every scrape becomes one stored point per GPU per scrape time.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { REPO, runCliAsync, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { readerFor, waitForCount } from '../../support/pipeline.ts';

let s: TestStack;
let worker: ChildHandle | undefined;
let exporter: Server;
let url: string;
let hits = 0;

before(async () => {
  s = await startTestStack({ env: { HEALTH_BACKEND: 'off' } });
  const body = readFileSync(join(REPO, 'test/fixtures/parse/real/k8s-ai-conformance__kops__L4.prom'));
  exporter = createServer((req, res) => {
    hits++;
    res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
  await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
  const addr = exporter.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/metrics`;
  worker = startCollectWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');
});
after(async () => {
  exporter?.close();
  await worker?.stop();
  await s?.stop();
});

test('scrape polls the exporter and stores one point per GPU per scrape', async () => {
  const r = await runCliAsync(['scrape', url, '--interval', '1100', '--count', '3', '--json'], s.env);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.json, { scrapes: 3, points: 3, errors: 0 });
  assert.equal(hits, 3);
  assert.equal(await waitForCount(s, 3, 60_000), 3);
  const devices = await readerFor(s).devices();
  assert.deepEqual(devices.map((d) => d.device), ['GPU-c2f76b33-7953-256e-8f33-1343419b1a1c']);
  assert.equal(devices[0]!.tags.model, 'NVIDIA L4');
  const temps = await readerFor(s).series({ device: devices[0]!.device, field: 'temperature_c' });
  assert.deepEqual(temps.map((t) => t.value), [31, 31, 31]);
});

test('an unreachable exporter is reported per scrape and the command exits non-zero', async () => {
  const r = await runCliAsync(['scrape', 'http://127.0.0.1:9/metrics', '--interval', '200', '--count', '2', '--json'], s.env);
  assert.notEqual(r.status, 0);
  assert.deepEqual(r.json, { scrapes: 2, points: 0, errors: 2 });
  assert.match(r.stderr, /scrape failed/);
});

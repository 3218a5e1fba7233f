/** The CLI's REST requests for `silence add|end` (cli/api-client.ts buildSilenceRequest), and what a silence call sends over a real socket. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { ApiCallError, buildSilenceRequest, callApi, type ApiTarget } from '../../../cli/api-client.ts';

describe('buildSilenceRequest', () => {
  test('add without --by sends no `by` (the API records the key) and only the matchers given', () => {
    assert.deepEqual(buildSilenceRequest({ op: 'add', matchers: { device: 'GPU-1', host: undefined, rule: undefined }, for: '2h', reason: 'firmware', onEnd: 'resume' }), {
      method: 'POST',
      path: '/v1/silences',
      body: { matchers: { device: 'GPU-1' }, for: '2h', reason: 'firmware', onEnd: 'resume' },
      checkWith: 'telemetry-stack silence list',
    });
  });
  test('--by, --start and --on-end map to the body fields the API validates', () => {
    const r = buildSilenceRequest({ op: 'add', matchers: { rule: 'gpu-temp-*', host: 'node-2' }, for: '30m', reason: 'rack move', startsAt: '2026-12-02T08:00:00+01:00', onEnd: 'resolve', by: 'alice' });
    assert.deepEqual(r.body, { matchers: { rule: 'gpu-temp-*', host: 'node-2' }, for: '30m', reason: 'rack move', startsAt: '2026-12-02T08:00:00+01:00', onEnd: 'resolve', by: 'alice' });
  });
  test('no matcher is sent as an empty object: the API (one schema) names the problem, not the CLI', () => {
    assert.deepEqual(buildSilenceRequest({ op: 'add', matchers: {}, for: '2h', reason: 'x' }).body, { matchers: {}, for: '2h', reason: 'x' });
  });
  test('end: the id is path-encoded; reason and by only when given', () => {
    assert.deepEqual(buildSilenceRequest({ op: 'end', id: 'sil-abc-01' }), { method: 'POST', path: '/v1/silences/sil-abc-01/end', body: {}, checkWith: 'telemetry-stack silence list' });
    assert.equal(buildSilenceRequest({ op: 'end', id: 'a/b?c' }).path, '/v1/silences/a%2Fb%3Fc/end');
    assert.deepEqual(buildSilenceRequest({ op: 'end', id: 'x', by: 'bob', reason: 'done early' }).body, { by: 'bob', reason: 'done early' });
  });
});

describe('a silence call over a real socket', () => {
  let server: Server;
  let base: string;
  const seen: { path?: string; key?: string; type?: string; body?: string }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ path: req.url, key: req.headers['x-api-key'] as string, type: req.headers['content-type'], body });
        if (req.url === '/v1/silences') return res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ silence: { id: 'sil-1', created: { by: 'key:ops' } }, signalled: 2 }));
        if (req.url === '/v1/silences/hang/end') return; // never answers
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found","message":"no silence sil-nope"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const target = (over: Partial<ApiTarget> = {}): ApiTarget => ({ url: base, key: 'the-key-0123456789', keySource: 'TELEMETRY_API_KEY', timeoutMs: 5_000, ...over });

  test('add: the key as X-API-Key, nested matchers as JSON; the answer is the API\'s', async () => {
    const r = await callApi<{ silence: { created: { by: string } }; signalled: number }>(target(), buildSilenceRequest({ op: 'add', matchers: { device: 'GPU-7' }, for: '1h', reason: 'reseat' }));
    assert.deepEqual([r.status, r.body.silence.created.by, r.body.signalled], [201, 'key:ops', 2]);
    const last = seen.at(-1)!;
    assert.deepEqual([last.path, last.key, last.type, JSON.parse(last.body!)], ['/v1/silences', 'the-key-0123456789', 'application/json', { matchers: { device: 'GPU-7' }, for: '1h', reason: 'reseat' }]);
  });
  test('end of an unknown silence → not_found, exit 5, with the API\'s message', async () => {
    const e = await callApi(target(), buildSilenceRequest({ op: 'end', id: 'sil-nope' })).catch((x: unknown) => x);
    assert.ok(e instanceof ApiCallError);
    assert.deepEqual([e.code, e.exitCode], ['not_found', 5]);
    assert.match(e.message, /not found \(404\): no silence sil-nope/);
  });
  test('no answer within the timeout → unavailable, pointing at `silence list` (not `alerts show`) to see whether it was applied', async () => {
    const e = await callApi(target({ timeoutMs: 300 }), buildSilenceRequest({ op: 'end', id: 'hang' })).catch((x: unknown) => x);
    assert.ok(e instanceof ApiCallError);
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, /may or may not have been taken: check with `telemetry-stack silence list`/);
  });
});

/** The CLI's REST client for alert actions: request building, key resolution, and API errors → messages and exit codes. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_CALL_ERRORS,
  ApiCallError,
  ApiKeyError,
  apiErrorFor,
  breakGlassIdentity,
  buildAlertRequest,
  callApi,
  describeAck,
  resolveApiTarget,
  type ApiTarget,
} from '../../../cli/api-client.ts';
import { loadConfig } from '../../../lib/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-api-client-'));
const cfgOf = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env });

describe('buildAlertRequest', () => {
  test('ack without --by sends no `by`: the API records the key', () => {
    assert.deepEqual(buildAlertRequest({ op: 'ack', id: 'alert-GPU-1-gpu-temp' }), { method: 'POST', path: '/v1/alerts/alert-GPU-1-gpu-temp/ack', body: {} });
  });
  test('--by becomes the body `by`; resolve carries its reason; the id is path-encoded', () => {
    assert.deepEqual(buildAlertRequest({ op: 'ack', id: 'a', by: 'alice' }).body, { by: 'alice' });
    assert.deepEqual(buildAlertRequest({ op: 'resolve', id: 'a/b?c', by: 'bob', reason: 'fan' }), {
      method: 'POST',
      path: '/v1/alerts/a%2Fb%3Fc/resolve',
      body: { by: 'bob', reason: 'fan' },
    });
    assert.deepEqual(buildAlertRequest({ op: 'snooze', id: 'a', duration: '30m' }), { method: 'POST', path: '/v1/alerts/a/snooze', body: { duration: '30m' } });
  });
});

describe('resolveApiTarget', () => {
  test('URL: --api-url, else TELEMETRY_API_URL, else the local API port (a wildcard listen address → 127.0.0.1)', () => {
    const key = { TELEMETRY_API_KEY: 'k-0123456789abc' };
    assert.equal(resolveApiTarget(cfgOf({ ...key, API_PORT: '9123', API_HOST: '0.0.0.0' })).url, 'http://127.0.0.1:9123');
    assert.equal(resolveApiTarget(cfgOf({ ...key, TELEMETRY_API_URL: 'https://api.example.com/' })).url, 'https://api.example.com');
    assert.equal(resolveApiTarget(cfgOf({ ...key, TELEMETRY_API_URL: 'https://a.example' }), { apiUrl: 'http://b.example:1' }).url, 'http://b.example:1');
    assert.throws(() => resolveApiTarget(cfgOf(key), { apiUrl: 'ftp://x' }), (e: unknown) => e instanceof ApiKeyError && /--api-url: expected an http\(s\) URL/.test(e.message));
  });
  test('key: --api-key-file, then TELEMETRY_API_KEY_FILE, then TELEMETRY_API_KEY (first line, trimmed)', () => {
    const f1 = join(dir, 'k1');
    const f2 = join(dir, 'k2');
    writeFileSync(f1, 'from-flag-0123456789\n# comment\n');
    writeFileSync(f2, '  from-env-file-0123456789  \n');
    const c = cfgOf({ TELEMETRY_API_KEY_FILE: f2, TELEMETRY_API_KEY: 'from-env-0123456789' });
    assert.equal(resolveApiTarget(c, { apiKeyFile: f1 }).key, 'from-flag-0123456789');
    assert.equal(resolveApiTarget(c).key, 'from-env-file-0123456789');
    assert.equal(resolveApiTarget(cfgOf({ TELEMETRY_API_KEY: 'from-env-0123456789' })).key, 'from-env-0123456789');
    assert.equal(resolveApiTarget(c).keySource, `TELEMETRY_API_KEY_FILE ${f2}`, 'the source is named, never the key');
  });
  test('a missing, short or (in production) development key file is refused, naming the file', () => {
    assert.throws(() => resolveApiTarget(cfgOf({}), { apiKeyFile: join(dir, 'nope') }), /--api-key-file .*nope: cannot read the API key \(ENOENT\)/);
    const short = join(dir, 'short');
    writeFileSync(short, 'abc\n');
    assert.throws(() => resolveApiTarget(cfgOf({}), { apiKeyFile: short }), /at least 12 characters/);
    const dev = join(dir, 'dev');
    writeFileSync(dev, 'dev-admin-key\n');
    const prod = loadConfig({ NODE_ENV: 'production', API_KEYS: 'a=prod-key-0123456789:read', SLACK_SIGNING_SECRET: 'prod-signing-secret', TELEMETRY_API_KEY_FILE: dev });
    assert.throws(() => resolveApiTarget(prod), /development key, not accepted in production/);
  });
  test('no key: the dev key only in development without API_KEYS; else a clear error', () => {
    const devCfg = loadConfig({ NODE_ENV: 'development' });
    assert.equal(resolveApiTarget(devCfg).key, 'dev-admin-key');
    assert.throws(() => resolveApiTarget(cfgOf({})), /no API key for the CLI: .*TELEMETRY_API_KEY_FILE/);
    assert.throws(() => resolveApiTarget(loadConfig({ NODE_ENV: 'development', API_KEYS: 'a=some-key-0123456789:ack' })), ApiKeyError);
  });
  test('config: TELEMETRY_API_KEY shorter than 12 and a bad TELEMETRY_API_URL are rejected by name; the dev key is refused in production', () => {
    assert.throws(() => cfgOf({ TELEMETRY_API_KEY: 'short' }), /TELEMETRY_API_KEY: an API key is at least 12 characters/);
    assert.throws(() => cfgOf({ TELEMETRY_API_URL: 'not a url' }), /TELEMETRY_API_URL/);
    assert.throws(() => cfgOf({ TELEMETRY_API_TIMEOUT_MS: '10' }), /TELEMETRY_API_TIMEOUT_MS/);
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production', API_KEYS: 'a=prod-key-0123456789:read', TELEMETRY_API_KEY: 'dev-admin-key' }),
      /TELEMETRY_API_KEY: a development default secret is not accepted in production/,
    );
  });
});

describe('apiErrorFor: every documented status → its code, exit code and a message saying what to do', () => {
  const ctx = { url: 'http://api', keySource: 'TELEMETRY_API_KEY_FILE /run/key' };
  const cases: [number, unknown, string | null, keyof typeof API_CALL_ERRORS, RegExp][] = [
    [400, { error: 'bad_request', message: 'body/duration: a duration like 30m or 1h' }, null, 'bad_request', /rejected the request \(400\): body\/duration/],
    [401, { error: 'unauthorized', message: 'missing or invalid API key' }, null, 'unauthorized', /does not accept the key from TELEMETRY_API_KEY_FILE \/run\/key \(401\)/],
    [403, { error: 'forbidden', message: 'this key acts as "key:oncall"; a body "by" (acting for someone else) needs the "act-as" scope' }, null, 'forbidden', /refused \(403\): .*"act-as"/],
    [404, { error: 'not_found', message: 'no alert alert-x' }, null, 'not_found', /not found \(404\): no alert alert-x/],
    [409, { error: 'alert_closed', message: 'alert a is closed (resolved)' }, null, 'conflict', /refused \(409\): alert a is closed/],
    [429, { error: 'rate_limited', message: 'too many requests' }, '12', 'rate_limited', /rate limited \(429\): retry in 12 s/],
    [503, { error: 'alert_unavailable', message: 'alerts worker down?; retrying is safe' }, '5', 'unavailable', /unavailable \(503\): alerts worker down\?.*retry in 5 s/],
    [502, undefined, null, 'unavailable', /unavailable \(502\)/],
    [500, { error: 'internal', message: 'internal error' }, null, 'api_error', /answered 500: internal error/],
  ];
  for (const [status, body, retryAfter, code, message] of cases)
    test(`${status} → ${code}`, () => {
      const e = apiErrorFor(status, body, { ...ctx, retryAfter });
      assert.ok(e instanceof ApiCallError);
      assert.deepEqual([e.code, e.status, e.exitCode], [code, status, API_CALL_ERRORS[code].exitCode]);
      assert.match(e.message, message);
    });
  test('exit codes are distinct per case (scripts branch on them); 0 is never an error', () => {
    const codes: number[] = Object.values(API_CALL_ERRORS).map((v) => v.exitCode);
    assert.equal(new Set(codes).size, codes.length);
    assert.ok(!codes.includes(0));
  });
});

describe('callApi over a real socket', () => {
  let server: Server;
  let base: string;
  const seen: { path?: string; key?: string; body?: string }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ path: req.url, key: req.headers['x-api-key'] as string, body });
        if (req.url === '/v1/alerts/ok/ack') return res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ receipt: null, chain: 'pending', by: 'key:oncall' }));
        if (req.url === '/v1/alerts/limited/ack') return res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"error":"rate_limited","message":"slow down"}');
        if (req.url === '/v1/alerts/proxy/ack') return res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
        if (req.url === '/v1/alerts/hang/ack') return; // never answers
        res.writeHead(404).end('{"error":"not_found","message":"no alert"}');
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

  test('sends the key as X-API-Key and the body as JSON; answers status and body', async () => {
    const r = await callApi<{ by: string; chain: string }>(target(), buildAlertRequest({ op: 'ack', id: 'ok', by: 'alice' }));
    assert.deepEqual([r.status, r.body.by, r.body.chain], [202, 'key:oncall', 'pending']);
    const last = seen.at(-1)!;
    assert.deepEqual([last.path, last.key, JSON.parse(last.body!)], ['/v1/alerts/ok/ack', 'the-key-0123456789', { by: 'alice' }]);
  });
  test('429 with Retry-After → rate_limited, exit 7', async () => {
    const e = await callApi(target(), buildAlertRequest({ op: 'ack', id: 'limited' })).catch((x: unknown) => x);
    assert.ok(e instanceof ApiCallError);
    assert.deepEqual([e.code, e.exitCode, e.retryAfterS], ['rate_limited', 7, 7]);
  });
  test('a non-JSON 502 from a proxy → unavailable by status alone', async () => {
    const e = await callApi(target(), buildAlertRequest({ op: 'ack', id: 'proxy' })).catch((x: unknown) => x);
    assert.ok(e instanceof ApiCallError);
    assert.deepEqual([e.code, e.status], ['unavailable', 502]);
    assert.doesNotMatch(e.message, /html/);
  });
  test('no answer within the timeout → unavailable, saying the outcome is unknown', async () => {
    const e = await callApi(target({ timeoutMs: 300 }), buildAlertRequest({ op: 'ack', id: 'hang' })).catch((x: unknown) => x);
    assert.ok(e instanceof ApiCallError);
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, /within 300 ms .*may or may not have been taken/);
  });
  test('connection refused → unreachable, exit 9, pointing at --direct', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const a = closed.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    await new Promise<void>((r) => closed.close(() => r()));
    const e = await callApi(target({ url: `http://127.0.0.1:${port}` }), buildAlertRequest({ op: 'ack', id: 'x' })).catch((x: unknown) => x);
    assert.ok(e instanceof ApiCallError);
    assert.deepEqual([e.code, e.exitCode], ['unreachable', 9]);
    assert.match(e.message, /cannot reach the API at .*ECONNREFUSED.*--direct/);
  });
});

describe('output', () => {
  test('describeAck names the identity and the chain state', () => {
    assert.equal(describeAck({ receipt: { txHash: '0xab', blockNumber: 7 }, chain: 'recorded', by: 'key:oncall' }), 'acknowledged as key:oncall; ledger tx 0xab in block 7');
    assert.match(describeAck({ receipt: null, chain: 'pending', by: 'key:oncall' }), /as key:oncall; the ledger write is pending/);
    assert.match(describeAck({ receipt: null, chain: 'none', by: 'key:oncall' }), /no ledger configured/);
  });
  test('break glass records the OS user and host, and a --by beside it', () => {
    assert.match(breakGlassIdentity(), /^cli:[^@]+@.+$/);
    assert.match(breakGlassIdentity('alice'), /^alice \(by cli:[^@]+@.+\)$/);
  });
});

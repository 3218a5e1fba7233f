import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { auth, harness, KEYS, type Harness } from './fakes.ts';

describe('rate limiting', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ RATE_LIMIT_PER_MIN: 3 });
  });
  after(() => h.app.close());

  test('/health, /ready and /metrics are never limited and do not use up a quota', async () => {
    for (let i = 0; i < 6; i++) {
      for (const url of ['/health', '/ready', '/metrics']) {
        const res = await h.app.inject({ method: 'GET', url, headers: auth(KEYS.read) });
        assert.equal(res.statusCode, 200, `${url} #${i + 1}`);
      }
    }
  });

  test('the 4th request of one key in a minute → 429 with retry-after; another key still passes', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(KEYS.read) });
      statuses.push(last.statusCode);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const retryAfter = Number(last!.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 60, `retry-after ${last!.headers['retry-after']}`);
    assert.equal(last!.headers['x-ratelimit-limit'], '3');

    // Bearer or X-API-Key: the bucket is the key, not the header it came in.
    const sameKeyBearer = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: { authorization: `Bearer ${KEYS.read}` } });
    assert.equal(sameKeyBearer.statusCode, 429);

    const other = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(KEYS.readAck) });
    assert.equal(other.statusCode, 200);
    assert.equal(other.headers['x-ratelimit-remaining'], '2');
  });

  test('the limited service is not called', async () => {
    const before = h.services.telemetry.calls.length;
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/telemetry',
      headers: auth(KEYS.read), // exhausted above
      payload: { points: [{ device: 'GPU-aaa', ts: '1', fields: { power_w: 1 } }] },
    });
    assert.equal(res.statusCode, 429);
    assert.equal(h.services.telemetry.calls.length, before);
  });
});

describe('CORS', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ CORS_ORIGINS: 'http://localhost:3000, https://console.example.test' });
  });
  after(() => h.app.close());

  const preflight = (origin: string) =>
    h.app.inject({
      method: 'OPTIONS',
      url: '/v1/telemetry',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
    });

  test('a preflight from an allowed origin is answered with that origin and the API headers', async () => {
    for (const origin of ['http://localhost:3000', 'https://console.example.test']) {
      const res = await preflight(origin);
      assert.ok(res.statusCode === 204 || res.statusCode === 200, String(res.statusCode));
      assert.equal(res.headers['access-control-allow-origin'], origin);
      assert.match(String(res.headers['access-control-allow-methods']), /POST/);
      assert.match(String(res.headers['access-control-allow-headers']), /x-api-key/);
    }
  });

  test('a disallowed origin gets no access-control-allow-origin', async () => {
    for (const origin of ['https://evil.example.test', 'http://localhost:3001', 'null']) {
      const res = await preflight(origin);
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
    }
  });

  test('a simple request from an allowed origin exposes retry-after to the browser', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: { origin: 'http://localhost:3000', ...auth(KEYS.read) } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'http://localhost:3000');
    assert.match(String(res.headers['access-control-expose-headers']), /retry-after/);
  });
});

describe('OpenAPI', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.app.close());

  test('GET /docs/json is an OpenAPI 3 document with the API paths and security schemes', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.match(doc.openapi, /^3\./);
    for (const p of ['/v1/telemetry', '/v1/alerts/{id}/ack', '/v1/devices/{id}/metrics', '/v1/stream', '/v1/alerts/{id}/audit'])
      assert.ok(p in doc.paths, `${p} in ${Object.keys(doc.paths).join(', ')}`);
    assert.ok(doc.paths['/v1/telemetry'].post, 'telemetry is a POST');
    assert.ok(doc.paths['/v1/alerts/{id}/ack'].post, 'ack is a POST');
    assert.deepEqual(doc.components.securitySchemes.apiKey, { type: 'apiKey', in: 'header', name: 'X-API-Key' });
    assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
    assert.ok(Array.isArray(doc.security) && doc.security.length > 0);
    // Operational endpoints are hidden from the public contract.
    assert.ok(!('/health' in doc.paths) && !('/metrics' in doc.paths));
  });

  test('the ingest body schema comes from zod: points required, fields numeric', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const schema = doc.paths['/v1/telemetry'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(schema.required, ['points']);
    assert.equal(schema.properties.points.items.properties.fields.additionalProperties.type, 'number');
    const params = doc.paths['/v1/devices/{id}/metrics'].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    assert.ok(params.includes('path:id') && params.includes('query:field'), params.join(','));
  });
});

describe('errors', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.app.close());

  const SECRET_DETAIL = 'connect ECONNREFUSED 10.9.8.7:8086 token=s3cr3t-influx-token';

  test('a service throwing a generic Error → 500 without the internal message, with a requestId', async () => {
    h.services.query.failWith = new Error(SECRET_DETAIL);
    try {
      const res = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(KEYS.read) });
      assert.equal(res.statusCode, 500);
      assert.ok(!res.body.includes('10.9.8.7'), res.body);
      assert.ok(!res.body.includes('s3cr3t'), res.body);
      assert.ok(!res.body.includes('ECONNREFUSED'), res.body);
      const out = res.json();
      assert.equal(out.error, 'internal_error');
      assert.equal(typeof out.requestId, 'string');
      assert.ok(out.requestId.length > 0);
      assert.ok(!('stack' in out));
    } finally {
      h.services.query.failWith = undefined;
    }
  });

  test('each 500 carries its own requestId', async () => {
    h.services.query.failWith = new Error(SECRET_DETAIL);
    try {
      const a = await h.app.inject({ method: 'GET', url: '/v1/points/count', headers: auth(KEYS.read) });
      const b = await h.app.inject({ method: 'GET', url: '/v1/points/count', headers: auth(KEYS.read) });
      assert.equal(a.statusCode, 500);
      assert.notEqual(a.json().requestId, b.json().requestId);
    } finally {
      h.services.query.failWith = undefined;
    }
  });

  test('a bad query string → 400 naming the parameter', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/devices/GPU-aaa/metrics?field=temp%20c', headers: auth(KEYS.read) });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /field/);
    assert.equal(h.services.query.seriesCalls.length, 0);
  });

  test('a good metrics query reaches the service with coerced parameters', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: '/v1/devices/GPU-aaa/metrics?field=temperature_c&from=2025-03-01T00:00:00Z&limit=50',
      headers: auth(KEYS.read),
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(h.services.query.seriesCalls.at(-1), { device: 'GPU-aaa', field: 'temperature_c', from: '2025-03-01T00:00:00Z', limit: 50 });
    assert.deepEqual(res.json(), { device: 'GPU-aaa', field: 'temperature_c', points: [{ time: '2025-03-01T12:00:00.000Z', value: 41.5 }] });
  });
});

describe('/ready and /metrics', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.app.close());

  test('/ready → 200 when every check passes, 503 naming the failing one otherwise', async () => {
    h.services.readiness.checks = { nats: true, influx: true, temporal: true };
    const ok = await h.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { ready: true, checks: { nats: true, influx: true, temporal: true } });

    h.services.readiness.checks = { nats: true, influx: false, temporal: true };
    const down = await h.app.inject({ method: 'GET', url: '/ready' });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().ready, false);
    assert.equal(down.json().checks.influx, false);
  });

  test('/health needs no key', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  test('/metrics returns Prometheus text with the publish metrics', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /^# HELP telemetry_publish_messages_total /m);
    assert.match(res.body, /^# TYPE telemetry_publish_messages_total counter$/m);
  });
});

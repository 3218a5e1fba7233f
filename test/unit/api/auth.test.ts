import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from '../../../api/app.ts';
import { ApiKeysError, parseApiKeys } from '../../../api/auth.ts';
import { ConfigError, loadConfig } from '../../../lib/config.ts';
import { auth, harness, KEYS, makeServices, testConfig, type Harness } from './fakes.ts';

const body = { points: [{ device: 'GPU-aaa', ts: '1740830400000000000', fields: { temperature_c: 41 } }] };

describe('API keys and scopes', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.app.close());

  test('no key → 401 with www-authenticate, and the service is not reached', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/devices' });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    assert.equal(res.json().error, 'unauthorized');
  });

  test('wrong key → 401 (X-API-Key and Bearer alike)', async () => {
    const a = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: auth('not-a-real-key-000000') });
    assert.equal(a.statusCode, 401);
    const b = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: { authorization: 'Bearer not-a-real-key-000000' } });
    assert.equal(b.statusCode, 401);
    // A key sent with the wrong scheme is not a Bearer token.
    const c = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: { authorization: `Basic ${KEYS.read}` } });
    assert.equal(c.statusCode, 401);
  });

  test('a key without the scope → 403 naming the scope; nothing published', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/telemetry', headers: auth(KEYS.read), payload: body });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /"ingest"/);
    assert.equal(h.services.telemetry.calls.length, 0);

    const ingestOnly = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(KEYS.ingest) });
    assert.equal(ingestOnly.statusCode, 403);
    assert.match(ingestOnly.json().message, /"read"/);
  });

  test('the scoped key passes its own route', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(KEYS.read) });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().devices[0].device, 'GPU-aaa');
  });

  test('admin implies read, ingest and ack', async () => {
    h.services.alerts.add('alert-GPU-aaa-temp-high', 'firing');
    const read = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(KEYS.admin) });
    const ingest = await h.app.inject({ method: 'POST', url: '/v1/telemetry', headers: auth(KEYS.admin), payload: body });
    const ack = await h.app.inject({
      method: 'POST',
      url: '/v1/alerts/alert-GPU-aaa-temp-high/ack',
      headers: auth(KEYS.admin),
      payload: { by: 'alice' },
    });
    assert.deepEqual([read.statusCode, ingest.statusCode, ack.statusCode], [200, 202, 200]);
  });

  test('Bearer and X-API-Key both authenticate', async () => {
    const x = await h.app.inject({ method: 'GET', url: '/v1/points/count', headers: { 'x-api-key': KEYS.read } });
    const bearer = await h.app.inject({ method: 'GET', url: '/v1/points/count', headers: { authorization: `Bearer ${KEYS.read}` } });
    assert.equal(x.statusCode, 200);
    assert.equal(bearer.statusCode, 200);
    assert.deepEqual(bearer.json(), { count: 7 });
  });

  test('the dev key is refused once API_KEYS is set', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: auth('dev-admin-key') });
    assert.equal(res.statusCode, 401);
  });
});

describe('key configuration', () => {
  test('development without API_KEYS accepts only the documented dev key, as admin', async () => {
    const h = await harness({ NODE_ENV: 'development', API_KEYS: undefined });
    try {
      const ok = await h.app.inject({ method: 'POST', url: '/v1/telemetry', headers: auth('dev-admin-key'), payload: body });
      assert.equal(ok.statusCode, 202);
      const other = await h.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(KEYS.admin) });
      assert.equal(other.statusCode, 401);
    } finally {
      await h.app.close();
    }
  });

  test('production without API_KEYS → buildApp throws', async () => {
    const services = makeServices();
    await assert.rejects(
      buildApp({ cfg: testConfig({ NODE_ENV: 'production', API_KEYS: undefined }), services, logger: false }),
      (err: Error) => err instanceof ApiKeysError && /API_KEYS is required in production/.test(err.message),
    );
  });

  test('loadConfig in production rejects the dev key, naming API_KEYS', () => {
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production', API_KEYS: `dev-admin-key:admin,${KEYS.read}:read` }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.issues.some((i) => i.variable === 'API_KEYS'));
        assert.match(err.message, /API_KEYS/);
        return true;
      },
    );
  });

  test('loadConfig in production without API_KEYS names API_KEYS; with a real key it passes', () => {
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production' }),
      (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.variable === 'API_KEYS' && /required/.test(i.problem)),
    );
    assert.equal(loadConfig({ NODE_ENV: 'production', API_KEYS: `${KEYS.admin}:admin` }).API_KEYS, `${KEYS.admin}:admin`);
  });

  test('API_KEYS parse errors name the entry', () => {
    const cases: [string, RegExp][] = [
      [`${KEYS.read}:read,missing-colon-entry`, /entry 2: expected \[name=\]key:scope/],
      [`${KEYS.read}:read,${KEYS.admin}:read+superuser`, /entry 2: unknown scope "superuser"/],
      [`short:read`, /entry 1: key must be at least 12 characters/],
      [`:read`, /entry 1: expected \[name=\]key:scope/],
    ];
    for (const [spec, re] of cases) {
      assert.throws(() => parseApiKeys(spec), (err: unknown) => err instanceof ApiKeysError && re.test(err.message), spec);
    }
  });

  test('buildApp surfaces a malformed API_KEYS instead of starting', async () => {
    const services = makeServices();
    await assert.rejects(
      buildApp({ cfg: testConfig({ API_KEYS: `${KEYS.read}:read,${KEYS.admin}:root` }), services, logger: false }),
      /API_KEYS entry 2: unknown scope "root"/,
    );
  });

  test('parsed keys keep scopes and never the raw key', () => {
    const [k] = parseApiKeys(`${KEYS.readAck}:read+ack`);
    assert.deepEqual([...k!.scopes].sort(), ['ack', 'read']);
    assert.ok(!k!.label.includes(KEYS.readAck));
    assert.ok(!JSON.stringify(k).includes(KEYS.readAck));
  });
});

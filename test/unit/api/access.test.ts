/**
 * Access rules of the HTTP layer (app.inject over the fakes): named keys and
 * the acting identity, separate rate-limit buckets (key / anonymous IP /
 * Slack), TRUST_PROXY, the /ready cache, CORS off when empty, and upstream
 * errors answered as our own 503.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpError } from '@influxdata/influxdb-client';
import { buildApp, trustProxyOption } from '../../../api/app.ts';
import { actingIdentity, ApiKeysError, apiKeysFromConfig, parseApiKeys } from '../../../api/auth.ts';
import { FixedWindowLimiter } from '../../../api/fixed-window-limiter.ts';
import { UpstreamUnavailableError, guardUpstream } from '../../../api/upstream-errors.ts';
import { ConfigError, loadConfig } from '../../../lib/config.ts';
import { signSlackRequest } from '../../../api/slack/signature.ts';
import { auth, harness, KEYS, makeServices, testConfig } from './fakes.ts';

describe('named keys and the acting identity', () => {
  test('name=key:scopes names the identity; the older key:scope form is key<N>; a base64 key padded with = still parses', () => {
    const [a, b, c] = parseApiKeys('oncall-ui=abcdefghijklmnop:read+ack, legacy-key-0123456789:read, QUJDREVGR0hJSktMTU5PUA==:ingest');
    assert.deepEqual([a!.name, a!.identity, [...a!.scopes]], ['oncall-ui', 'key:oncall-ui', ['read', 'ack']]);
    assert.deepEqual([b!.name, b!.identity], ['key2', 'key:key2']);
    assert.deepEqual([c!.name, [...c!.scopes]], ['key3', ['ingest']]);
    assert.ok(!a!.label.includes('abcdefghijklmnop'), 'the label never shows the key');
  });

  test('two keys with one name are refused (they would be indistinguishable on chain); remediate and act-as are scopes', () => {
    assert.throws(
      () => parseApiKeys('ops=aaaaaaaaaaaaaaaa:read,ops=bbbbbbbbbbbbbbbb:ack'),
      (e: unknown) => e instanceof ApiKeysError && /entry 2: duplicate key name "ops"/.test(e.message),
    );
    const [k] = parseApiKeys('k8s-bot=cccccccccccccccc:remediate+act-as');
    assert.deepEqual([...k!.scopes], ['remediate', 'act-as']);
  });

  test('the development default key is named dev', () => {
    const { keys, devDefault } = apiKeysFromConfig({ NODE_ENV: 'development', API_KEYS: undefined });
    assert.deepEqual([devDefault, keys[0]!.identity], [true, 'key:dev']);
  });

  test('actingIdentity: own identity by default; a body by needs act-as (admin implies it) and then keeps both', () => {
    const [ack, actAs, admin] = parseApiKeys('acker=aaaaaaaaaaaaaaaa:ack,bot=bbbbbbbbbbbbbbbb:ack+act-as,root=cccccccccccccccc:admin');
    assert.deepEqual(actingIdentity(ack!, undefined), { ok: true, by: 'key:acker' });
    assert.deepEqual(actingIdentity(ack!, 'key:acker'), { ok: true, by: 'key:acker' });
    const refused = actingIdentity(ack!, 'alice');
    assert.equal(refused.ok, false);
    assert.match((refused as { message: string }).message, /"act-as" scope/);
    assert.deepEqual(actingIdentity(actAs!, 'alice'), { ok: true, by: 'alice (by key:bot)' });
    assert.deepEqual(actingIdentity(admin!, 'bob'), { ok: true, by: 'bob (by key:root)' });
  });
});

describe('rate-limit buckets', () => {
  test("bad keys from one IP empty only that IP's anonymous bucket: a valid key and another IP still pass", async () => {
    const h = await harness({ RATE_LIMIT_ANON_PER_MIN: 5, RATE_LIMIT_PER_MIN: 50 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 8; i++)
        codes.push(
          (await h.app.inject({ url: '/v1/devices', headers: auth(`bad-key-${i}-000000`), remoteAddress: '203.0.113.7' })).statusCode,
        );
      assert.deepEqual(codes, [401, 401, 401, 401, 401, 429, 429, 429]);
      assert.equal(
        (await h.app.inject({ url: '/v1/devices', headers: auth(KEYS.read), remoteAddress: '203.0.113.7' })).statusCode,
        200,
        'a valid key has its own bucket',
      );
      assert.equal(
        (await h.app.inject({ url: '/v1/devices', remoteAddress: '198.51.100.9' })).statusCode,
        401,
        'another IP has its own anonymous bucket',
      );
    } finally {
      await h.app.close();
    }
  });

  test('TRUST_PROXY: behind a trusted proxy the client IP is X-Forwarded-For (own buckets); untrusted, the header is ignored', async () => {
    for (const [trust, expectSeparate] of [
      ['127.0.0.1', true],
      ['false', false],
    ] as const) {
      const h = await harness({ RATE_LIMIT_ANON_PER_MIN: 2, TRUST_PROXY: trust });
      try {
        const from = async (ip: string) =>
          (await h.app.inject({ url: '/v1/devices', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': ip } })).statusCode;
        await from('192.0.2.1');
        await from('192.0.2.1');
        assert.equal(await from('192.0.2.1'), 429, `${trust}: the third from one client is limited`);
        assert.equal(await from('192.0.2.2'), expectSeparate ? 401 : 429, `${trust}: another forwarded client`);
      } finally {
        await h.app.close();
      }
    }
    assert.equal(trustProxyOption('true'), true);
    assert.equal(trustProxyOption('false'), false);
    const hops = trustProxyOption('1') as (a: string, i: number) => boolean;
    assert.deepEqual([hops('x', 0), hops('x', 1)], [true, false]);
  });

  test("Slack callbacks are counted only once verified: forged ones use the per-IP unsigned bucket, not Slack's", async () => {
    const secret = 'unit-signing-secret-0123456789';
    const services = makeServices();
    const app = await buildApp({
      cfg: testConfig({ SLACK_SIGNING_SECRET: secret, RATE_LIMIT_SLACK_PER_MIN: 3, RATE_LIMIT_ANON_PER_MIN: 2 }),
      services,
      logger: false,
    });
    try {
      const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U1', username: 'alice' }, actions: [] }))}`;
      const send = (sign: string) => {
        const ts = Math.floor(Date.now() / 1000);
        return app.inject({
          method: 'POST',
          url: '/slack/interactions',
          remoteAddress: '203.0.113.9',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-slack-request-timestamp': String(ts),
            'x-slack-signature': signSlackRequest(sign, ts, body),
          },
          payload: body,
        });
      };
      const forged = [];
      for (let i = 0; i < 4; i++) forged.push((await send('wrong-secret')).statusCode);
      assert.deepEqual(forged, [401, 401, 429, 429]);
      const signed = [];
      for (let i = 0; i < 4; i++) signed.push((await send(secret)).statusCode);
      assert.deepEqual(signed, [200, 200, 200, 429], 'forgeries did not spend the signed budget');
    } finally {
      await app.close();
    }
  });

  test('FixedWindowLimiter: bounded keys, window resets', () => {
    let t = 0;
    const l = new FixedWindowLimiter(2, 1_000, 3, () => t);
    assert.deepEqual([l.hit('a').allowed, l.hit('a').allowed, l.hit('a').allowed], [true, true, false]);
    for (const k of ['b', 'c', 'd', 'e']) l.hit(k);
    assert.equal(l.size, 3, 'never more than maxKeys windows');
    t = 1_000;
    assert.equal(l.hit('a').allowed, true, 'a new window');
  });
});

describe('the OpenAPI document declares what the API answers', () => {
  test('every operation lists the common errors, param routes 404; callbacks are not in it', async () => {
    const services = makeServices();
    const app = await buildApp({ cfg: testConfig({ SLACK_SIGNING_SECRET: 'doc-signing-secret-0123456789' }), services, logger: false });
    try {
      const doc = (await app.inject({ url: '/docs/json' })).json() as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      };
      const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([m, op]) => ({ path, m, codes: Object.keys(op.responses) })),
      );
      assert.ok(ops.length >= 8, `${ops.length} operations`);
      for (const op of ops) {
        for (const c of ['400', '401', '403', '413', '414', '429', '431', '503'])
          assert.ok(op.codes.includes(c), `${op.m} ${op.path} lacks ${c}: ${op.codes}`);
        assert.ok(
          op.codes.some((c) => c.startsWith('2')),
          `${op.m} ${op.path} has a success answer`,
        );
        if (op.path.includes('{')) assert.ok(op.codes.includes('404'), `${op.m} ${op.path} lacks 404`);
      }
      assert.deepEqual(
        ops.filter((o) => o.path === '/v1/alerts/{id}/ack').map((o) => o.codes.filter((c) => c.startsWith('2'))),
        [['200', '202']],
      );
      assert.ok(!('/slack/interactions' in doc.paths) && !('/v1/notify/ack' in doc.paths), 'callbacks are not client API');
    } finally {
      await app.close();
    }
  });
});

describe('/ready, CORS, upstream errors', () => {
  test('/ready is cached for READY_CACHE_MS and coalesced: a flood costs one probe', async () => {
    const services = makeServices();
    let probes = 0;
    services.readiness.check = async () => {
      probes++;
      await new Promise((r) => setTimeout(r, 20));
      return { nats: true, influxdb: true, temporal: true };
    };
    const app = await buildApp({ cfg: testConfig({ READY_CACHE_MS: 60_000 }), services, logger: false });
    try {
      const all = await Promise.all(Array.from({ length: 50 }, () => app.inject({ url: '/ready' })));
      assert.ok(all.every((r) => r.statusCode === 200));
      await app.inject({ url: '/ready' });
      assert.equal(probes, 1);
    } finally {
      await app.close();
    }
  });

  test('CORS_ORIGINS set but empty → no cross-origin access; unset → the dev default only in development', async () => {
    const h = await harness({ CORS_ORIGINS: '' });
    try {
      const r = await h.app.inject({ url: '/v1/devices', headers: { ...auth(KEYS.read), origin: 'http://localhost:3000' } });
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    } finally {
      await h.app.close();
    }
    assert.equal(loadConfig({ CORS_ORIGINS: '' }).CORS_ORIGINS, '');
    assert.equal(loadConfig({}).CORS_ORIGINS, 'http://localhost:3000');
    assert.equal(loadConfig({ NODE_ENV: 'test' }).CORS_ORIGINS, '');
  });

  test('TRUST_PROXY with a bad value is refused naming the variable', () => {
    assert.throws(
      () => loadConfig({ TRUST_PROXY: 'yes please' }),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.variable === 'TRUST_PROXY'),
    );
    assert.equal(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.0.0/16' }).TRUST_PROXY, '10.0.0.0/8, 192.168.0.0/16');
  });

  test('an InfluxDB HttpError (its status and JSON body) → our 503 without either', async () => {
    const h = await harness();
    try {
      const body = '{"code":"unauthorized","message":"unauthorized access to org acme-secret"}';
      h.services.query.failWith = new HttpError(401, 'Unauthorized', body);
      const r = await h.app.inject({ url: '/v1/devices', headers: auth(KEYS.read) });
      assert.equal(r.statusCode, 503);
      assert.deepEqual(r.json(), {
        error: 'upstream_unavailable',
        message: 'the time-series store (InfluxDB) is unavailable; retry later',
      });
      assert.ok(!r.body.includes('acme-secret'));
      assert.equal(r.headers['retry-after'], '5');
    } finally {
      h.services.query.failWith = undefined;
      await h.app.close();
    }
  });

  test('a device id with a control character names nothing: empty answers, InfluxDB not asked', async () => {
    const h = await harness();
    try {
      h.services.query.failWith = new Error('must not be called');
      const count = await h.app.inject({ url: '/v1/points/count?device=GPU%00x', headers: auth(KEYS.read) });
      assert.deepEqual([count.statusCode, count.json()], [200, { count: 0 }]);
      const series = await h.app.inject({ url: '/v1/devices/GPU%01x/metrics?field=temperature_c', headers: auth(KEYS.read) });
      assert.deepEqual([series.statusCode, series.json().points], [200, []]);
    } finally {
      h.services.query.failWith = undefined;
      await h.app.close();
    }
  });

  test('guardUpstream: a dependency failure becomes UpstreamUnavailableError with the cause kept; our own errors pass', async () => {
    const conn = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8086'), { code: 'ECONNREFUSED' });
    const svc = guardUpstream('influxdb', {
      async down() {
        throw conn;
      },
      async bug() {
        throw new TypeError('ours');
      },
    });
    await assert.rejects(
      svc.down(),
      (e: unknown) => e instanceof UpstreamUnavailableError && e.cause === conn && !e.message.includes('8086'),
    );
    await assert.rejects(svc.bug(), TypeError);
  });
});

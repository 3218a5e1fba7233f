/**
 * Property tests (fast-check) over hostile input at every edge: CSV bytes,
 * line protocol and JSON bodies through the real HTTP layer, and Slack
 * payloads through the signed interactivity endpoint. The property is the
 * same everywhere: no crash, no unhandled rejection, no 5xx; an input is
 * either accepted with exactly its values or refused with an error naming
 * the problem.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildApp } from '../../../api/app.ts';
import { signSlackRequest } from '../../../api/slack/signature.ts';
import { ParseError, parseText } from '../../../lib/parse/index.ts';
import { auth, harness, KEYS, makeServices, testConfig, type Harness } from './fakes.ts';

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejection during any property');
});

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const fieldName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/);
const tagName = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,15}$/)
  .filter((k) => k !== 'device' && k !== 'gpu_uuid' && k !== 'host' && k !== 'gpu_index');
// JSON has no -0: it arrives as 0.
const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }).map((v) => (Object.is(v, -0) ? 0 : v));
const tsNs = fc.bigInt({ min: 0n, max: NOW_NS }).map(String);
const devicePlain = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,40}$/);

describe('POST /v1/telemetry (JSON and line protocol)', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ BODY_LIMIT_BYTES: 1024 * 1024 });
  });
  after(() => h.app.close());

  test('a documented JSON body inside the time window is accepted with exactly its values', async () => {
    const point = fc.record({
      device: devicePlain,
      ts: tsNs,
      tags: fc.dictionary(tagName, fc.string({ maxLength: 20 }), { maxKeys: 3, noNullPrototype: true }),
      fields: fc.dictionary(fieldName, finite, { minKeys: 1, maxKeys: 4, noNullPrototype: true }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(point, { minLength: 1, maxLength: 20 }), async (points) => {
        const before = h.services.telemetry.calls.length;
        const r = await h.app.inject({ method: 'POST', url: '/v1/telemetry', headers: auth(KEYS.ingest), payload: { points } });
        assert.equal(r.statusCode, 202, r.body);
        const call = h.services.telemetry.calls[before];
        if (!call) return; // an identical body was already accepted: deduplicated by its digest
        assert.deepEqual(
          call.points.map((p) => ({ device: p.device, ts: p.ts, tags: p.tags, fields: p.fields })),
          points.map((p) => ({ device: p.device, ts: p.ts, tags: p.tags, fields: p.fields })),
        );
      }),
      { numRuns: 150 },
    );
  });

  test('any JSON value as a body → 202 or a 400 naming the path; never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (body) => {
        const r = await h.app.inject({
          method: 'POST',
          url: '/v1/telemetry',
          headers: { ...auth(KEYS.ingest), 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        assert.ok(r.statusCode === 202 || r.statusCode === 400, `${r.statusCode} ${r.body}`);
        if (r.statusCode === 400) {
          const j = r.json() as { error: string; message: string };
          assert.equal(j.error, 'bad_request');
          assert.ok(j.message.length > 0);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('line protocol: valid lines are accepted exactly; arbitrary text → 202 or a 400 naming the line', async () => {
    const lpEscape = (s: string) => s.replace(/[ ,=\\]/g, (c) => `\\${c}`);
    const line = fc.record({
      device: devicePlain,
      fields: fc.dictionary(fieldName, fc.integer({ min: -1e9, max: 1e9 }), { minKeys: 1, maxKeys: 3, noNullPrototype: true }),
      ts: tsNs,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 10 }), async (lines) => {
        const text = lines
          .map(
            (l) =>
              `gpu,device=${lpEscape(l.device)} ${Object.entries(l.fields)
                .map(([k, v]) => `${k}=${v}i`)
                .join(',')} ${l.ts}`,
          )
          .join('\n');
        const before = h.services.telemetry.calls.length;
        const r = await h.app.inject({
          method: 'POST',
          url: '/v1/telemetry',
          headers: { ...auth(KEYS.ingest), 'content-type': 'text/plain' },
          payload: text,
        });
        assert.equal(r.statusCode, 202, `${r.body}\n${text}`);
        const call = h.services.telemetry.calls[before];
        if (call)
          assert.deepEqual(
            call.points.map((p) => [p.device, p.ts, p.fields]),
            lines.map((l) => [l.device, l.ts, l.fields]),
          );
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 300 }), async (text) => {
        const r = await h.app.inject({
          method: 'POST',
          url: '/v1/telemetry',
          headers: { ...auth(KEYS.ingest), 'content-type': 'text/plain' },
          payload: text,
        });
        assert.ok(r.statusCode === 202 || r.statusCode === 400, `${r.statusCode} ${r.body}`);
        if (r.statusCode === 400) assert.match((r.json() as { message: string }).message, /line \d+/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('CSV bytes (lib/parse)', () => {
  test('arbitrary bytes: parsed (finite values, rejections naming a line) or refused whole with a ParseError naming the file', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const text = Buffer.from(bytes).toString('utf8');
        let result: ReturnType<typeof parseText>;
        try {
          result = parseText(text, { fileName: 'fuzz.csv', baseTimeMs: 1_700_000_000_000 });
        } catch (err) {
          assert.ok(err instanceof ParseError, `not a ParseError: ${String(err)}`);
          assert.match(err.message, /fuzz\.csv/);
          return;
        }
        const { points, summary } = result;
        for (const p of points) {
          assert.ok(p.device.length > 0);
          assert.match(p.ts, /^\d+$/);
          for (const v of Object.values(p.fields)) assert.ok(Number.isFinite(v));
        }
        for (const r of summary.rejections) {
          assert.ok(Number.isInteger(r.line) && r.line >= 1, JSON.stringify(r));
          assert.ok(r.reason.length > 0);
        }
        assert.equal(summary.points, points.length);
      }),
      { numRuns: 400 },
    );
  });

  test('a generated nvidia-smi CSV is read back with exactly its values', () => {
    const row = fc.record({
      idx: fc.integer({ min: 0, max: 7 }),
      temp: fc.integer({ min: 0, max: 120 }),
      power: fc.integer({ min: 0, max: 70_000 }).map((n) => n / 100),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 30 }), (rows) => {
        const lines = ['timestamp, index, temperature.gpu, power.draw [W]'];
        rows.forEach((r, i) =>
          lines.push(
            `2025/03/01 12:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.000, ${r.idx}, ${r.temp}, ${r.power.toFixed(2)} W`,
          ),
        );
        const { points, summary } = parseText(lines.join('\n'), { fileName: 'gen.csv' });
        assert.equal(summary.rejected, 0, JSON.stringify(summary.rejections));
        assert.equal(points.length, rows.length);
        points.forEach((p, i) => {
          assert.equal(p.fields.temperature_c, rows[i]!.temp);
          assert.equal(p.fields.power_w, rows[i]!.power);
        });
      }),
      { numRuns: 100 },
    );
  });
});

describe('Slack payloads (signed)', () => {
  const SECRET = 'property-signing-secret-0123456789';
  let app: Awaited<ReturnType<typeof buildApp>>;
  let services: ReturnType<typeof makeServices>;
  before(async () => {
    services = makeServices();
    app = await buildApp({
      cfg: testConfig({ SLACK_SIGNING_SECRET: SECRET, RATE_LIMIT_SLACK_PER_MIN: 1_000_000, RATE_LIMIT_ANON_PER_MIN: 1_000_000 }),
      services,
      logger: false,
    });
  });
  after(() => app.close());

  const send = (body: string) => {
    const ts = Math.floor(Date.now() / 1000);
    return app.inject({
      method: 'POST',
      url: '/slack/interactions',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': signSlackRequest(SECRET, ts, body),
      },
      payload: body,
    });
  };

  test('any signed payload → 200 or a 400 saying what was wrong; never a 5xx; acks only as the signed user', async () => {
    const action = fc.record({
      action_id: fc.oneof(fc.constantFrom('alert_ack', 'alert_resolve', 'alert_snooze:15m', 'ack', 'alert_snooze:9y'), fc.string()),
      value: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('alert-GPU-aaa-temp-high'), fc.integer()),
    });
    const payload = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({
        type: fc.constantFrom('block_actions', 'view_submission', 'x'),
        user: fc.oneof(fc.record({ id: fc.string({ maxLength: 12 }), username: fc.string({ maxLength: 12 }) }), fc.jsonValue()),
        actions: fc.oneof(fc.array(action, { maxLength: 3 }), fc.jsonValue()),
      }),
    );
    services.alerts.add('alert-GPU-aaa-temp-high', 'firing');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          payload.map((p) => `payload=${encodeURIComponent(JSON.stringify(p))}`),
          fc.string({ maxLength: 200 }),
        ),
        async (body) => {
          const r = await send(body);
          assert.ok(r.statusCode === 200 || r.statusCode === 400, `${r.statusCode} ${r.body}`);
          if (r.statusCode === 400) assert.ok((r.json() as { message: string }).message.length > 0);
        },
      ),
      { numRuns: 400 },
    );
    for (const c of services.alerts.ackCalls) assert.match(c.by, /^slack:/, 'an ack from Slack is always the signed Slack user');
  });
});

import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { PointTooLargeError, PublishError, StreamFullError } from '../../../../lib/stream/publisher.ts';
import { auth, harness, KEYS, type Harness } from '../fakes.ts';
import { ingestRefused } from '../../../../api/routes/telemetry.ts';
import { NO_CONTROL_CHARS_PATTERN } from '../../../../api/control-chars.ts';

const BODY_LIMIT = 4 * 1024;

describe('POST /v1/telemetry (JSON)', () => {
  let h: Harness;
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'POST', url: '/v1/telemetry', headers: { ...auth(KEYS.ingest), ...headers }, payload: payload as object });

  before(async () => {
    h = await harness({ BODY_LIMIT_BYTES: BODY_LIMIT });
  });
  after(() => h.app.close());
  beforeEach(() => {
    h.services.telemetry.calls.length = 0;
    h.services.telemetry.failWith = undefined;
  });

  test('valid → 202 with the accepted count; publish gets exactly the points with ns timestamps', async () => {
    const res = await post({
      points: [
        {
          device: 'GPU-aaa',
          ts: '2025-03-01T12:00:00.123456789Z',
          tags: { host: 'node-01', gpu_index: '0' },
          fields: { temperature_c: 41.5, power_w: 300 },
        },
        { device: 'GPU-bbb', ts: '1740830400000000001', fields: { util_gpu_pct: 99 } },
        { device: 'GPU-ccc', ts: '2025-03-01T13:00:00.5+01:00', fields: { fan_pct: 30 } },
      ],
    });
    assert.equal(res.statusCode, 202);
    const out = res.json();
    assert.equal(out.accepted, 3);
    assert.equal(out.batches, 1);
    assert.equal(out.duplicates, 0);
    assert.match(out.batchId, /^h:[0-9a-f]{32}$/);

    assert.equal(h.services.telemetry.calls.length, 1);
    const call = h.services.telemetry.calls[0]!;
    assert.equal(call.origin, out.batchId);
    assert.deepEqual(call.points, [
      // 2025-03-01T12:00:00Z = 1740830400 s; the fraction is kept to the nanosecond.
      { device: 'GPU-aaa', ts: '1740830400123456789', tags: { host: 'node-01', gpu_index: '0' }, fields: { temperature_c: 41.5, power_w: 300 } },
      { device: 'GPU-bbb', ts: '1740830400000000001', tags: {}, fields: { util_gpu_pct: 99 } },
      // 13:00+01:00 is 12:00Z; ".5" is 500 ms.
      { device: 'GPU-ccc', ts: '1740830400500000000', tags: {}, fields: { fan_pct: 30 } },
    ]);
  });

  test('a client batchId becomes the origin h:<batchId>', async () => {
    const res = await post({ batchId: 'agent-7:batch-000123', points: [{ device: 'GPU-aaa', ts: '1740830400000000000', fields: { power_w: 1 } }] });
    assert.equal(res.statusCode, 202);
    assert.equal(res.json().batchId, 'h:agent-7:batch-000123');
    assert.equal(h.services.telemetry.calls[0]!.origin, 'h:agent-7:batch-000123');
  });

  test('without batchId the same body twice gets the same origin (a retry deduplicates); another body does not', async () => {
    const body = { points: [{ device: 'GPU-aaa', ts: '1740830400000000000', fields: { power_w: 250 } }] };
    const a = await post(body);
    const b = await post(body);
    const c = await post({ points: [{ device: 'GPU-aaa', ts: '1740830400000000000', fields: { power_w: 251 } }] });
    assert.equal(a.json().batchId, b.json().batchId);
    assert.notEqual(a.json().batchId, c.json().batchId);
    assert.deepEqual(
      h.services.telemetry.calls.map((x) => x.origin),
      [a.json().batchId, a.json().batchId, c.json().batchId],
    );
    assert.equal(b.json().duplicates, 1);
  });

  test('malformed bodies → 400 naming the field path; nothing published', async () => {
    const cases: { body: unknown; path: string }[] = [
      { body: { points: [{ device: 'GPU-aaa', ts: '1740830400000000000', fields: { temperature_c: 'hot' } }] }, path: 'points.0.fields.temperature_c' },
      { body: { points: [{ ts: '1740830400000000000', fields: { power_w: 1 } }] }, path: 'points.0.device' },
      { body: { points: [{ device: 'GPU-aaa', ts: 'yesterday', fields: { power_w: 1 } }] }, path: 'points.0.ts' },
      { body: { points: [{ device: 'GPU-aaa', ts: '1740830400000000000', fields: {} }] }, path: 'points.0.fields' },
      {
        body: {
          points: [
            { device: 'GPU-aaa', ts: '1740830400000000000', fields: { power_w: 1 } },
            { device: 'GPU-bbb', ts: '1740830400000000000', fields: { power_w: 1 }, tags: { host: 7 } },
          ],
        },
        path: 'points.1.tags.host',
      },
      { body: { batchId: 'has spaces', points: [{ device: 'GPU-aaa', ts: '1', fields: { power_w: 1 } }] }, path: 'batchId' },
    ];
    for (const { body, path } of cases) {
      const res = await post(body);
      assert.equal(res.statusCode, 400, path);
      const out = res.json();
      assert.equal(out.error, 'bad_request');
      assert.ok(out.message.includes(path), `message "${out.message}" names ${path}`);
      assert.ok(
        out.issues.some((i: { path: string }) => i.path === path),
        `issues ${JSON.stringify(out.issues)} include ${path}`,
      );
    }
    assert.equal(h.services.telemetry.calls.length, 0);
  });

  test('a control character in the device id or a tag value → 400 naming the field; nothing published; counted', async () => {
    const refused = async () => (await ingestRefused.get()).values.find((v) => v.labels.format === 'json')?.value ?? 0;
    const before = await refused();
    for (const [point, path] of [
      [{ device: 'GPU-a\nb' }, 'points.0.device'],
      [{ device: 'GPU-a\rb' }, 'points.0.device'],
      [{ device: 'GPU-\u0000' }, 'points.0.device'],
      [{ device: 'GPU-\u007f' }, 'points.0.device'],
      [{ tags: { host: 'node\n01' } }, 'points.0.tags.host'],
      [{ tags: { model: 'H100\tSXM' } }, 'points.0.tags.model'],
    ] as const) {
      const res = await post({ points: [Object.assign({ device: 'GPU-aaa', ts: '1740830400000000000', fields: { power_w: 1 } }, point)] });
      assert.equal(res.statusCode, 400, `${JSON.stringify(point)}: ${res.body}`);
      assert.ok(res.json().message.includes(path), res.json().message);
      assert.match(res.json().message, /control characters/);
    }
    assert.equal(h.services.telemetry.calls.length, 0);
    assert.equal((await refused()) - before, 6);
    // Printable Unicode, spaces, commas and '=' are fine (line protocol escapes them).
    const ok = await post({ points: [{ device: 'GPU a,b=c ü', ts: '1740830400000000000', tags: { host: 'node 01' }, fields: { power_w: 1 } }] });
    assert.equal(ok.statusCode, 202, ok.body);
  });

  test('the document states the rule: device and tag values carry the no-control-characters pattern', async () => {
    const doc = (await h.app.inject({ url: '/docs/json' })).json();
    const body = doc.paths['/v1/telemetry'].post.requestBody.content['application/json'].schema;
    const point = body.properties.points.items;
    assert.equal(point.properties.device.pattern, NO_CONTROL_CHARS_PATTERN);
    assert.equal(point.properties.tags.additionalProperties.pattern, NO_CONTROL_CHARS_PATTERN);
    assert.ok(new RegExp(NO_CONTROL_CHARS_PATTERN).test('GPU-aaa ü'));
    assert.ok(!new RegExp(NO_CONTROL_CHARS_PATTERN).test('a\nb'));
  });

  test('empty points → 400 naming points', async () => {
    const res = await post({ points: [] });
    assert.equal(res.statusCode, 400);
    assert.ok(res.json().issues.some((i: { path: string }) => i.path === 'points'));
    assert.equal(h.services.telemetry.calls.length, 0);
  });

  test('a field value string (even a numeric-looking one) → 400', async () => {
    const res = await post({ points: [{ device: 'GPU-aaa', ts: '1740830400000000000', fields: { power_w: '300' } }] });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /points\.0\.fields\.power_w/);
    assert.equal(h.services.telemetry.calls.length, 0);
  });

  test('invalid JSON → 400; nothing published', async () => {
    const res = await post('{"points": [', { 'content-type': 'application/json' });
    assert.equal(res.statusCode, 400);
    assert.equal(h.services.telemetry.calls.length, 0);
  });

  test('a body over BODY_LIMIT_BYTES → 413; nothing published', async () => {
    const points = Array.from({ length: 200 }, (_, i) => ({ device: `GPU-${i}`, ts: '1740830400000000000', fields: { power_w: i } }));
    const payload = JSON.stringify({ points });
    assert.ok(payload.length > BODY_LIMIT);
    const res = await post(payload, { 'content-type': 'application/json' });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error, 'payload_too_large');
    assert.match(res.json().message, new RegExp(String(BODY_LIMIT)));
    assert.equal(h.services.telemetry.calls.length, 0);
  });

  test('a body just under the limit is accepted', async () => {
    const points = Array.from({ length: 20 }, (_, i) => ({ device: `GPU-${i}`, ts: '1740830400000000000', fields: { power_w: i } }));
    const payload = JSON.stringify({ points });
    assert.ok(payload.length < BODY_LIMIT);
    const res = await post(payload, { 'content-type': 'application/json' });
    assert.equal(res.statusCode, 202);
    assert.equal(res.json().accepted, 20);
  });

  test('a JSON-number ns timestamp (beyond 2^53) is rejected, never rounded', async () => {
    const res = await post('{"points":[{"device":"GPU-aaa","ts":1740830400123456789,"fields":{"power_w":1}}]}', {
      'content-type': 'application/json',
    });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /points\.0\.ts/);
    assert.equal(h.services.telemetry.calls.length, 0);
  });

  test('StreamFullError → 429 with Retry-After from the error', async () => {
    h.services.telemetry.failWith = new StreamFullError(7);
    const res = await post({ points: [{ device: 'GPU-aaa', ts: '1', fields: { power_w: 1 } }] });
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '7');
    assert.equal(res.json().error, 'stream_full');
  });

  test('PublishError → 503 with Retry-After, without the NATS detail', async () => {
    h.services.telemetry.failWith = new PublishError('telemetry.p.0', 2, { cause: new Error('CONNECTION_REFUSED 10.0.0.7:4222') });
    const res = await post({ points: [{ device: 'GPU-aaa', ts: '1', fields: { power_w: 1 } }] });
    assert.equal(res.statusCode, 503);
    assert.ok(Number(res.headers['retry-after']) > 0);
    assert.equal(res.json().error, 'stream_unavailable');
    assert.ok(!res.body.includes('10.0.0.7'));
  });

  test('PointTooLargeError (one point alone exceeds a message) → 413 naming the device and ts', async () => {
    h.services.telemetry.failWith = new PointTooLargeError('GPU-aaa', '1740830400000000000', 2_000_000, 1_044_480);
    const res = await post({ points: [{ device: 'GPU-aaa', ts: '1', fields: { power_w: 1 } }] });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error, 'point_too_large');
    assert.match(res.json().message, /GPU-aaa.*1740830400000000000/);
  });
});

describe('POST /v1/telemetry (line protocol)', () => {
  let h: Harness;
  const postText = (text: string) =>
    h.app.inject({ method: 'POST', url: '/v1/telemetry', headers: { ...auth(KEYS.ingest), 'content-type': 'text/plain; charset=utf-8' }, payload: text });

  before(async () => {
    h = await harness();
  });
  after(() => h.app.close());
  beforeEach(() => {
    h.services.telemetry.calls.length = 0;
  });

  test('valid multi-line → 202 with the right points', async () => {
    const text = [
      '# comment lines and blank lines are skipped',
      'gpu,device=GPU-aaa,host=node\\ 01,model=H100\\,SXM temperature_c=41.5,ecc_sbe=3i 1740830400000000000',
      '',
      'gpu,gpu_uuid=GPU-bbb power_w=612.25,pstate=0u 1740830400000000001',
      'gpu,host=node-02,gpu_index=3 util_gpu_pct=100i 1740830400000000002',
    ].join('\n');
    const res = await postText(text);
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().accepted, 3);
    assert.deepEqual(h.services.telemetry.calls[0]!.points, [
      { device: 'GPU-aaa', ts: '1740830400000000000', tags: { host: 'node 01', model: 'H100,SXM' }, fields: { temperature_c: 41.5, ecc_sbe: 3 } },
      { device: 'GPU-bbb', ts: '1740830400000000001', tags: { gpu_uuid: 'GPU-bbb' }, fields: { power_w: 612.25, pstate: 0 } },
      { device: 'node-02:3', ts: '1740830400000000002', tags: { host: 'node-02', gpu_index: '3' }, fields: { util_gpu_pct: 100 } },
    ]);
    assert.match(h.services.telemetry.calls[0]!.origin, /^h:[0-9a-f]{32}$/);
  });

  const bad: { name: string; text: string; line: number; re: RegExp }[] = [
    {
      name: 'wrong measurement',
      text: 'gpu,device=GPU-aaa power_w=1 1740830400000000000\ncpu,device=GPU-aaa power_w=1 1740830400000000000',
      line: 2,
      re: /line 2: measurement must be "gpu", got "cpu"/,
    },
    {
      name: 'missing timestamp',
      text: 'gpu,device=GPU-aaa power_w=1 1740830400000000000\ngpu,device=GPU-aaa power_w=2 1740830400000000001\ngpu,device=GPU-aaa power_w=3',
      line: 3,
      re: /line 3:/,
    },
    {
      name: 'string field',
      text: 'gpu,device=GPU-aaa name="hot" 1740830400000000000',
      line: 1,
      re: /line 1: field "name" is not numeric/,
    },
    {
      name: 'no device identity',
      text: 'gpu,model=H100 power_w=1 1740830400000000000',
      line: 1,
      re: /line 1: no device identity/,
    },
    {
      name: 'timestamp in seconds with a fraction',
      text: 'gpu,device=GPU-aaa power_w=1 1740830400.5',
      line: 1,
      re: /line 1: timestamp must be integer nanoseconds/,
    },
  ];
  // A missing value is absent from `fields`, never 0 (lib/point.ts); line protocol has no hex numbers.
  for (const [value, why] of [
    ['', 'an empty value'],
    ['i', 'a bare integer suffix'],
    ['0x1f', 'a hex number'],
    ['41.5i', 'a fractional integer'],
  ] as const) {
    bad.push({
      name: `${why} (power_w=${value})`,
      text: `gpu,device=GPU-aaa temperature_c=40 1740830400000000000\ngpu,device=GPU-aaa power_w=${value} 1740830400000000001`,
      line: 2,
      re: /line 2: field "power_w" is not numeric/,
    });
  }
  bad.push({
    // JSON rejects this field name; line protocol must not be a way around the same rule.
    name: 'a field name JSON would reject',
    text: 'gpu,device=GPU-aaa temp\\ c=41 1740830400000000000',
    line: 1,
    re: /line 1: .*temp c/,
  });

  for (const c of bad) {
    test(`${c.name} → 400 naming the line; nothing published`, async () => {
      const res = await postText(c.text);
      assert.equal(res.statusCode, 400);
      const out = res.json();
      assert.match(out.message, c.re);
      assert.equal(out.issues[0].line, c.line);
      assert.equal(h.services.telemetry.calls.length, 0);
    });
  }

  test('a control character in a tag value (device, host) → 400 naming the line and the field', async () => {
    for (const [text, field] of [
      ['gpu,device=GPU-a\u0001b power_w=1 1740830400000000000', 'device'],
      ['gpu,device=GPU-aaa,host=node\t01 power_w=1 1740830400000000000', 'tags.host'],
    ] as const) {
      const res = await postText(text);
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json().message, new RegExp(`line 1: ${field.replace('.', '\\.')}: must not contain control characters`));
    }
    assert.equal(h.services.telemetry.calls.length, 0);
  });

  test('a body with only comments → 400', async () => {
    const res = await postText('# nothing\n\n');
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /no points/);
    assert.equal(h.services.telemetry.calls.length, 0);
  });
});

describe('POST /v1/telemetry: timestamps outside INGEST_MIN_TIME … now + INGEST_MAX_FUTURE_S', () => {
  let h: Harness;
  const post = (payload: unknown) =>
    h.app.inject({ method: 'POST', url: '/v1/telemetry', headers: auth(KEYS.ingest), payload: payload as object });
  const postText = (text: string) =>
    h.app.inject({ method: 'POST', url: '/v1/telemetry', headers: { ...auth(KEYS.ingest), 'content-type': 'text/plain' }, payload: text });
  const ok = { device: 'GPU-aaa', ts: '1740830400000000000', fields: { power_w: 1 } };

  before(async () => {
    h = await harness();
  });
  after(() => h.app.close());
  beforeEach(() => {
    h.services.telemetry.calls.length = 0;
  });

  const badJson: { name: string; ts: string; re: RegExp }[] = [
    { name: 'year 2300 (RFC 3339)', ts: '2300-01-01T00:00:00Z', re: /points\.1\.ts: timestamp 2300-01-01T00:00:00\.000Z is after the accepted maximum .*INGEST_MAX_FUTURE_S/ },
    { name: 'before 1970 (RFC 3339)', ts: '1969-12-31T23:59:59Z', re: /points\.1\.ts: timestamp 1969-12-31T23:59:59\.000Z is before the accepted minimum 1970-01-01T00:00:00\.000Z/ },
    { name: 'ns past int64', ts: '9999999999999999999', re: /points\.1\.ts: timestamp .* is after the accepted maximum/ },
    { name: 'two days ahead', ts: String(BigInt(Date.now() + 2 * 86_400_000) * 1_000_000n), re: /points\.1\.ts: .*after the accepted maximum/ },
  ];
  for (const c of badJson) {
    test(`JSON ${c.name} → 400 naming the point; nothing published`, async () => {
      const res = await post({ points: [ok, { device: 'GPU-bbb', ts: c.ts, fields: { power_w: 2 } }] });
      assert.equal(res.statusCode, 400);
      const out = res.json();
      assert.equal(out.error, 'bad_request');
      assert.match(out.message, c.re);
      assert.deepEqual(out.issues.map((i: { path: string }) => i.path), ['points.1.ts']);
      assert.equal(h.services.telemetry.calls.length, 0);
    });
  }

  test('JSON: every out-of-range point is listed', async () => {
    const res = await post({ points: [{ ...ok, ts: '2300-01-01T00:00:00Z' }, ok, { ...ok, ts: '0001-01-01T00:00:00Z' }] });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json().issues.map((i: { path: string }) => i.path), ['points.0.ts', 'points.2.ts']);
  });

  test('JSON: the edges of the range are accepted (1970-01-01, now + 1 hour)', async () => {
    const soon = new Date(Date.now() + 3_600_000).toISOString();
    const res = await post({ points: [{ ...ok, ts: '1970-01-01T00:00:00Z' }, { ...ok, device: 'GPU-bbb', ts: soon }] });
    assert.equal(res.statusCode, 202, res.body);
  });

  test('line protocol: an out-of-range timestamp → 400 naming the line; nothing published', async () => {
    const res = await postText(`gpu,device=GPU-aaa power_w=1 1740830400000000000\ngpu,device=GPU-aaa power_w=2 9223372036854775807`);
    assert.equal(res.statusCode, 400);
    const out = res.json();
    assert.match(out.message, /^line 2: timestamp 2262-04-11T23:47:16\.854Z is after the accepted maximum/);
    assert.equal(out.issues[0].line, 2);
    assert.equal(h.services.telemetry.calls.length, 0);
  });

  test('the range comes from the config (INGEST_MIN_TIME, INGEST_MAX_FUTURE_S)', async () => {
    const strict = await harness({ INGEST_MIN_TIME: '2025-01-01T00:00:00Z', INGEST_MAX_FUTURE_S: 0 });
    try {
      const inject = (payload: unknown) => strict.app.inject({ method: 'POST', url: '/v1/telemetry', headers: auth(KEYS.ingest), payload: payload as object });
      const old = await inject({ points: [{ ...ok, ts: '2024-12-31T23:59:59Z' }] });
      assert.equal(old.statusCode, 400);
      assert.match(old.json().message, /before the accepted minimum 2025-01-01T00:00:00\.000Z/);
      const ahead = await inject({ points: [{ ...ok, ts: new Date(Date.now() + 60_000).toISOString() }] });
      assert.equal(ahead.statusCode, 400);
      assert.match(ahead.json().message, /now \+ 0 s/);
      const fine = await inject({ points: [{ ...ok, ts: '2025-06-01T00:00:00Z' }] });
      assert.equal(fine.statusCode, 202);
      assert.equal(strict.services.telemetry.calls.length, 1);
    } finally {
      await strict.app.close();
    }
  });
});

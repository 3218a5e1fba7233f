import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { auth, harness, KEYS, type Harness } from '../fakes.ts';

describe('GET /v1/devices/:id/health (issue 10: shadow verdicts queryable)', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.app.close());
  const get = (url: string, key: string = KEYS.read) => h.app.inject({ method: 'GET', url, headers: auth(key) });

  test('default model is the paging one', async () => {
    const res = await get('/v1/devices/GPU-aaa/health');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      device: 'GPU-aaa',
      model: 'primary',
      points: [{ time: '2025-03-01T12:00:00.000Z', class: 'healthy', score: 0.5, reasons: [] }],
    });
  });

  test('model=shadow returns the shadow verdicts with the paging class and the version; range and limit pass through', async () => {
    const res = await get('/v1/devices/GPU-aaa/health?model=shadow&from=2025-03-01T00:00:00Z&limit=5');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.model, 'shadow');
    assert.deepEqual(body.points[0], {
      time: '2025-03-01T12:00:00.000Z',
      class: 'degraded',
      score: 0.7,
      reasons: ['temp_c=80'],
      primary: 'healthy',
      shadowModel: 'abc123def456',
    });
    const call = h.services.query.healthCalls.at(-1)!;
    assert.deepEqual(call, { device: 'GPU-aaa', model: 'shadow', from: '2025-03-01T00:00:00Z', limit: 5 });
  });

  test('an unknown model or a bad time → 400 naming the parameter', async () => {
    const a = await get('/v1/devices/GPU-aaa/health?model=candidate');
    assert.equal(a.statusCode, 400);
    assert.match(a.body, /model/);
    const b = await get('/v1/devices/GPU-aaa/health?from=yesterday');
    assert.equal(b.statusCode, 400);
    assert.match(b.body, /from/);
  });

  test('needs the read scope', async () => {
    const res = await get('/v1/devices/GPU-aaa/health', KEYS.ingest);
    assert.equal(res.statusCode, 403);
  });
});

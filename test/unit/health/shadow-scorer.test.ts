import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'prom-client';
import { createOnnxScorer, type HealthScorer } from '../../../activities/health/onnx-scorer.ts';
import { createShadowScorer, type ShadowBatchComparison } from '../../../activities/health/shadow-scorer.ts';
import { loadTrace } from '../../fixtures/health/synthetic.ts';

let a: HealthScorer;
let b: HealthScorer;
before(async () => {
  a = await createOnnxScorer();
  b = await createOnnxScorer();
});
after(async () => {
  await a.close();
  await b.close();
});

describe('shadow model version (issue 10)', () => {
  test('the shadow scores and is recorded; the primary results are what is returned; baselines kept apart', async () => {
    const seen: ShadowBatchComparison[] = [];
    // The shadow sees a different world (every point hot) so its verdicts differ from the primary's.
    const hot: HealthScorer = { score: (pts, bl) => b.score(pts.map((p) => ({ ...p, fields: { ...p.fields, throttle_reasons: 0x40 } })), bl), close: async () => {} };
    const s = createShadowScorer(a, hot, { label: 'v2-test', record: (c) => seen.push(c) });
    const pts = loadTrace({ n: 300, seed: 4 });
    const want = await a.score(pts, {});
    const got = await s.score(pts, {});
    assert.deepEqual(got.results, want.results);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.points, 300);
    assert.equal(seen[0]!.pairs['healthy>critical'], want.results.filter((r) => r.class === 'healthy').length);
    const bl = got.baselines[pts[0]!.device]!;
    assert.equal(bl.n, 300);
    assert.equal(bl.shadow!.n, 300);
    assert.equal(bl.shadow!.shadow, undefined);
    // The next batch hands the shadow its own baseline back.
    const next = await s.score(loadTrace({ n: 10, seed: 4 }).map((p) => ({ ...p, ts: (BigInt(p.ts) + 10_000_000_000_000n).toString() })), got.baselines);
    assert.equal(next.baselines[pts[0]!.device]!.shadow!.n, 310);
    const metric = await register.getSingleMetric('telemetry_health_shadow_points_total')!.get();
    assert.ok(metric.values.some((v) => v.labels.model === 'v2-test' && v.labels.shadow === 'critical' && v.value > 0));
  });

  test('a failing shadow never affects the primary', async () => {
    const errors: unknown[] = [];
    const broken: HealthScorer = { score: async () => Promise.reject(new Error('model server down')), close: async () => {} };
    const s = createShadowScorer(a, broken, { label: 'broken', onError: (e) => errors.push(e) });
    const pts = loadTrace({ n: 50, seed: 5 });
    const got = await s.score(pts, {});
    assert.deepEqual(got.results, (await a.score(pts, {})).results);
    assert.equal(errors.length, 1);
  });
});

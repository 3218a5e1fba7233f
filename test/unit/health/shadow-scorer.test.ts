import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'prom-client';
import { createOnnxScorer, type HealthScorer } from '../../../activities/health/onnx-scorer.ts';
import { createShadowScorer, modelFileVersion, type ShadowBatchComparison } from '../../../activities/health/shadow-scorer.ts';
import { DEFAULT_MODEL_PATH } from '../../../activities/health/onnx-scorer.ts';
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

  // Every point hot for the shadow: it says critical where the primary (mostly) says healthy.
  const hotShadow = (): HealthScorer => ({
    score: (pts, bl) => b.score(pts.map((p) => ({ ...p, fields: { ...p.fields, throttle_reasons: 0x40 } })), bl),
    close: async () => {},
  });
  const dropped = async (label: string) =>
    (await register.getSingleMetric('telemetry_health_shadow_lines_dropped_total')!.get()).values.find((v) => v.labels.model === label)?.value ?? 0;

  test('disagree (default): one health_shadow line per disagreeing point, tagged with the version, the primary class beside it', async () => {
    const pts = loadTrace({ n: 200, seed: 6 });
    const want = await a.score(pts, {});
    const s = createShadowScorer(a, hotShadow(), { label: 'w-disagree', version: 'v2abc' });
    const got = await s.score(pts, {});
    const disagreeing = want.results.flatMap((r, i) => (r.class !== 'critical' ? [i] : []));
    assert.ok(disagreeing.length > 150, `${disagreeing.length}`);
    assert.deepEqual(got.shadow!.points, disagreeing);
    assert.equal(got.shadow!.lines.length, disagreeing.length);
    const i0 = disagreeing[0]!;
    const line = got.shadow!.lines[0]!;
    assert.ok(line.startsWith(`health_shadow,device=${pts[i0]!.device},`), line);
    assert.match(line, /,shadow_model=v2abc[, ]/);
    assert.match(line, / score=[0-9.]+,class="critical",primary="(healthy|degraded)",reasons="[^"]*hw_slowdown[^"]*" \d+$/);
    assert.ok(line.endsWith(` ${pts[i0]!.ts}`));
  });

  test('all: one line per point; off: none; an agreeing shadow costs no lines', async () => {
    const pts = loadTrace({ n: 120, seed: 7 });
    const all = await createShadowScorer(a, hotShadow(), { label: 'w-all', write: 'all' }).score(pts, {});
    assert.equal(all.shadow!.lines.length, 120);
    const off = await createShadowScorer(a, hotShadow(), { label: 'w-off', write: 'off' }).score(pts, {});
    assert.equal(off.shadow, undefined);
    const same = await createShadowScorer(a, b, { label: 'w-same' }).score(pts, {});
    assert.equal(same.shadow, undefined);
  });

  test('at the bound: maxLines lines per batch, the first in batch order; the rest counted as dropped', async () => {
    const pts = loadTrace({ n: 300, seed: 8 });
    const s = createShadowScorer(a, hotShadow(), { label: 'w-bound', version: 'v-bound', write: 'all', maxLines: 64 });
    const first = await s.score(pts, {});
    assert.deepEqual(first.shadow!.points, Array.from({ length: 64 }, (_, i) => i));
    assert.equal(await dropped('w-bound'), 300 - 64);
    // A redelivered batch renders the same lines (same timestamps: InfluxDB overwrites, no duplicates).
    const again = await createShadowScorer(a, hotShadow(), { label: 'w-bound2', version: 'v-bound', write: 'all', maxLines: 64 }).score(pts, {});
    assert.deepEqual(again.shadow!.lines, first.shadow!.lines);
  });

  test('modelFileVersion: 12 hex digits of the file sha256, stable', () => {
    const v = modelFileVersion(DEFAULT_MODEL_PATH);
    assert.match(v, /^[0-9a-f]{12}$/);
    assert.equal(modelFileVersion(DEFAULT_MODEL_PATH), v);
  });
});

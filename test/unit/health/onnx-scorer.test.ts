import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createOnnxScorer, type HealthScorer } from '../../../activities/health/onnx-scorer.ts';
import { ScorerClosedError } from '../../../activities/health/scorer.ts';
import type { DeviceBaseline } from '../../../activities/health/features.ts';
import { loadTrace } from '../../fixtures/health/synthetic.ts';

describe('ONNX health scorer', () => {
  let scorer: HealthScorer;
  before(async () => {
    scorer = await createOnnxScorer();
  });
  after(async () => {
    await scorer.close();
  });

  test('a healthy load batch is mostly healthy', async () => {
    const pts = loadTrace({ n: 2_000, seed: 7 });
    const { results, baselines } = await scorer.score(pts, {});
    assert.equal(results.length, pts.length);
    const healthy = results.filter((r) => r.class === 'healthy').length;
    assert.ok(healthy / results.length >= 0.97, `only ${healthy}/${results.length} healthy`);
    for (const r of results) {
      assert.ok(r.score > 0 && r.score < 1, `score ${r.score} outside (0, 1)`);
      if (r.class === 'healthy') assert.deepEqual(r.reasons, []);
    }
    assert.equal(baselines[pts[0]!.device]!.n, 2_000);
  });

  test('thermal runaway (no throttle flags) is degraded or critical with a named reason', async () => {
    // 0.4 °C per 1 s sample from 66 °C: past 100 °C after ~85 samples.
    const pts = loadTrace({ n: 700, seed: 8, runawayFrom: 600 });
    const { results } = await scorer.score(pts, {});
    const late = results.slice(650);
    const flagged = late.filter((r) => r.class !== 'healthy');
    assert.ok(flagged.length / late.length >= 0.9, `only ${flagged.length}/${late.length} flagged`);
    assert.ok(
      flagged.every((r) => r.reasons.some((x) => x.startsWith('temp_') || x.startsWith('fan_'))),
      JSON.stringify(flagged.slice(0, 3)),
    );
    const before = results.slice(300, 600).filter((r) => r.class === 'healthy').length;
    assert.ok(before >= 290, `warm-up should be healthy, got ${before}/300`);
  });

  test('hard faults override the model', async () => {
    const pts = loadTrace({ n: 50, seed: 9 });
    pts[40]!.fields['xid'] = 79;
    pts[10]!.fields['throttle_thermal'] = 1;
    pts[12]!.fields['throttle_reasons'] = 0x40;
    const { results } = await scorer.score(pts, {});
    assert.equal(results[40]!.class, 'critical');
    assert.equal(results[40]!.reasons[0], 'xid_79_gpu_fallen_off_bus');
    // Issue 10: XID 79 needs a reboot (catalog): the device stays critical after the XID row.
    assert.equal(results[45]!.class, 'critical');
    assert.ok(results[45]!.reasons.includes('driver_xid_79'));
    // Issue 10: a SW thermal slowdown is GPU Boost at its target (routine on consumer boards): degraded;
    // HW thermal slowdown (0x40) is hardware protection: critical.
    assert.equal(results[10]!.class, 'degraded');
    assert.ok(results[10]!.reasons.includes('sw_thermal_slowdown'));
    assert.equal(results[12]!.class, 'critical');
    assert.ok(results[12]!.reasons.includes('hw_slowdown'));
  });

  test('deterministic: same input, same output, across scorers and batch splits', async () => {
    const pts = loadTrace({ n: 900, seed: 10, runawayFrom: 700 });
    const a = await scorer.score(pts, {});
    const other = await createOnnxScorer();
    try {
      const b = await other.score(pts, {});
      assert.deepEqual(b, a);
      let baselines: Record<string, DeviceBaseline> = {};
      const parts = [];
      for (let i = 0; i < pts.length; i += 250) {
        const r = await other.score(pts.slice(i, i + 250), JSON.parse(JSON.stringify(baselines)));
        parts.push(...r.results);
        baselines = r.baselines;
      }
      assert.deepEqual(parts, a.results);
      assert.deepEqual(baselines, a.baselines);
    } finally {
      await other.close();
    }
  });

  test('an empty batch needs no model call; a closed scorer refuses work', async () => {
    const s = await createOnnxScorer();
    const r = await s.score([], { d: { v: 1, n: 3, lastTs: '1', tempMean: 40, lastSbe: null, lastDbe: null, smClockMax: null, powerLimit: null, memTotal: null } });
    assert.deepEqual(r.results, []);
    assert.equal(r.baselines['d']!.n, 3);
    await s.close();
    await assert.rejects(s.score(loadTrace({ n: 1 }), {}), ScorerClosedError);
  });

  test('a missing model file fails with the path', async () => {
    await assert.rejects(createOnnxScorer({ modelPath: '/nonexistent/model.onnx' }), /\/nonexistent\/model\.onnx/);
  });
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Point } from '../../../lib/point.ts';
import { featurize, FEATURE_NAMES, FI, N_FEATURES, newBaseline, TEMP_TAU_S, type DeviceBaseline } from '../../../activities/health/features.ts';
import spec from '../../../ml/features.json' with { type: 'json' };

const T0 = 1_750_000_000_000_000_000n;
const pt = (device: string, sec: number, fields: Record<string, number>): Point => ({
  device,
  ts: (T0 + BigInt(Math.round(sec * 1e9))).toString(),
  tags: {},
  fields,
});
const row = (f: Float32Array, r: number): Float32Array => f.subarray(r * N_FEATURES, (r + 1) * N_FEATURES);
// Features are stored as float32.
const impute = (name: string): number => Math.fround(spec.features.find((f) => f.name === name)!.impute);

describe('featurize', () => {
  test('feature order comes from ml/features.json', () => {
    assert.deepEqual([...FEATURE_NAMES], spec.features.map((f) => f.name));
    assert.equal(N_FEATURES, 23);
  });

  test('matches the Python training mirror on the parity fixture', () => {
    const fx = JSON.parse(readFileSync(new URL('../../fixtures/health/feature-parity.json', import.meta.url), 'utf8')) as {
      featureOrder: string[];
      points: Point[];
      features: number[][];
      baselines: Record<string, DeviceBaseline>;
    };
    assert.deepEqual(fx.featureOrder, [...FEATURE_NAMES]);
    assert.ok(fx.points.length > 200);
    const { features, rows, baselines } = featurize(fx.points, {});
    assert.equal(rows, fx.points.length);
    for (let r = 0; r < rows; r++) {
      const want = fx.features[r]!;
      for (let c = 0; c < N_FEATURES; c++) {
        const got = features[r * N_FEATURES + c]!;
        assert.ok(Math.abs(got - want[c]!) <= 1e-4 * Math.max(1, Math.abs(want[c]!)), `row ${r} ${FEATURE_NAMES[c]}: ts ${got} vs py ${want[c]}`);
      }
    }
    for (const [dev, b] of Object.entries(fx.baselines)) {
      const mine = baselines[dev]!;
      assert.equal(mine.n, b.n);
      assert.equal(mine.lastTs, b.lastTs);
      assert.equal(mine.lastSbe, b.lastSbe);
      assert.equal(mine.smClockMax, b.smClockMax);
      assert.ok(Math.abs((mine.tempMean ?? 0) - (b.tempMean ?? 0)) < 1e-9);
    }
  });

  test('a missing reading is imputed and flagged, never read as 0', () => {
    const { features } = featurize([pt('a', 0, { power_w: 100, power_limit_w: 200 })], {});
    const r = row(features, 0);
    assert.equal(r[FI.temp_missing], 1);
    assert.equal(r[FI.temp_c], impute('temp_c'));
    assert.notEqual(r[FI.temp_c], 0);
    assert.equal(r[FI.clock_missing], 1);
    assert.equal(r[FI.sm_clock_ratio], impute('sm_clock_ratio'));
    assert.equal(r[FI.util_missing], 1);
    assert.equal(r[FI.fan_missing], 1);
    assert.equal(r[FI.ecc_missing], 1);
    assert.equal(r[FI.power_missing], 0);
    assert.ok(Math.abs(r[FI.power_ratio]! - 0.5) < 1e-6);
    // A real 0 stays 0 and is not marked missing.
    const z = row(featurize([pt('a', 0, { util_gpu_pct: 0, fan_pct: 0, temperature_c: 30 })], {}).features, 0);
    assert.equal(z[FI.util_gpu], 0);
    assert.equal(z[FI.util_missing], 0);
    assert.equal(z[FI.fan_ratio], 0);
    assert.equal(z[FI.fan_missing], 0);
  });

  test('ECC deltas are since the previous reading; first reading and counter resets give 0', () => {
    const pts = [
      pt('a', 0, { ecc_sbe: 10, ecc_dbe: 2 }),
      pt('a', 1, { ecc_sbe: 15, ecc_dbe: 2 }),
      pt('a', 2, { ecc_sbe: 3 }), // reset (driver reload)
      pt('a', 3, { ecc_dbe: 4 }),
    ];
    const { features, baselines } = featurize(pts, {});
    assert.equal(row(features, 0)[FI.ecc_sbe_delta_log], 0);
    assert.equal(row(features, 0)[FI.ecc_dbe_delta_log], 0);
    assert.ok(Math.abs(row(features, 1)[FI.ecc_sbe_delta_log]! - Math.log1p(5)) < 1e-6);
    assert.equal(row(features, 2)[FI.ecc_sbe_delta_log], 0);
    assert.equal(row(features, 2)[FI.ecc_missing], 0);
    assert.ok(Math.abs(row(features, 3)[FI.ecc_dbe_delta_log]! - Math.log1p(2)) < 1e-6);
    assert.equal(baselines['a']!.lastSbe, 3);
    assert.equal(baselines['a']!.lastDbe, 4);
  });

  test('temperature baseline is a time-weighted EWMA compared before the update', () => {
    const pts = [pt('a', 0, { temperature_c: 50 }), pt('a', TEMP_TAU_S, { temperature_c: 70 }), pt('a', TEMP_TAU_S, { temperature_c: 90 })];
    const { features, baselines } = featurize(pts, {});
    assert.equal(row(features, 0)[FI.temp_vs_baseline_c], 0);
    assert.equal(row(features, 1)[FI.temp_vs_baseline_c], 20);
    const afterOneTau = 50 + (1 - Math.exp(-1)) * 20;
    // Same timestamp again: compared with the mean, which does not move.
    assert.ok(Math.abs(row(features, 2)[FI.temp_vs_baseline_c]! - (90 - afterOneTau)) < 1e-4);
    assert.ok(Math.abs(baselines['a']!.tempMean! - afterOneTau) < 1e-9);
    assert.equal(baselines['a']!.n, 3);
  });

  test('baselines are JSON-safe, not mutated, and splitting a batch changes nothing', () => {
    const pts: Point[] = [];
    for (let i = 0; i < 40; i++) {
      pts.push(pt(i % 2 ? 'a' : 'b', i, { temperature_c: 40 + i, sm_clock_mhz: 1000 + 10 * i, ecc_sbe: i, mem_used_mib: 10 * i, mem_free_mib: 1000 }));
    }
    const whole = featurize(pts, {});
    const start: Record<string, DeviceBaseline> = {};
    const first = featurize(pts.slice(0, 17), start);
    assert.deepEqual(start, {});
    const restored = JSON.parse(JSON.stringify(first.baselines)) as Record<string, DeviceBaseline>;
    const frozen = JSON.stringify(restored);
    const second = featurize(pts.slice(17), restored);
    assert.equal(JSON.stringify(restored), frozen, 'input baselines must not be mutated');
    assert.deepEqual([...first.features, ...second.features], [...whole.features]);
    assert.deepEqual(second.baselines, whole.baselines);
    assert.deepEqual(Object.keys(whole.baselines).sort(), ['a', 'b']);
  });

  test('SM clock ratio uses sm_clock_max_mhz, else the rolling max; throttle bitmask bits', () => {
    const { features, baselines } = featurize(
      [
        pt('a', 0, { sm_clock_mhz: 1500 }),
        pt('a', 1, { sm_clock_mhz: 750, util_gpu_pct: 100, throttle_reasons: 0x4 }),
        pt('b', 0, { sm_clock_mhz: 1000, sm_clock_max_mhz: 2000, throttle_reasons: 0x40 }),
        pt('b', 1, { throttle_reasons: 0x44, throttle_thermal: 0 }),
      ],
      {},
    );
    assert.equal(row(features, 0)[FI.sm_clock_ratio], 1);
    assert.equal(row(features, 1)[FI.sm_clock_ratio], 0.5);
    assert.equal(row(features, 1)[FI.util_clock_gap], 0.5);
    assert.equal(row(features, 1)[FI.throttle_power], 1);
    assert.equal(row(features, 1)[FI.throttle_thermal], 0);
    assert.equal(row(features, 2)[FI.sm_clock_ratio], 0.5);
    assert.equal(row(features, 2)[FI.throttle_thermal], 1);
    assert.equal(row(features, 2)[FI.throttle_hw_slowdown], 1);
    // An explicit flag wins over the bitmask.
    assert.equal(row(features, 3)[FI.throttle_thermal], 0);
    assert.equal(row(features, 3)[FI.throttle_power], 1);
    assert.equal(baselines['b']!.smClockMax, 2000);
    assert.deepEqual(newBaseline().v, 1);
  });
});

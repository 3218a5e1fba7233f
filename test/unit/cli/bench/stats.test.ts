/** The benchmarks' arithmetic: medians with min/max over trials, nearest-rank percentiles, least-squares slope. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latencySummary, leastSquaresSlope, median, percentile, round, roundFigures, summarizeTrials } from '../../../../cli/bench/stats.ts';

test('median: middle value, mean of the middle two for an even count, order-independent', () => {
  assert.equal(median([3]), 3);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), RangeError);
});

test('summarizeTrials: median, min and max per leaf, in the trials’ own (nested) shape', () => {
  const trials = [
    { pps: 100, cpu: { worker: 3, influxd: 10 } },
    { pps: 300, cpu: { worker: 1, influxd: 30 } },
    { pps: 200, cpu: { worker: 2, influxd: 20 } },
  ];
  const s = summarizeTrials(trials);
  assert.deepEqual(s.median, { pps: 200, cpu: { worker: 2, influxd: 20 } });
  assert.deepEqual(s.min, { pps: 100, cpu: { worker: 1, influxd: 10 } });
  assert.deepEqual(s.max, { pps: 300, cpu: { worker: 3, influxd: 30 } });
});

test('summarizeTrials: a figure missing or not finite in a trial is taken over the others', () => {
  const s = summarizeTrials<{ a: number; b?: number }>([{ a: 1, b: 10 }, { a: 2 }, { a: 3, b: Number.NaN }]);
  assert.deepEqual(s.median, { a: 2, b: 10 });
  assert.deepEqual(s.max, { a: 3, b: 10 });
});

test('percentile: nearest rank (with 20 samples p99 is the maximum, p50 the 10th value)', () => {
  const v = Array.from({ length: 20 }, (_, i) => 20 - i); // 20 … 1, unsorted on purpose
  assert.equal(percentile(v, 50), 10);
  assert.equal(percentile(v, 99), 20);
  assert.equal(percentile(v, 0), 1);
  assert.equal(percentile([7], 99), 7);
  assert.throws(() => percentile(v, 101), RangeError);
  assert.deepEqual(latencySummary([5, 1, 9]), { n: 3, p50: 5, p99: 9, max: 9 });
  assert.equal(latencySummary([]).n, 0);
});

test('leastSquaresSlope: exact on a line, the fitted slope on noise, 0 when x does not vary', () => {
  assert.equal(leastSquaresSlope([{ x: 0, y: 100 }, { x: 1, y: 102 }, { x: 2, y: 104 }]), 2);
  // y = 1, 2, 2, 3 at x = 0…3: slope = Σ(dx·dy)/Σdx² = (1.5·1 + 0.5·0 + 0.5·0 + 1.5·1)/5 = 0.6
  assert.ok(Math.abs(leastSquaresSlope([{ x: 0, y: 1 }, { x: 1, y: 2 }, { x: 2, y: 2 }, { x: 3, y: 3 }]) - 0.6) < 1e-12);
  assert.equal(leastSquaresSlope([{ x: 1, y: 5 }]), 0);
  assert.equal(leastSquaresSlope([{ x: 1, y: 5 }, { x: 1, y: 9 }]), 0);
  assert.equal(round(leastSquaresSlope([{ x: 0.1, y: 43.3 }, { x: 0.2, y: 43.3 }, { x: 0.3, y: 43.3 }])), 0);
});

test('round / roundFigures: 3 significant digits, whole numbers from 1,000, nested', () => {
  assert.equal(round(0.123456), 0.123);
  assert.equal(round(14412.7), 14413);
  assert.deepEqual(roundFigures({ a: 1.23456, b: { c: 98765.4 }, d: 'text' }), { a: 1.23, b: { c: 98765 }, d: 'text' });
});

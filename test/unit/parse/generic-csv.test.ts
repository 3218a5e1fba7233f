import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../../../lib/parse/index.ts';
import { fixture } from './helpers.ts';

describe('generic CSV timestamp,device,<field>…', () => {
  const file = 'generic-epochs.csv';
  const { points, summary } = parseText(fixture(file), { fileName: file });

  test('detected as generic-csv with the device column as identity', () => {
    assert.equal(summary.format, 'generic-csv');
    assert.equal(summary.identity, 'device_column');
    assert.equal(summary.rows, 5);
    assert.equal(summary.points, 4);
  });

  test('epoch seconds, ms, ns and ISO fractions give exact ns strings', () => {
    assert.deepEqual(points.map((p) => [p.device, p.ts]), [
      ['node1-gpu0', '1706704496000000000'],
      ['node1-gpu1', '1706704496789000000'],
      ['node1-gpu0', '1706704496789123456'],
      ['node1-gpu1', '1706704496500000000'],
    ]);
  });

  test('canonical, DCGM and nvidia-smi names map to canonical fields; empty cells are absent', () => {
    assert.deepEqual(points[0]!.fields, { temperature_c: 45, power_w: 300.5, util_gpu_pct: 97, fan_pct: 30 });
    assert.deepEqual(points[1]!.fields, { temperature_c: 46, power_w: 301.5, util_gpu_pct: 98, fan_pct: 31 });
    assert.deepEqual(points[3]!.fields, { temperature_c: 48, util_gpu_pct: 100 });
  });

  test('a row with no values is rejected with its line number', () => {
    assert.deepEqual(summary.rejections, [{ file, line: 6, reason: 'no numeric value in row' }]);
  });
});

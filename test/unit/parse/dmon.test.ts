import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../../../lib/parse/index.ts';
import { fixture } from './helpers.ts';

const BASE = 1_700_000_000_000;

describe('nvidia-smi dmon', () => {
  test('old column set, two GPUs, no time columns: one round at the base time', () => {
    const file = 'real/dcgm-exporter__nvml-go-sample-dmon-2gpu.txt';
    const { points, summary } = parseText(fixture(file), { fileName: file, baseTimeMs: BASE });
    assert.equal(summary.format, 'dmon');
    assert.equal(summary.timeSource, 'derived');
    assert.ok(summary.notes.some((n) => n.startsWith('no timestamp column: timestamps derived from base time 2023-11-14T22:13:20.000Z + 1000 ms')));
    assert.deepEqual(points, [
      {
        device: 'gpu0',
        ts: '1700000000000000000',
        tags: { gpu_index: '0' },
        fields: { power_w: 20, temperature_c: 43, util_gpu_pct: 0, util_mem_pct: 8, util_enc_pct: 0, util_dec_pct: 0, mem_clock_mhz: 324, gr_clock_mhz: 135 },
      },
      {
        device: 'gpu1',
        ts: '1700000000000000000',
        tags: { gpu_index: '1' },
        fields: { power_w: 10, temperature_c: 32, util_gpu_pct: 0, util_mem_pct: 0, util_enc_pct: 0, util_dec_pct: 0, mem_clock_mhz: 324, gr_clock_mhz: 324 },
      },
    ]);
  });

  test('new column set: "-" is absent, each repeated GPU starts a new round of intervalMs', () => {
    const file = 'real/nvidia_gpu_exporter__rtx-2080-super__595.71.05__load__dmon.txt';
    const { points, summary } = parseText(fixture(file), { fileName: file, baseTimeMs: BASE, intervalMs: 500 });
    assert.equal(summary.rows, 5);
    assert.deepEqual(points.map((p) => p.ts), [
      '1700000000000000000',
      '1700000000500000000',
      '1700000001000000000',
      '1700000001500000000',
      '1700000002000000000',
    ]);
    assert.equal('mem_temperature_c' in points[0]!.fields, false);
    assert.deepEqual(points[0]!.fields, {
      power_w: 98,
      temperature_c: 45,
      util_gpu_pct: 8,
      util_mem_pct: 3,
      util_enc_pct: 100,
      util_dec_pct: 0,
      util_jpg_pct: 0,
      util_ofa_pct: 0,
      mem_clock_mhz: 7500,
      gr_clock_mhz: 2055,
    });
  });

  test('-o DT: date/time columns, repeated headers skipped, short row rejected', () => {
    const file = 'dmon-dt.txt';
    const { points, summary } = parseText(fixture(file), { fileName: file });
    assert.equal(summary.timeSource, 'column');
    assert.equal(summary.rows, 5);
    assert.deepEqual(points.map((p) => [p.device, p.ts, p.fields.power_w]), [
      ['gpu0', '1706702400000000000', 98],
      ['gpu1', '1706702400000000000', 60],
      ['gpu0', '1706702401000000000', 99],
      ['gpu1', '1706702401000000000', 61],
    ]);
    assert.deepEqual(summary.rejections, [{ file, line: 9, reason: 'expected 12 columns, got 5' }]);
    assert.deepEqual(summary.warnings, []);
  });

  test('-o T: time of day only, date from the base time, midnight rollover', () => {
    const file = 'dmon-time-only.txt';
    const { points } = parseText(fixture(file), { fileName: file, baseTimeMs: Date.UTC(2024, 0, 31, 10) });
    assert.deepEqual(points.map((p) => p.ts), ['1706745599000000000', '1706745600000000000']);
  });

  test('base time defaulting to now is flagged as not reproducible', () => {
    const file = 'real/dcgm-exporter__nvml-go-sample-dmon-2gpu.txt';
    const { summary } = parseText(fixture(file), { fileName: file });
    assert.ok(summary.warnings.some((w) => w.includes('not reproducible') || w.includes('re-parsing gives different timestamps')));
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../../../lib/parse/index.ts';
import { isDcgmBlank, parseLabels } from '../../../lib/parse/dcgm.ts';
import { fixture } from './helpers.ts';

const A = 'GPU-aaaaaaaa-0000-0000-0000-000000000000';
const B = 'GPU-bbbbbbbb-0000-0000-0000-000000000000';

describe('DCGM exporter Prometheus text', () => {
  describe('timestamps, blanks, MIG instance, throttle mask, ECC priority', () => {
    const file = 'dcgm-mig-blanks.prom';
    const { points, summary } = parseText(fixture(file), { fileName: file });

    test('summary', () => {
      assert.equal(summary.format, 'dcgm');
      assert.equal(summary.rows, 12);
      assert.equal(summary.points, 4);
      assert.equal(summary.timeSource, 'column');
      assert.deepEqual(summary.rejections, [
        { file, line: 16, column: 'DCGM_FI_DEV_FB_USED', reason: 'not a number: "not_a_number"' },
      ]);
      assert.ok(summary.notes.includes('1 samples of non-GPU metrics ignored'));
    });

    test('one point per device per timestamp; blank sentinels are absent', () => {
      assert.deepEqual(points.map((p) => [p.device, p.ts]), [
        [A, '1706704496789000000'],
        [B, '1706704496789000000'],
        [`${A}/gi3`, '1706704496789000000'],
        [A, '1706704497789000000'],
      ]);
      assert.deepEqual(points[0]!.fields, {
        temperature_c: 45,
        power_w: 300.25,
        throttle_reasons: 72,
        throttle_thermal: 1,
        throttle_power: 0,
        throttle_hw_slowdown: 1,
        ecc_dbe: 3,
        ecc_dbe_volatile: 1, // the volatile total is kept apart too (issue 10)
      });
      assert.deepEqual(points[1]!.fields, { xid: 79 });
      assert.deepEqual(points[2]!.fields, { util_gpu_pct: 55 });
      assert.deepEqual(points[3]!.fields, { temperature_c: 46 });
    });

    test('labels become tags; Hostname is the host', () => {
      assert.deepEqual(points[0]!.tags, {
        host: 'node-a',
        gpu_uuid: A,
        pci_bus_id: '00000000:07:00.0',
        gpu_index: '0',
        model: 'NVIDIA A100-SXM4-80GB',
      });
      assert.equal(points[2]!.tags.gpu_instance_id, '3');
    });
  });

  test('README snippet: "..." lines are rejected, 9223372036854775794 is blank', () => {
    const file = 'real/dcgm-exporter__README-quickstart-snippet.txt';
    const { points, summary } = parseText(fixture(file), { fileName: file, baseTimeMs: 1_700_000_000_000 });
    assert.equal(summary.rows, 5);
    assert.equal(summary.timeSource, 'scrape');
    assert.deepEqual(summary.rejections.map((r) => r.line), [7, 11]);
    assert.deepEqual(points, [
      {
        device: 'GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52',
        ts: '1700000000000000000',
        tags: { gpu_uuid: 'GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52', gpu_index: '0' },
        fields: { sm_clock_mhz: 139, mem_clock_mhz: 405 },
      },
    ]);
  });

  test('real L4 scrape: 23 families into one point', () => {
    const file = 'real/k8s-ai-conformance__kops__L4.prom';
    const { points, summary } = parseText(fixture(file), { fileName: file, baseTimeMs: 1_700_000_000_000 });
    assert.equal(summary.rows, 23);
    assert.equal(points.length, 1);
    const p = points[0]!;
    assert.equal(p.device, 'GPU-c2f76b33-7953-256e-8f33-1343419b1a1c');
    assert.equal(p.tags.host, 'i-030791dc5a37cd257');
    assert.equal(p.tags.driver, '580.105.08');
    assert.equal(Object.keys(p.fields).length, 23);
    assert.equal(p.fields.power_w, 16.365);
    assert.equal(p.fields.energy_mj, 4_742_776);
    assert.equal(p.fields.mem_free_mib, 22_563);
    assert.equal(p.fields.prof_pcie_tx_bytes, 112_603);
  });

  test('concatenated scrapes without timestamps become successive rounds', () => {
    const one = 'DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-x"} 40\nDCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-x"} 100.5\n';
    const { points } = parseText(one + one.replace('40', '41'), { fileName: 's.prom', baseTimeMs: 1_000, intervalMs: 15_000 });
    assert.deepEqual(points.map((p) => [p.ts, p.fields.temperature_c]), [
      ['1000000000', 40],
      ['16000000000', 41],
    ]);
  });

  test('blank sentinels of every DCGM type', () => {
    assert.equal(isDcgmBlank('9223372036854775792', Number("9223372036854775792")), true);
    assert.equal(isDcgmBlank('9223372036854775791', Number("9223372036854775791")), false);
    assert.equal(isDcgmBlank('2147483632', 2147483632), true);
    assert.equal(isDcgmBlank('2147483635', 2147483635), true);
    assert.equal(isDcgmBlank('2147483631', 2147483631), false);
    assert.equal(isDcgmBlank('140737488355328.000000', 140737488355328), true);
    assert.equal(isDcgmBlank('140737488355330.000000', 140737488355330), true);
    assert.equal(isDcgmBlank('16.365000', 16.365), false);
  });

  test('label parser handles escapes and spaces', () => {
    assert.deepEqual(parseLabels('a="x", b="y\\"z",c="line\\nnext"'), { a: 'x', b: 'y"z', c: 'line\nnext' });
    assert.equal(parseLabels('a=x'), undefined);
  });
});

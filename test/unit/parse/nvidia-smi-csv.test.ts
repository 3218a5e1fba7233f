import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText, ParseError } from '../../../lib/parse/index.ts';
import { fixture } from './helpers.ts';

const UUID_A = 'GPU-aaaaaaaa-0000-0000-0000-000000000000';
const UUID_B = 'GPU-bbbbbbbb-0000-0000-0000-000000000000';

describe('nvidia-smi --query-gpu CSV', () => {
  describe('units in cells, placeholders, trailing commas, interleaved GPUs, rejections', () => {
    const file = 'nvsmi-units-quirks.csv';
    const { points, summary } = parseText(fixture(file), { fileName: file });

    test('summary counts rows, points and rejections', () => {
      assert.equal(summary.format, 'nvidia-smi-csv');
      assert.equal(summary.rows, 6);
      assert.equal(summary.points, 4);
      assert.equal(summary.rejected, 4);
      assert.equal(summary.rejectedRows, 2);
      assert.equal(summary.identity, 'gpu_uuid');
      assert.deepEqual(summary.warnings, []);
    });

    test('each rejection names file, physical line, column and reason', () => {
      assert.deepEqual(summary.rejections, [
        { file, line: 4, column: 'temperature.gpu', reason: 'not a number: "abc"' },
        { file, line: 5, reason: 'expected 16 columns, got 7' },
        { file, line: 6, column: 'timestamp', reason: 'unparseable timestamp "not-a-time"' },
        { file, line: 7, column: 'power.draw [W]', reason: 'unknown unit "Q" in "12 Q"' },
      ]);
    });

    test('first GPU row: units stripped, [N/A]/[Not Supported] absent (not 0), pstate, bitmask flags', () => {
      assert.deepEqual(points[0], {
        device: UUID_A,
        ts: '1706704496789000000',
        tags: { gpu_uuid: UUID_A, pci_bus_id: '00000000:07:00.0', gpu_index: '0', model: 'NVIDIA A100-SXM4-80GB' },
        fields: {
          temperature_c: 45,
          power_limit_w: 400,
          power_w: 300.25,
          util_gpu_pct: 97,
          mem_used_mib: 841,
          sm_clock_mhz: 1350,
          pstate: 0,
          ecc_dbe: 0,
          throttle_reasons: 4,
          throttle_thermal: 0,
          throttle_power: 1,
          throttle_hw_slowdown: 0,
        },
      });
      assert.equal('mem_temperature_c' in points[0]!.fields, false);
      assert.equal('fan_pct' in points[0]!.fields, false);
    });

    test('second GPU: [Unknown Error] and deprecated placeholders are absent; thermal bits 0x60', () => {
      const p = points[1]!;
      assert.equal(p.device, UUID_B);
      assert.equal(p.ts, '1706704496790000000');
      assert.equal('power_w' in p.fields, false);
      assert.equal('ecc_dbe' in p.fields, false);
      assert.equal(p.fields.mem_temperature_c, 90);
      assert.equal(p.fields.throttle_reasons, 0x60);
      assert.equal(p.fields.throttle_thermal, 1);
      assert.equal(p.fields.throttle_hw_slowdown, 1);
      assert.equal(p.fields.throttle_power, 0);
    });

    test('a non-numeric value drops only that field; the row is kept', () => {
      const p = points[2]!;
      assert.equal(p.ts, '1706704497789000000');
      assert.equal('temperature_c' in p.fields, false);
      assert.equal(p.fields.power_w, 299);
      assert.equal(p.fields.pstate, 2);
    });

    test('power-brake bit 0x80 with HW slowdown 0x08 counts as HW slowdown, not power cap', () => {
      const p = points[3]!;
      assert.equal(p.ts, '1706704498789000000');
      assert.equal('power_w' in p.fields, false);
      assert.deepEqual(
        [p.fields.throttle_reasons, p.fields.throttle_hw_slowdown, p.fields.throttle_power, p.fields.ecc_dbe],
        [0x88, 1, 0, 2],
      );
    });

    test('time zone option shifts local nvidia-smi timestamps (Europe/Paris is UTC+1 in January)', () => {
      const r = parseText(fixture(file), { fileName: file, timeZone: 'Europe/Paris' });
      assert.equal(r.points[0]!.ts, '1706700896789000000');
    });
  });

  test('header repeated before every row: repeats are skipped and not counted as rows', () => {
    const file = 'nvsmi-repeated-header.csv';
    const { points, summary } = parseText(fixture(file), { fileName: file });
    assert.equal(summary.rows, 3);
    assert.equal(summary.points, 3);
    assert.equal(summary.rejected, 0);
    assert.equal(summary.identity, 'pci_bus_id');
    assert.deepEqual(
      points.map((p) => [p.device, p.ts, p.fields.util_gpu_pct, p.fields.mem_used_mib]),
      [
        ['00000000:01:00.0', '1687460216252000000', 22, 841],
        ['00000000:01:00.0', '1687460217274000000', 24, 869],
        ['00000000:01:00.0', '1687460218303000000', 29, 865],
      ],
    );
    assert.deepEqual(points[0]!.fields, { util_gpu_pct: 22, util_mem_pct: 6, mem_used_mib: 841, mem_free_mib: 7140, mem_total_mib: 8192 });
  });

  test('host option qualifies bus-id devices and becomes a tag', () => {
    const file = 'nvsmi-repeated-header.csv';
    const { points } = parseText(fixture(file), { fileName: file, host: 'rig1' });
    assert.equal(points[0]!.device, 'rig1/00000000:01:00.0');
    assert.equal(points[0]!.tags.host, 'rig1');
  });

  test('nounits: units only in the header', () => {
    const file = 'nvsmi-nounits.csv';
    const { points, summary } = parseText(fixture(file), { fileName: file });
    assert.equal(summary.identity, 'gpu_index');
    assert.deepEqual(points.map((p) => p.device), ['gpu0', 'gpu1']);
    assert.deepEqual(points[1]!.fields, { temperature_c: 50, power_w: 310.5, util_gpu_pct: 98, mem_used_mib: 842, sm_clock_mhz: 1365 });
  });

  test('unit conversion: GiB/KiB → MiB, mW/kW → W, GHz → MHz; wrong-dimension unit is a value rejection', () => {
    const file = 'nvsmi-unit-conversion.csv';
    const { points, summary } = parseText(fixture(file), { fileName: file });
    assert.deepEqual(points[0]!.fields, { mem_used_mib: 1536, mem_total_mib: 81920, power_w: 45, sm_clock_mhz: 1410, mem_clock_mhz: 1593 });
    assert.deepEqual(points[1]!.fields, { mem_used_mib: 2, mem_total_mib: 81920, power_w: 300, sm_clock_mhz: 1410 });
    assert.deepEqual(summary.rejections, [
      { file, line: 3, column: 'clocks.mem', reason: 'unit "MB" does not fit this column in "1000 MB"' },
    ]);
  });

  test('noheader without a columns option is a clear error', () => {
    const file = 'nvsmi-noheader.csv';
    assert.throws(() => parseText(fixture(file), { fileName: file }), (err: unknown) => {
      assert.ok(err instanceof ParseError);
      assert.match(err.message, /noheader.*columns option/);
      return true;
    });
  });

  test('noheader with the columns option', () => {
    const file = 'nvsmi-noheader.csv';
    const { points, summary } = parseText(fixture(file), {
      fileName: file,
      format: 'nvidia-smi-csv',
      columns: ['timestamp', 'index', 'temperature.gpu', 'power.draw [W]'],
    });
    assert.equal(summary.rows, 2);
    assert.deepEqual(points.map((p) => [p.device, p.ts, p.fields.temperature_c, p.fields.power_w]), [
      ['gpu0', '1706702400000000000', 45, 100.5],
      ['gpu0', '1706702401000000000', 46, 101.5],
    ]);
  });

  test('ISO timestamps with +08:00, a gpu column used as index while index is always 0', () => {
    const file = 'nvsmi-iso-gpu-column.csv';
    const { points, summary } = parseText(fixture(file), { fileName: file });
    assert.deepEqual(points.map((p) => [p.device, p.ts]), [
      ['gpu0', '1757323610000000000'],
      ['gpu1', '1757323610000000000'],
      ['gpu0', '1757323611000000000'],
      ['gpu1', '1757323611000000000'],
    ]);
    assert.deepEqual(points[1]!.fields, { mem_used_mib: 5, mem_total_mib: 81559, power_w: 73.23, temperature_c: 34 });
    assert.equal(summary.warnings.length, 1);
    assert.match(summary.warnings[0]!, /"gpu" is used as the GPU index/);
  });

  test('power-only file: device from the file name, or from the device option', () => {
    const file = 'logs/nvsmi-power-only.csv';
    const a = parseText(fixture('nvsmi-power-only.csv'), { fileName: file });
    assert.equal(a.summary.identity, 'file_name');
    assert.deepEqual(a.points.map((p) => [p.device, p.ts, p.fields.power_w]), [
      ['nvsmi-power-only', '1730313753189000000', 22.89],
      ['nvsmi-power-only', '1730313753239000000', 22.73],
      ['nvsmi-power-only', '1730313753290000000', 23],
    ]);
    const b = parseText(fixture('nvsmi-power-only.csv'), { fileName: file, device: 'rig-7', host: 'h1' });
    assert.equal(b.summary.identity, 'option');
    assert.equal(b.points[0]!.device, 'rig-7');
    assert.deepEqual(b.points[0]!.tags, { host: 'h1' });
  });

  test('interleaved GPUs that no column tells apart produce a warning (not a silent merge)', () => {
    const file = 'nvsmi-interleaved-model-only.csv';
    const { points, summary } = parseText(fixture(file), { fileName: file });
    assert.equal(summary.points, 4);
    assert.equal(summary.identity, 'model');
    assert.deepEqual(new Set(points.map((p) => p.device)), new Set(['NVIDIA GeForce RTX 4090']));
    assert.equal(summary.warnings.length, 1);
    assert.match(summary.warnings[0]!, /^2 rows repeat the previous timestamp for device NVIDIA GeForce RTX 4090: several GPUs/);
  });

  test('Windows (WDDM, CRLF) output, legacy per-reason throttle columns, America/New_York time', () => {
    const file = 'nvsmi-windows-wddm.csv';
    const { points, summary } = parseText(fixture(file), { fileName: file, timeZone: 'America/New_York' });
    assert.deepEqual(summary.droppedTextColumns, ['driver_model.current']);
    assert.equal(points[0]!.ts, '1624738787995000000'); // 16:19:47.995 EDT = 20:19:47.995Z
    assert.deepEqual(points[0]!.fields, {
      power_w: 32.7,
      throttle_reason_hw_slowdown: 0,
      throttle_reason_sw_thermal_slowdown: 1,
      throttle_reason_sw_power_cap: 0,
      throttle_thermal: 1,
      throttle_power: 0,
      throttle_hw_slowdown: 0,
    });
    assert.equal(points[1]!.fields.throttle_power, 1);
    assert.equal(points[1]!.fields.throttle_thermal, 0);
    assert.equal('mem_used_mib' in points[0]!.fields, false);
  });

  test('MIG: MIG- uuids stay as is; a GPU uuid with gi/ci is qualified per instance', () => {
    const file = 'nvsmi-mig.csv';
    const { points } = parseText(fixture(file), { fileName: file });
    assert.deepEqual(points.map((p) => p.device), [
      'MIG-11111111-2222-3333-4444-555555555555',
      'GPU-aaaaaaaa-0000-0000-0000-000000000000/gi2/ci0',
    ]);
    assert.deepEqual(points[0]!.tags, {
      gpu_uuid: 'MIG-11111111-2222-3333-4444-555555555555',
      gpu_instance_id: '1',
      compute_instance_id: '0',
    });
  });

  test('a mid-file header change is followed, with a warning', () => {
    const text = 'timestamp, index, temperature.gpu\n2024/01/31 12:00:00.000, 0, 40\ntimestamp, index, power.draw [W]\n2024/01/31 12:00:01.000, 0, 99.50 W\n';
    const { points, summary } = parseText(text, { fileName: 'x.csv' });
    assert.deepEqual(points.map((p) => p.fields), [{ temperature_c: 40 }, { power_w: 99.5 }]);
    assert.deepEqual(summary.warnings, ['header changed at line 3; later rows use the new columns']);
  });

  test('a row with only placeholders is rejected as having no numeric value', () => {
    const text = 'timestamp, index, temperature.gpu, power.draw [W]\n2024/01/31 12:00:00.000, 0, [N/A], [N/A]\n';
    const { points, summary } = parseText(text, { fileName: 'x.csv' });
    assert.equal(points.length, 0);
    assert.deepEqual(summary.rejections, [{ file: 'x.csv', line: 2, reason: 'no numeric value in row' }]);
  });

  test('unknown time zone is a ParseError', () => {
    assert.throws(() => parseText('timestamp, index\n', { fileName: 'x.csv', timeZone: 'Mars/Olympus' }), ParseError);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../../../lib/parse/index.ts';
import { realTraceCsv } from '../../../ml/real-traces.ts';
import { NVSMI_ENUMS, parseEnumCell, parseEnumCellRules, type CellValue } from '../../../lib/parse/fields.ts';

const UUID = 'GPU-0a0b0c0d-0000-4000-8000-000000000001';

describe('driver fault signals (issue 10)', () => {
  test('real 202-column capture made H100: recovery action, remap, fabric, headroom, volatile ECC, counters', () => {
    const csv = realTraceCsv({
      board: 'h100',
      rows: 3,
      uuid: UUID,
      row: (i) => ({
        'temperature.gpu.tlimit': String(30 - i * 20),
        'remapped_rows.pending': i >= 1 ? 'Yes' : 'No',
        'remapped_rows.uncorrectable': String(i),
        'remapped_rows.failure': i === 2 ? 'Yes' : 'No',
        gpu_recovery_action: ['None', 'Drain P2P', 'Drain and Reset'][i]!,
        'ecc.errors.uncorrected.volatile.total': String(i),
        'ecc.errors.uncorrected.aggregate.total': String(5 + i),
        'fabric.status': i === 2 ? 'NVML_ERROR_UNKNOWN' : 'Success',
      }),
    });
    const { points, summary } = parseText(csv, { fileName: 'h100.csv' });
    assert.equal(summary.rejected, 0);
    assert.equal(points.length, 3);
    const pick = (i: number, names: string[]) => names.map((n) => points[i]!.fields[n]);
    const names = [
      'gpu_recovery_action',
      'remapped_rows_pending',
      'remapped_rows_uncorrectable',
      'remapped_rows_failure',
      'temp_headroom_c',
      'ecc_dbe',
      'ecc_dbe_volatile',
      'fabric_state',
      'fabric_status',
    ];
    assert.deepEqual(pick(0, names), [0, 0, 0, 0, 30, 5, 0, 3, 0]);
    assert.deepEqual(pick(1, names), [3, 1, 1, 0, 10, 6, 1, 3, 0]);
    assert.deepEqual(pick(2, names), [4, 1, 2, 1, -10, 7, 2, 3, 1]);
    assert.equal(points[0]!.fields.power_max_limit_w, 700);
    assert.equal(points[0]!.fields.clocks_event_sw_power_cap_us, 221_310_321);
    assert.equal(summary.droppedTextColumns.includes('gpu_recovery_action'), false);
  });

  test('volatile ECC fills ecc_dbe when no aggregate column is present', () => {
    const csv = 'timestamp, uuid, ecc.errors.uncorrected.volatile.total, temperature.gpu\n2026/06/24 10:00:00.000, GPU-1, 2, 50\n';
    const { points } = parseText(csv, { fileName: 'v.csv' });
    assert.deepEqual(points[0]!.fields, { ecc_dbe: 2, ecc_dbe_volatile: 2, temperature_c: 50 });
  });

  test('an unknown recovery action is one value rejection naming the column; the row is kept', () => {
    const csv = 'timestamp, uuid, gpu_recovery_action, temperature.gpu\n2026/06/24 10:00:00.000, GPU-1, Sometimes, 50\n';
    const { points, summary } = parseText(csv, { fileName: 'bad.csv' });
    assert.equal(points.length, 1);
    assert.equal('gpu_recovery_action' in points[0]!.fields, false);
    assert.equal(summary.rejected, 1);
    assert.equal(summary.rejections[0]!.column, 'gpu_recovery_action');
    assert.match(summary.rejections[0]!.reason, /Sometimes/);
  });

  test('the memoised enum path returns exactly the general rules, and its memo is bounded', () => {
    const memo = new Map<string, CellValue>();
    const cells = ['None', 'Reset', 'reset', 'Drain and Reset', 'DRAIN P2P', '[N/A]', 'N/A', '', 'Maybe', ...Array.from({ length: 100 }, (_, i) => `junk${i}`)];
    for (const e of Object.values(NVSMI_ENUMS)) {
      for (const round of [0, 1]) for (const c of cells) assert.deepEqual(parseEnumCell(c, e, memo), parseEnumCellRules(c, e), `${e.field} "${c}" round ${round}`);
      memo.clear();
    }
    for (const c of cells) parseEnumCell(c, NVSMI_ENUMS.gpu_recovery_action!, memo);
    assert.equal(memo.size, 64);
  });

  test('DCGM names land on the same fields as nvidia-smi', () => {
    const lbl = `gpu="0",UUID="${UUID}",modelName="NVIDIA H100 80GB HBM3"`;
    const text = [
      `DCGM_FI_DEV_GET_GPU_RECOVERY_ACTION{${lbl}} 1 1782295200000`,
      `DCGM_FI_DEV_ROW_REMAP_PENDING{${lbl}} 1 1782295200000`,
      `DCGM_FI_DEV_ROW_REMAP_FAILURE{${lbl}} 1 1782295200000`,
      `DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS{${lbl}} 2 1782295200000`,
      `DCGM_FI_DEV_GPU_TEMP_LIMIT{${lbl}} 12 1782295200000`,
      `DCGM_FI_DEV_SLOWDOWN_TEMP{${lbl}} 87 1782295200000`,
      `DCGM_FI_DEV_ECC_DBE_VOL_TOTAL{${lbl}} 1 1782295200000`,
      `DCGM_FI_DEV_ECC_DBE_AGG_TOTAL{${lbl}} 4 1782295200000`,
      `DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL{${lbl}} 9 1782295200000`,
      `DCGM_FI_DEV_RETIRED_PENDING{${lbl}} 0 1782295200000`,
    ].join('\n');
    const { points } = parseText(text + '\n', { fileName: 'x.prom', format: 'dcgm' });
    assert.equal(points.length, 1);
    assert.deepEqual(points[0]!.fields, {
      gpu_recovery_action: 1,
      remapped_rows_pending: 1,
      remapped_rows_failure: 1,
      remapped_rows_uncorrectable: 2,
      temp_headroom_c: 12,
      temp_slowdown_c: 87,
      ecc_dbe: 4,
      ecc_dbe_volatile: 1,
      nvlink_replay_errors: 9,
      retired_pages_pending: 0,
    });
  });
});

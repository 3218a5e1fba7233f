import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Point } from '../../../lib/point.ts';
import { featurize, N_FEATURES } from '../../../activities/health/features.ts';
import { hardFaults, xidReason } from '../../../activities/health/hard-faults.ts';

const T0 = 1_750_000_000_000_000_000n;
const pts = (fieldsList: Record<string, number>[]): Point[] =>
  fieldsList.map((fields, i) => ({ device: 'GPU-x', ts: (T0 + BigInt(i) * 1_000_000_000n).toString(), tags: {}, fields }));

function rules(fieldsList: Record<string, number>[]) {
  const p = pts(fieldsList);
  const { features } = featurize(p, {});
  return p.map((q, i) => hardFaults(q, features, i * N_FEATURES));
}

describe('hard-fault rules', () => {
  test('XIDs are critical and named', () => {
    const r = rules([{ xid: 79 }, { xid: 48 }, { xid: 63 }, { xid: 999 }, { xid: 0 }]);
    assert.deepEqual(r[0], { class: 'critical', reasons: ['xid_79_gpu_fallen_off_bus'] });
    assert.deepEqual(r[1]!.reasons, ['xid_48_double_bit_ecc_error']);
    assert.deepEqual(r[2]!.reasons, ['xid_63_row_remap_or_page_retirement_event']);
    assert.deepEqual(r[3]!.reasons, ['xid_999']);
    assert.deepEqual(r[4], { class: null, reasons: [] });
    assert.equal(xidReason(74), 'xid_74_nvlink_error');
  });

  test('an ecc_dbe increase is critical; a historical non-zero count is not', () => {
    const r = rules([{ ecc_dbe: 3 }, { ecc_dbe: 3 }, { ecc_dbe: 5 }]);
    assert.equal(r[0]!.class, null);
    assert.equal(r[1]!.class, null);
    assert.deepEqual(r[2], { class: 'critical', reasons: ['ecc_dbe_increase_2'] });
  });

  test('thermal and HW slowdown are critical, power capping is not', () => {
    const r = rules([{ throttle_thermal: 1 }, { throttle_reasons: 0x8 }, { throttle_power: 1, throttle_reasons: 0x4 }, { throttle_reasons: 0x40 }]);
    assert.deepEqual(r[0], { class: 'critical', reasons: ['thermal_slowdown'] });
    assert.deepEqual(r[1], { class: 'critical', reasons: ['hw_slowdown'] });
    assert.deepEqual(r[2], { class: null, reasons: [] });
    assert.deepEqual(r[3]!.reasons, ['thermal_slowdown', 'hw_slowdown']);
  });
});

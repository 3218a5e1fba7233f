import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../../../lib/parse/index.ts';
import { fixture } from './helpers.ts';

describe('real captures copied under licence (test/fixtures/parse/real)', () => {
  test('202-column capture (driver 595): text columns dropped and counted, canonical values exact', () => {
    const file = 'real/nvidia_gpu_exporter__rtx-2080-super__595.71.05__load__query-gpu.csv';
    const { points, summary } = parseText(fixture(file), { fileName: file });
    assert.equal(summary.rows, 1);
    assert.equal(summary.rejected, 0);
    const p = points[0]!;
    assert.equal(p.ts, '1782296809788000000');
    assert.deepEqual(p.tags, {
      gpu_uuid: 'GPU-00000000-0000-0000-0000-000000000000',
      pci_bus_id: '00000000:0C:00.0',
      gpu_index: '0',
      model: 'NVIDIA GeForce RTX 2080 SUPER',
      driver: '595.71.05',
    });
    assert.equal(p.fields.power_w, 111.5); // power.draw wins over power.draw.instant / .average ([N/A])
    assert.equal(p.fields.power_limit_w, 250);
    assert.equal(p.fields.pstate, 2);
    assert.equal(p.fields.throttle_reasons, 0);
    assert.equal(p.fields.clocks_event_sw_power_cap_us, 221_310_321);
    assert.equal(p.fields.power_default_limit_w, 250);
    assert.equal(p.fields.display_attached, 1); // Yes
    assert.equal(p.fields.persistence_mode, 0); // Disabled
    assert.equal('mem_temperature_c' in p.fields, false); // N/A
    assert.equal('ecc_sbe' in p.fields, false); // [N/A]
    // gpu_recovery_action, fabric.state and fabric.status are enumerations now (issue 10), not dropped text.
    assert.equal(summary.droppedTextColumns.length, 39);
    assert.ok(summary.droppedTextColumns.includes('vbios_version'));
    assert.equal(summary.droppedTextColumns.includes('gpu_recovery_action'), false);
    assert.equal(p.fields.gpu_recovery_action, 0); // None
    assert.equal('fabric_state' in p.fields, false); // N/A
    assert.equal('temp_headroom_c' in p.fields, false); // [N/A]
    for (const v of Object.values(p.fields)) assert.equal(typeof v, 'number');
  });

  test('older driver sample: legacy clocks_throttle_reasons.* and Enabled/Disabled', () => {
    const file = 'real/nvidia_gpu_exporter__sample-output.csv';
    const { points } = parseText(fixture(file), { fileName: file });
    const f = points[0]!.fields;
    assert.deepEqual(
      [f.throttle_reasons, f.throttle_reason_gpu_idle, f.throttle_thermal, f.power_management, f.power_w, f.mem_clock_max_mhz],
      [1, 1, 0, 1, 32.7, 7751],
    );
  });
});

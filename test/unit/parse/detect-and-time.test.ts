import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { detectFormat } from '../../../lib/parse/index.ts';
import { TimeZoneResolver, parseDateTime, parseEpoch, parseTimestamp } from '../../../lib/parse/timestamp.ts';
import { fixture } from './helpers.ts';

describe('detectFormat', () => {
  const cases: Array<[string, string]> = [
    ['nvsmi-units-quirks.csv', 'nvidia-smi-csv'],
    ['nvsmi-repeated-header.csv', 'nvidia-smi-csv'],
    ['nvsmi-iso-gpu-column.csv', 'nvidia-smi-csv'],
    ['nvsmi-noheader.csv', 'nvidia-smi-csv'],
    ['generic-epochs.csv', 'generic-csv'],
    ['dmon-dt.txt', 'dmon'],
    ['dmon-time-only.txt', 'dmon'],
    ['real/nvidia_gpu_exporter__rtx-2080-super__595.71.05__load__dmon.txt', 'dmon'],
    ['real/dcgm-exporter__README-quickstart-snippet.txt', 'dcgm'],
    ['dcgm-mig-blanks.prom', 'dcgm'],
  ];
  for (const [name, format] of cases) {
    test(`${name} → ${format} (content, even under a misleading name)`, () => {
      assert.equal(detectFormat(fixture(name), 'upload.log'), format);
    });
  }
  test('headerless DCGM samples are detected by their names', () => {
    assert.equal(detectFormat('DCGM_FI_DEV_GPU_TEMP{gpu="0"} 45\n', 'x.txt'), 'dcgm');
  });
});

describe('timestamps', () => {
  const utc = new TimeZoneResolver('UTC');
  test('nvidia-smi local format in UTC and in zones with DST', () => {
    assert.equal(parseDateTime('2024/01/31 12:34:56.789', utc), '1706704496789000000');
    const paris = new TimeZoneResolver('Europe/Paris');
    assert.equal(parseDateTime('2024/07/01 12:00:00.000', paris), String(Date.UTC(2024, 6, 1, 10)) + '000000');
    assert.equal(parseDateTime('2024/01/01 12:00:00.000', paris), String(Date.UTC(2024, 0, 1, 11)) + '000000');
    const ny = new TimeZoneResolver('America/New_York');
    // 2024-03-10 03:30 EDT (after the spring-forward gap) = 07:30Z
    assert.equal(parseDateTime('2024/03/10 03:30:00', ny), String(Date.UTC(2024, 2, 10, 7, 30)) + '000000');
  });
  test('the same-minute fast path agrees with the full parser', () => {
    const tz = new TimeZoneResolver('Asia/Kolkata');
    const a = parseDateTime('2024/01/31 12:34:56.789', tz);
    const b = parseDateTime('2024/01/31 12:34:57.001', tz);
    const fresh = new TimeZoneResolver('Asia/Kolkata');
    assert.equal(a, '1706684696789000000');
    assert.equal(b, parseDateTime('2024/01/31 12:34:57.001', fresh));
    assert.equal(parseDateTime('2024/01/31 12:34:5x.001', tz), undefined);
  });
  test('ISO 8601 offsets and ns fractions', () => {
    assert.equal(parseDateTime('2025-09-08T17:26:50+08:00', utc), '1757323610000000000');
    assert.equal(parseDateTime('2025-09-08T09:26:50.123456789Z', utc), '1757323610123456789');
    assert.equal(parseDateTime('2025-09-08T04:26:50-0500', utc), '1757323610000000000');
  });
  test('invalid dates are refused, not rolled over', () => {
    assert.equal(parseDateTime('2024/02/31 12:00:00', utc), undefined);
    assert.equal(parseDateTime('2024/13/01 12:00:00', utc), undefined);
    assert.equal(parseTimestamp('yesterday', utc), undefined);
  });
  test('epoch magnitude decides the unit', () => {
    assert.equal(parseEpoch('1706704496'), '1706704496000000000');
    assert.equal(parseEpoch('1706704496.25'), '1706704496250000000');
    assert.equal(parseEpoch('1706704496789'), '1706704496789000000');
    assert.equal(parseEpoch('1706704496789123'), '1706704496789123000');
    assert.equal(parseEpoch('1706704496789123456'), '1706704496789123456');
    assert.equal(parseEpoch('-5'), undefined);
  });
});

/** lib/sample's template is the real capture under test/fixtures, byte for byte; the builder is deterministic and stays in range for large fleets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseText } from '../../../../lib/parse/index.ts';
import { WIDE_COLUMNS, WIDE_TEMPLATE, wideCaptureCsv } from '../../../../lib/sample/wide-capture.ts';
import { WIDE_FIXTURE } from '../../../support/wide-capture.ts';

test('the template is an identical copy of the real fixture', () => {
  assert.ok(readFileSync(WIDE_TEMPLATE).equals(readFileSync(WIDE_FIXTURE)));
});

test('212 columns, one point per row, distinct devices, temperatures below every example threshold', () => {
  const csv = wideCaptureCsv(2_000, 1_000);
  assert.equal(csv.split('\n')[0]!.split(',').length, WIDE_COLUMNS);
  assert.equal(csv, wideCaptureCsv(2_000, 1_000));
  const { points, summary } = parseText(csv, { fileName: 'wide.csv' });
  assert.equal(summary.rejected, 0);
  assert.equal(points.length, 2_000);
  assert.equal(new Set(points.map((p) => p.device)).size, 1_000);
  assert.equal(new Set(points.map((p) => p.tags.pci_bus_id)).size, 1_000);
  assert.ok(Math.max(...points.map((p) => p.fields.temperature_c!)) < 80);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Point } from '../../../lib/point.ts';
import { healthLinesFor, shadowLinesFor } from '../../../activities/health/line-protocol.ts';

test('gpu_health lines escape tags and strings and keep the point timestamp', () => {
  const p: Point = {
    device: 'host a,b=c',
    ts: '1750000000123456789',
    tags: { model: 'NVIDIA GeForce RTX 4090', host: 'h=1', gpu_uuid: 'GPU-1', gpu_index: '', custom: 'ignored' },
    fields: {},
  };
  const lines = healthLinesFor([p, { ...p, tags: {} }], [
    { class: 'critical', score: 0.71, reasons: ['xid_79_gpu_fallen_off_bus', 'note "quoted" \\ back'] },
    { class: 'healthy', score: 0.5, reasons: [] },
  ]);
  assert.equal(
    lines[0],
    'gpu_health,device=host\\ a\\,b\\=c,gpu_uuid=GPU-1,host=h\\=1,model=NVIDIA\\ GeForce\\ RTX\\ 4090 ' +
      'score=0.71,class="critical",reasons="xid_79_gpu_fallen_off_bus,note \\"quoted\\" \\\\ back" 1750000000123456789',
  );
  assert.equal(lines[1], 'gpu_health,device=host\\ a\\,b\\=c score=0.5,class="healthy",reasons="" 1750000000123456789');
  assert.throws(() => healthLinesFor([p], []), /1 points but 0 results/);
});

test('health_shadow lines: only the picked points, escaped, the version tag and the paging class beside the shadow verdict', () => {
  const p: Point = { device: 'host a,b=c', ts: '1750000000123456789', tags: { model: 'NVIDIA A100', host: 'h1' }, fields: {} };
  const q: Point = { ...p, ts: '1750000001123456789' };
  const lines = shadowLinesFor(
    [p, q],
    [
      { class: 'healthy', score: 0.5, reasons: [] },
      { class: 'healthy', score: 0.5, reasons: [] },
    ],
    [
      { class: 'degraded', score: 0.63, reasons: ['temp_c=80 "hot"'] },
      { class: 'healthy', score: 0.5, reasons: [] },
    ],
    [0],
    'v 2',
  );
  assert.deepEqual(lines, [
    'health_shadow,device=host\\ a\\,b\\=c,host=h1,model=NVIDIA\\ A100,shadow_model=v\\ 2 ' +
      'score=0.63,class="degraded",primary="healthy",reasons="temp_c=80 \\"hot\\"" 1750000000123456789',
  ]);
});

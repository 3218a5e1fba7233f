import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Point } from '../../../lib/point.ts';
import { healthLinesFor } from '../../../activities/health/line-protocol.ts';

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

/**
 * Issue 3 end to end on real servers: a multi-GPU nvidia-smi CSV goes through
 * `telemetry-stack ingest` → JetStream → collector workflows → InfluxDB with
 * exact counts and exact values; re-ingesting changes nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { eventually, runCli, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { readerFor, temporalClient, waitForCount } from '../../support/pipeline.ts';
import { statsQuery } from '../../../workflows/partition-collector.ts';

let s: TestStack;
let worker: ChildHandle;
let csv: string;

// 3 GPUs interleaved, units in cells, [N/A] and [Not Supported] values, one malformed row.
function multiGpuCsv(rows: number): string {
  const lines = ['timestamp, index, name, uuid, temperature.gpu, power.draw [W], utilization.gpu [%], memory.used [MiB], fan.speed [%]'];
  for (let i = 0; i < rows; i++) {
    const t = new Date(Date.UTC(2025, 0, 31, 12, 0, 0) + i * 1000);
    const ts = `${t.getUTCFullYear()}/01/31 ${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}:${String(t.getUTCSeconds()).padStart(2, '0')}.250`;
    for (let g = 0; g < 3; g++) {
      const power = g === 2 ? '[N/A]' : `${(100 + g * 10 + (i % 7) * 0.25).toFixed(2)} W`;
      const fan = g === 1 ? '[Not Supported]' : `${30 + (i % 5)} %`;
      lines.push(`${ts}, ${g}, NVIDIA H100 80GB HBM3, GPU-0000000${g}-aaaa-bbbb-cccc-00000000000${g}, ${40 + g + (i % 10)}, ${power}, ${(i * 3 + g) % 100} %, ${1000 + i} MiB, ${fan}`);
    }
    if (i === 10) lines.push(`${ts}, 9, broken row`);
  }
  return lines.join('\n') + '\n';
}

before(async () => {
  s = await startTestStack();
  csv = join(s.dataDir, 'multi-gpu.csv');
  writeFileSync(csv, multiGpuCsv(1000));
  worker = startCollectWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');
});
after(async () => {
  await worker?.stop();
  await s?.stop();
});

describe('ingest → JetStream → collectors → InfluxDB', () => {
  test('parse --json reports rows, points and the rejected row with file, line, column', () => {
    const r = runCli(['parse', csv, '--json'], s.env);
    assert.equal(r.status, 0, r.stderr);
    const j = r.json!;
    assert.equal(j.rows, 3001);
    assert.equal(j.points, 3000);
    assert.equal(j.rejected, 1);
    const rej = (j.rejections as { file: string; line: number; reason: string }[])[0]!;
    assert.equal(rej.file, 'multi-gpu.csv');
    assert.equal(rej.line, 35); // header + 11 rounds × 3 rows + 1
    assert.match(rej.reason, /column/i);
  });

  test('parse --points prints normalised points with canonical field names; missing values are absent', () => {
    const r = runCli(['parse', csv, '--points'], s.env);
    const pts = r.stdout.trim().split('\n').slice(0, 3).map((l) => JSON.parse(l));
    assert.equal(pts[0].device, 'GPU-00000000-aaaa-bbbb-cccc-000000000000');
    assert.equal(pts[0].ts, '1738324800250000000');
    assert.deepEqual(pts[0].fields, { temperature_c: 40, power_w: 100, util_gpu_pct: 0, mem_used_mib: 1000, fan_pct: 30 });
    assert.ok(!('fan_pct' in pts[1].fields), '[Not Supported] fan is absent, not 0');
    assert.ok(!('power_w' in pts[2].fields), '[N/A] power is absent, not 0');
  });

  test('ingest stores exactly one point per device per timestamp, with exact values', async () => {
    const r = runCli(['ingest', csv, '--json'], s.env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json!.points, 3000);
    assert.equal(r.json!.rejected, 1);
    assert.equal(r.json!.duplicates, 0);
    assert.ok((r.json!.points_per_s as number) > 0);
    assert.equal(await waitForCount(s, 3000, 120_000), 3000);
    const reader = readerFor(s);
    assert.equal(await reader.countPoints({ device: 'GPU-00000001-aaaa-bbbb-cccc-000000000001' }), 1000);
    // Row 500 of GPU 1: temperature 41 + 500 % 10, power 110 + (500 % 7 = 3) * 0.25, util (1500 + 1) % 100, no fan.
    const p = await reader.pointAt('GPU-00000001-aaaa-bbbb-cccc-000000000001', String(BigInt(Date.UTC(2025, 0, 31, 12, 8, 20)) * 1_000_000n + 250_000_000n));
    assert.deepEqual(p, { temperature_c: 41, power_w: 110.75, util_gpu_pct: 1, mem_used_mib: 1500 });
  });

  test('re-ingesting the same file leaves the count unchanged and reports the duplicates', async () => {
    const r = runCli(['ingest', csv, '--json'], s.env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json!.duplicates, 3000);
    await new Promise((res) => setTimeout(res, 3_000));
    assert.equal(await readerFor(s).countPoints(), 3000);
  });

  test('the collector workflows report what they wrote through the stats query', async () => {
    const t = await temporalClient(s);
    try {
      // Stats update when an activity run returns (up to maxMs after its last write): poll.
      const total = await eventually(
        async () => {
          let sum = 0;
          for (let p = 0; p < s.cfg.PARTITIONS_PER_TOPIC; p++) {
            const stats = await t.client.workflow.getHandle(`collector-p${p}`).query(statsQuery);
            assert.equal(stats.partition, p);
            sum += stats.pointsWritten;
          }
          return sum;
        },
        (n) => n >= 3000,
        30_000,
        'collector stats to show the 3000 points',
      );
      assert.ok(total >= 3000, `collectors wrote ${total} points (≥ 3000; redeliveries may add rewrites)`);
    } finally {
      await t.close();
    }
  });
});

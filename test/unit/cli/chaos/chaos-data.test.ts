/** The chaos data set: what the runner expects in InfluxDB is exactly what the file holds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStream } from '../../../../lib/parse/index.ts';
import { createReadStream } from 'node:fs';
import { CHAOS_GPUS, CHAOS_RULE, writeChaosData } from '../../../../cli/chaos/chaos-data.ts';
import { gpuUuid } from '../../../../lib/sample/generate-sample.ts';
import { alertWorkflowId } from '../../../../lib/alerts/ids.ts';

test('expectations per device equal what the parser reads from the file; the runaway crosses the rule', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-data-'));
  try {
    const d = await writeChaosData(dir, 'unit', 100_000, 7);
    assert.equal(d.points, 100_000);
    assert.equal(d.devices.size, CHAOS_GPUS);
    assert.equal(d.faultDevice, gpuUuid('chaos-unit', 0));
    assert.equal(d.alertId, alertWorkflowId(d.faultDevice, CHAOS_RULE.name));
    assert.equal(readFileSync(d.path, 'utf8').trimEnd().split('\n').length, 100_001, 'header + one row per point');
    // Sums as the pipeline will store them: through the real parser.
    const got = new Map<string, { n: number; t: number; p: number; max: number }>();
    const gen = parseStream(createReadStream(d.path), { fileName: 'unit.csv' });
    for (let r = await gen.next(); !r.done; r = await gen.next())
      for (const pt of r.value.points) {
        const e = got.get(pt.device) ?? { n: 0, t: 0, p: 0, max: 0 };
        e.n++;
        e.t += pt.fields.temperature_c!;
        e.p += pt.fields.power_w!;
        e.max = Math.max(e.max, pt.fields.temperature_c!);
        got.set(pt.device, e);
      }
    for (const [device, want] of d.devices) {
      const g = got.get(device)!;
      assert.equal(g.n, want.points, device);
      assert.equal(g.t, want.temperatureSum, device);
      assert.ok(Math.abs(g.p - want.powerSum) < 1e-6 * want.powerSum, device);
      if (device === d.faultDevice) assert.ok(g.max > CHAOS_RULE.value, 'the runaway exceeds the rule');
      else assert.ok(g.max < CHAOS_RULE.clear, `${device} stays below the rule`);
    }
    assert.ok(d.endMs <= Date.now() && Date.now() - d.endMs < 5_000, 'the samples end now');
    assert.equal(d.endMs - d.startMs, (100_000 / CHAOS_GPUS - 1) * 1_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a point count that is not a multiple of the GPUs is refused', async () => {
  await assert.rejects(writeChaosData(tmpdir(), 'bad', 100_001, 1), /multiple of 50/);
});

/**
 * `telemetry-stack health eval`: the comparison on the real-capture traces
 * (fast: ~35k points), through the CLI with --json, and what it must show —
 * where the rules win (driver verdicts the model cannot see), where the model
 * wins (no hard signal at all), and no false alarms on healthy real logs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchmarkReport } from '../../../ml/benchmark.ts';
import { firstHardSignal } from '../../../ml/benchmark.ts';
import { realScenarios, VARIANTS } from '../../../ml/real-scenarios.ts';

const BIN = fileURLToPath(new URL('../../../bin/telemetry-stack.js', import.meta.url));

describe('health eval', () => {
  test('--json on the real-capture traces: model vs rules vs both', () => {
    const r = spawnSync(process.execPath, [BIN, 'health', 'eval', '--source', 'real', '--json'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as BenchmarkReport;
    assert.equal(report.sources.real.faultEpisodes, 6 * VARIANTS);
    assert.equal(report.sources.synthetic.points, 0);
    const fault = (name: string) => report.perFault.find((f) => f.fault === name)!.detectors;
    // The driver's verdicts are invisible to the model's features: rules catch them, the model does not.
    assert.equal(fault('remap_failure_reset').rules.detected, VARIANTS);
    assert.equal(fault('remap_failure_reset').model.detected, 0);
    assert.equal(fault('persistent_dbe').both.detected, VARIANTS);
    // A clock collapse under load has no hard signal: only the model sees it.
    assert.equal(fault('clock_drop').rules.detected, 0);
    assert.equal(fault('clock_drop').model.detected, VARIANTS);
    // Headroom catches a cooling failure before the HW slowdown bit.
    assert.ok(fault('thermal_headroom').rules.medianLeadS! > 0);
    const healthy = report.healthy.find((h) => h.source === 'real')!;
    assert.ok(healthy.gpuDays >= 3, `${healthy.gpuDays} GPU-days`);
    for (const d of ['model', 'rules', 'both'] as const) assert.equal(healthy.falseAlarmsPerGpuDay[d], 0, d);
  });

  test('an unknown --source is refused by name', () => {
    const r = spawnSync(process.execPath, [BIN, 'health', 'eval', '--source', 'prod'], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /"prod" is not one of synthetic, real, all/);
  });

  test('scenarios are deterministic and their hard signals sit at or after onset', () => {
    const a = realScenarios();
    const b = realScenarios();
    assert.deepEqual(a.map((s) => s.csv.length), b.map((s) => s.csv.length));
    assert.equal(a[7]!.csv, b[7]!.csv);
    for (const s of a.filter((x) => x.kind === 'healthy')) assert.equal(s.onset, null);
    assert.equal(firstHardSignal([{ device: 'd', ts: '1', tags: {}, fields: { gpu_recovery_action: 1 } }], 0), 0);
    assert.equal(firstHardSignal([{ device: 'd', ts: '1', tags: {}, fields: { throttle_reasons: 0x4 } }], 0), null); // power cap is not a fault
  });
});

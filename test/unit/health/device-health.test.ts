/**
 * Exact classifications on traces built from the real 202-column capture
 * (ml/real-traces.ts): driver signals, sticky reset-needed state, per-device
 * limits. Issue 10's test list.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../../../lib/parse/index.ts';
import { createOnnxScorer, type HealthScorer } from '../../../activities/health/onnx-scorer.ts';
import { realTraceCsv, type RowOverrides, type TraceOptions } from '../../../ml/real-traces.ts';
import { MAX_HOLDS, assessPoint, newDeviceHealthState, peerScores } from '../../../activities/health/device-health.ts';
import type { HealthResult } from '../../../activities/health/classify.ts';
import type { Point } from '../../../lib/point.ts';

let scorer: HealthScorer;
before(async () => {
  scorer = await createOnnxScorer();
});
after(async () => {
  await scorer.close();
});

/** H100 under steady training load. */
const h100Load = (i: number): RowOverrides => ({
  'temperature.gpu': String(62 + (i % 3)),
  'temperature.gpu.tlimit': String(25 - (i % 3)),
  'power.draw': '520.00 W',
  'power.draw.instant': '520.00 W',
  'utilization.gpu': '97 %',
  'utilization.memory': '41 %',
  'memory.used': '61200 MiB',
  'memory.free': '19951 MiB',
  'clocks.current.sm': '1755 MHz',
  'clocks.current.graphics': '1755 MHz',
  pstate: 'P0',
  'clocks_event_reasons.active': '0x0000000000000000',
  'clocks_event_reasons.sw_power_cap': 'Not Active',
});

async function classes(opts: TraceOptions): Promise<HealthResult[]> {
  const { points, summary } = parseText(realTraceCsv(opts), { fileName: 'trace.csv' });
  assert.equal(summary.rejected, 0, JSON.stringify(summary.rejections.slice(0, 3)));
  assert.equal(points.length, opts.rows);
  const { results } = await scorer.score(points, {});
  return results;
}
const cls = (r: HealthResult[]) => r.map((x) => x.class);

describe('health on real-capture traces (issue 10)', () => {
  test('remap failure with gpu_recovery_action = Reset: critical with the action, until the signal clears', async () => {
    const r = await classes({
      board: 'h100',
      rows: 40,
      row: (i) => ({
        ...h100Load(i),
        'remapped_rows.pending': i >= 10 && i < 30 ? 'Yes' : 'No',
        'remapped_rows.uncorrectable': String(i < 10 ? 0 : i < 15 ? 1 : 2),
        'remapped_rows.failure': i >= 15 && i < 30 ? 'Yes' : 'No',
        // The driver's verdict is read once a minute by some collectors: absent rows keep the hold.
        gpu_recovery_action: i < 15 ? 'None' : i < 30 ? (i % 4 === 0 ? 'Reset' : '[N/A]') : 'None',
      }),
    });
    assert.deepEqual(cls(r.slice(0, 10)), Array(10).fill('healthy'));
    assert.deepEqual(cls(r.slice(10, 15)), Array(5).fill('degraded')); // pending remap: reset when convenient
    assert.deepEqual(cls(r.slice(15, 30)), Array(15).fill('critical'));
    assert.deepEqual(cls(r.slice(30)), Array(10).fill('healthy')); // reset done: signals read No / None
    const first = r[16]!;
    assert.ok(first.reasons.includes('driver_recovery_action'), first.reasons.join());
    assert.ok(first.reasons.includes('driver_remap_failure'));
    assert.ok(first.decidedBy!.includes('driver'));
    const hold = first.evidence!.holds.find((h) => h.cause === 'recovery_action')!;
    assert.match(hold.action, /nvidia-smi -r/);
    assert.equal(hold.clearsWhen, 'gpu_recovery_action reads None');
    // One episode: the hold keeps its start while the verdict repeats or is not read.
    assert.equal(r[29]!.evidence!.holds.find((h) => h.cause === 'recovery_action')!.since, hold.since);
    assert.match(hold.source, /^https:\/\/docs\.nvidia\.com\//);
  });

  test('persistent uncorrected ECC (volatile count stays non-zero) stays critical until the reset', async () => {
    const r = await classes({
      board: 'h100',
      rows: 40,
      row: (i) => ({
        ...h100Load(i),
        'ecc.errors.uncorrected.volatile.total': i >= 10 && i < 32 ? '1' : '0',
        'ecc.errors.uncorrected.aggregate.total': i >= 10 ? '1' : '0',
      }),
    });
    assert.deepEqual(cls(r.slice(0, 10)), Array(10).fill('healthy'));
    assert.deepEqual(cls(r.slice(10, 32)), Array(22).fill('critical'));
    assert.deepEqual(cls(r.slice(32)), Array(8).fill('healthy'));
    assert.ok(r[20]!.reasons.includes('driver_ecc_dbe'));
  });

  test('headroom reaching 0: degraded, then critical before the slowdown bit', async () => {
    // tlimit 12 → 0 over 24 s while the GPU heats (H100 slowdown at 87 °C).
    const r = await classes({
      board: 'h100',
      rows: 25,
      row: (i) => {
        const headroom = Math.max(12 - Math.floor(i / 2), 0);
        return { ...h100Load(i), 'temperature.gpu': String(87 - headroom), 'temperature.gpu.tlimit': String(headroom) };
      },
    });
    const headroomAt = (i: number) => Math.max(12 - Math.floor(i / 2), 0);
    for (let i = 0; i < 25; i++) {
      const h = headroomAt(i);
      // At 4 °C the model (its precursor head, trained on the driver's slowdown verdicts) warns one step
      // before the headroom rule; from 3 °C the limit rules decide.
      const want = h <= 1 ? 'critical' : h <= 4 ? 'degraded' : 'healthy';
      assert.equal(r[i]!.class, want, `row ${i} headroom ${h}: ${r[i]!.class} ${r[i]!.reasons.join()}`);
      if (h === 4) assert.deepEqual(r[i]!.decidedBy, ['model'], `row ${i}`);
      if (h <= 3) assert.ok(r[i]!.decidedBy?.includes('limits'), `row ${i}: ${r[i]!.decidedBy}`);
    }
    assert.ok(r[24]!.reasons.includes('thermal_headroom_0c'));
    assert.equal(r[24]!.reasons.includes('hw_slowdown'), false); // no slowdown bit yet: caught before it
  });

  test('an idle zero-RPM consumer card (real RTX 2080 SUPER row, fan 0 %) is healthy', async () => {
    const r = await classes({
      board: 'rtx2080s',
      rows: 120,
      row: (i) => ({
        'fan.speed': '0 %',
        'temperature.gpu': String(38 + (i % 4)),
        'power.draw': '17.80 W',
        'power.draw.instant': '17.80 W',
        'utilization.gpu': '0 %',
        'utilization.memory': '0 %',
        'utilization.encoder': '0 %',
        'clocks.current.sm': '300 MHz',
        'clocks.current.graphics': '300 MHz',
        'clocks.current.memory': '405 MHz',
        pstate: 'P8',
        'clocks_event_reasons.active': '0x0000000000000001',
        'clocks_event_reasons.gpu_idle': 'Active',
      }),
    });
    assert.deepEqual(cls(r), Array(120).fill('healthy'), JSON.stringify(r.find((x) => x.class !== 'healthy')));
  });

  test('a hot-but-in-spec A100 (84 °C steady, 6 °C headroom) is healthy', async () => {
    const r = await classes({
      board: 'a100',
      rows: 120,
      row: (i) => ({
        'temperature.gpu': String(84 - (i % 2)),
        'temperature.gpu.tlimit': String(6 + (i % 2)),
        'power.draw': '372.00 W',
        'power.draw.instant': '372.00 W',
        'utilization.gpu': '100 %',
        'utilization.memory': '63 %',
        'memory.used': '70100 MiB',
        'memory.free': '11051 MiB',
        'clocks.current.sm': '1410 MHz',
        'clocks.current.graphics': '1410 MHz',
        pstate: 'P0',
        'clocks_event_reasons.active': '0x0000000000000000',
        'clocks_event_reasons.sw_power_cap': 'Not Active',
      }),
    });
    assert.deepEqual(cls(r), Array(120).fill('healthy'), JSON.stringify(r.find((x) => x.class !== 'healthy')));
  });

  test('the same stopped fan on a hot consumer card is a fault', async () => {
    const r = await classes({
      board: 'rtx2080s',
      rows: 3,
      row: (i) => ({ 'fan.speed': '0 %', 'temperature.gpu': String([55, 70, 82][i]) }),
    });
    assert.deepEqual(cls(r).slice(1), ['degraded', 'critical']);
    assert.ok(r[2]!.reasons.includes('fan_stopped_at_82c'));
  });
});

describe('device-health state', () => {
  const pt = (i: number, fields: Record<string, number>, device = 'GPU-a', tags: Record<string, string> = {}): Point => ({
    device,
    ts: (1_782_295_200_000_000_000n + BigInt(i) * 1_000_000_000n).toString(),
    tags,
    fields,
  });

  test(`holds are bounded at ${MAX_HOLDS} per device, degraded ones dropped first`, () => {
    const s = newDeviceHealthState();
    // 12 distinct XIDs that need a reset, one per point, plus a pending remap (degraded).
    assessPoint(pt(0, { remapped_rows_pending: 1 }), s, undefined);
    const codes = [48, 61, 62, 63, 64, 74, 79, 95, 119, 120, 140, 61];
    codes.forEach((x, i) => assessPoint(pt(i + 1, { xid: x }), s, undefined));
    assert.equal(s.holds.length, MAX_HOLDS);
    assert.equal(s.holds.some((h) => h.cause === 'remap_pending'), false);
  });

  test('an unknown XID is critical from the catalog fallback, with the support action', () => {
    const s = newDeviceHealthState();
    const v = assessPoint(pt(0, { xid: 9999 }), s, undefined);
    assert.equal(v.class, 'critical');
    assert.equal(v.evidence.catalog[0]!.name, 'UNKNOWN');
    assert.match(v.evidence.catalog[0]!.recommended_action, /support/);
  });

  test('an application XID (13) is degraded for its row only', () => {
    const s = newDeviceHealthState();
    assert.equal(assessPoint(pt(0, { xid: 13 }), s, undefined).class, 'degraded');
    assert.equal(assessPoint(pt(1, { temperature_c: 50 }), s, undefined).class, null);
  });

  test('peer score: one GPU 20 °C hotter than 7 peers of its model on its host', () => {
    const pts = Array.from({ length: 8 }, (_, g) => pt(0, { temperature_c: g === 3 ? 78 : 55 + (g % 3) }, `GPU-${g}`, { host: 'n1', model: 'H100' }));
    pts.push(pt(0, { temperature_c: 90 }, 'GPU-other', { host: 'n2', model: 'H100' })); // alone on its host: no peers
    const p = peerScores(pts);
    assert.ok(p[3]!.z >= 4, JSON.stringify(p[3]));
    assert.equal(p[3]!.median, 56);
    assert.ok(Math.abs(p[0]!.z) < 2);
    assert.equal(p[8], undefined);
  });
});

/**
 * The collector's per-point work in one process, without servers (a
 * benchmark, not a test): the batches `ingest` would publish for the bench
 * file are decoded, scored by the bundled ONNX model, turned into the write
 * body (carried `gpu` lines + `gpu_health` lines) and evaluated by the example
 * rules, in fetched groups per partition as collectPartition does. What it
 * leaves out is I/O: NATS, the HTTP write, KV. `bench ingest` measures those;
 * this measures the JavaScript between them, stage by stage, steadily enough
 * (±3 %) to compare one change.
 *
 *   npx tsx test/bench/collect-path.ts [--points 400000] [--devices 64] [--fields 16|wide] [--runs 5] [--group 16]
 *
 * µs per point is process CPU time (GC threads included) over the run;
 * stage figures are wall time of the main thread. Last line: one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PerformanceObserver } from 'node:perf_hooks';
import { writeBenchFile, prepareRawData, type FieldSet } from '../../cli/bench/bench-data.ts';
import { decodeBatch } from '../../lib/stream/codec.ts';
import { lineBody, type Line } from '../../lib/influx/writer.ts';
import { createRuleEngine, initialRuleEngineState, parseAlertRules, type RuleBatchItem } from '../../lib/alerts/rules.ts';
import { createOnnxScorer, healthLinesFor } from '../../activities/health/index.ts';
import type { DeviceBaseline } from '../../activities/health/features.ts';
import { partitionFor } from '../../lib/partition.ts';
import { readFileSync } from 'node:fs';

const { values: a } = parseArgs({
  options: {
    points: { type: 'string', default: '400000' },
    devices: { type: 'string', default: '64' },
    fields: { type: 'string', default: '16' },
    runs: { type: 'string', default: '5' },
    group: { type: 'string', default: '16' },
    partitions: { type: 'string', default: '4' },
  },
});
const POINTS = Number(a.points);
const DEVICES = Number(a.devices);
const RUNS = Number(a.runs);
const GROUP = Number(a.group);
const PARTITIONS = Number(a.partitions);

const dir = mkdtempSync(join(tmpdir(), 'collect-path-'));
try {
  const file = await writeBenchFile(dir, { points: POINTS, devices: DEVICES, fields: a.fields as FieldSet });
  const raw = await prepareRawData(file.path, { partitions: PARTITIONS, batchPoints: 2_000, maxMessageBytes: 8 * 1024 * 1024 });
  raw.lines.length = 0;
  const rules = createRuleEngine(parseAlertRules(JSON.parse(readFileSync(new URL('../../infra/config/alert-rules.example.json', import.meta.url), 'utf8'))));
  const scorer = await createOnnxScorer();
  const byPart = Array.from({ length: PARTITIONS }, () => [] as Uint8Array[]);
  for (const b of raw.batches) byPart[b.partition]!.push(b.data);

  let gcMs = 0;
  const obs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) gcMs += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });

  const results: { us_per_point: number; stages: Record<string, number>; gc_ms: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const stages = { decode: 0, score: 0, lines: 0, body: 0, rules: 0 };
    const states = Array.from({ length: PARTITIONS }, (_, p) => ({
      rules: { ...initialRuleEngineState(), owns: (d: string) => partitionFor(d, PARTITIONS) === p },
      baselines: new Map<string, DeviceBaseline>(),
    }));
    gcMs = 0;
    const cpu0 = process.cpuUsage();
    let bodyBytes = 0;
    // Round-robin over partitions, a group of GROUP messages each, as four activities interleave.
    const cursor = new Array(PARTITIONS).fill(0);
    for (let more = true; more; ) {
      more = false;
      for (let p = 0; p < PARTITIONS; p++) {
        const msgs = byPart[p]!.slice(cursor[p], cursor[p] + GROUP);
        cursor[p] += msgs.length;
        if (msgs.length === 0) continue;
        more = true;
        const st = states[p]!;
        let t = performance.now();
        const good = msgs.map((m) => decodeBatch(m));
        const points = good.length === 1 ? good[0]!.points : good.flatMap((g) => g.points);
        let t2 = performance.now();
        stages.decode += t2 - t;
        t = t2;
        const mine: Record<string, DeviceBaseline> = Object.create(null);
        for (const pt of points) {
          const b = st.baselines.get(pt.device);
          if (b) mine[pt.device] = b;
        }
        const scored = await scorer.score(points, mine);
        for (const d in scored.baselines) st.baselines.set(d, scored.baselines[d]!);
        t2 = performance.now();
        stages.score += t2 - t;
        t = t2;
        const lines: Line[] = [];
        for (const g of good) for (let i = 0; i < g.points.length; i++) lines.push(g.lines![i]!);
        const pick: number[] = [];
        for (let i = 0; i < points.length; i++) if (scored.results[i]!.class !== 'healthy' || i % 2_000 === 0) pick.push(i);
        for (const l of healthLinesFor(pick.map((i) => points[i]!), pick.map((i) => scored.results[i]!))) lines.push(l);
        t2 = performance.now();
        stages.lines += t2 - t;
        t = t2;
        for (let i = 0; i < lines.length; i += 5_000) bodyBytes += lineBody(lines.slice(i, i + 5_000)).byteLength;
        t2 = performance.now();
        stages.body += t2 - t;
        t = t2;
        const items: RuleBatchItem[] = points.map((point, i) => ({ point, health: scored.results[i], arrivedMs: Date.now() }));
        rules.apply(st.rules, items, { nowMs: Date.now(), streamMs: Date.now() }, { absence: true });
        stages.rules += performance.now() - t;
      }
    }
    const cpu = process.cpuUsage(cpu0);
    const us = (cpu.user + cpu.system) / raw.points;
    const perPoint = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, +((v * 1_000) / raw.points).toFixed(3)]));
    results.push({ us_per_point: +us.toFixed(3), stages: perPoint, gc_ms: Math.round(gcMs) });
    console.log(`run ${run + 1}: ${us.toFixed(2)} CPU µs/point  ${Object.entries(perPoint).map(([k, v]) => `${k} ${v}`).join('  ')}  gc ${Math.round(gcMs)} ms  body ${(bodyBytes / 1e6).toFixed(0)} MB`);
  }
  obs.disconnect();
  await scorer.close();
  const med = <T,>(xs: T[], f: (x: T) => number) => xs.map(f).sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const stageNames = Object.keys(results[0]!.stages);
  const summary = {
    bench: 'collect-path',
    points: raw.points,
    devices: DEVICES,
    fields: a.fields,
    runs: RUNS,
    us_per_point: med(results, (r) => r.us_per_point),
    us_per_point_min: Math.min(...results.map((r) => r.us_per_point)),
    stages_us_per_point: Object.fromEntries(stageNames.map((k) => [k, med(results, (r) => r.stages[k]!)])),
    gc_ms: med(results, (r) => r.gc_ms),
  };
  console.log(`median ${summary.us_per_point} CPU µs/point (min ${summary.us_per_point_min}); ${JSON.stringify(summary.stages_us_per_point)}; gc ${summary.gc_ms} ms`);
  console.log(JSON.stringify(summary));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

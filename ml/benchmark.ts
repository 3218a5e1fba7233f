/**
 * `telemetry-stack health eval`: the learned model versus a rules-only
 * baseline versus both, on labelled episodes the model never saw.
 *
 * Detectors, all on the production path (TS featurize → device frame →
 * onnxruntime-node):
 * - `model`: the anomaly score against the tuned thresholds, plus the
 *   support envelope (activities/health/classify.ts outOfEnvelope);
 * - `rules`: catalog-driven driver and limit rules only, in the style of
 *   NVIDIA's health checks (XID catalog, recovery action, row remap, ECC,
 *   HW/SW slowdown, thermal headroom, fan mode, power limits —
 *   activities/health/device-health.ts);
 * - `both`: what the stack pages on (classify with the device assessment).
 *
 * Data: `synthetic` = ml/data/eval-episodes.jsonl.gz (held-out seeds of the
 * simulator the model was trained on: in-distribution); `real` = traces on
 * the real 202-column capture (ml/real-scenarios.ts) with injected driver
 * signals, plus the real capture files under test/fixtures/parse/real as
 * healthy logs. Neither is used for training or threshold tuning.
 *
 * Metrics ("flagged" = degraded or critical): point precision/recall per
 * fault (false positives counted on the same traces' warm-up); an alarm is 3
 * consecutive flagged points; an episode is detected by an alarm starting at
 * or after onset; lead time = seconds from the detecting alarm to the first
 * hard signal of the trace (driver verdict, XID, DBE, HW/SW slowdown bit;
 * positive = earlier; none when the fault has no hard signal); false alarms
 * per GPU-day on the healthy traces.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { Point } from '../lib/point.ts';
import { parseText } from '../lib/parse/index.ts';
import { featurize, N_FEATURES, type DeviceBaseline } from '../activities/health/features.ts';
import { assessBatch } from '../activities/health/device-health.ts';
import { BUNDLED_META, classify, outOfEnvelope } from '../activities/health/classify.ts';
import { MODEL_FRAME } from '../activities/health/scorer.ts';
import { DEFAULT_MODEL_PATH, MODEL_INPUT, MODEL_OUTPUT } from '../activities/health/onnx-scorer.ts';
import type { HealthClass } from '../lib/alerts/types.ts';
import { DEFAULT_EVAL_PATH, loadTraces, tracePoints } from './evaluate.ts';
import { realScenarios } from './real-scenarios.ts';

export const DETECTORS = ['model', 'rules', 'both'] as const;
export type Detector = (typeof DETECTORS)[number];
const ALARM_RUN = 3;
const BATCH = 2_000;
const REAL_FIXTURES = fileURLToPath(new URL('../test/fixtures/parse/real/', import.meta.url));

/** One labelled trace, whatever its source. */
export interface LabelledTrace {
  id: string;
  source: 'synthetic' | 'real';
  kind: string;
  points: Point[];
  /** First fault point (null: healthy). */
  onset: number | null;
}

export interface DetectorFigures {
  precision: number;
  recall: number;
  detected: number;
  episodes: number;
  falseAlarms: number;
  /** Median lead time before the first hard signal, s (null: no hard signal or nothing detected). */
  medianLeadS: number | null;
  /** Episodes detected before their first hard signal (of those that have one). */
  beforeHard: number;
  withHard: number;
}

export interface BenchmarkReport {
  sources: Record<'synthetic' | 'real', { faultEpisodes: number; healthyTraces: number; points: number }>;
  perFault: { source: 'synthetic' | 'real'; fault: string; points: number; detectors: Record<Detector, DetectorFigures> }[];
  healthy: { source: 'synthetic' | 'real'; gpuDays: number; points: number; falseAlarmsPerGpuDay: Record<Detector, number>; flaggedPct: Record<Detector, number> }[];
}

/** Classes of every point under each detector, one trace at a time (baselines start empty per trace). */
async function classesOf(session: ort.InferenceSession, points: Point[]): Promise<Record<Detector, HealthClass[]>> {
  const out: Record<Detector, HealthClass[]> = { model: [], rules: [], both: [] };
  const meta = BUNDLED_META;
  let baselines: Record<string, DeviceBaseline> = {};
  for (let i = 0; i < points.length; i += BATCH) {
    const batch = points.slice(i, i + BATCH);
    const fx = featurize(batch, baselines);
    const device = assessBatch(batch, fx.features, fx.baselines, MODEL_FRAME);
    const t = await session.run({ [MODEL_INPUT]: new ort.Tensor('float32', fx.features, [fx.rows, N_FEATURES]) });
    const scores = t[MODEL_OUTPUT]!.data as Float32Array;
    const both = classify(batch, fx.features, scores, meta, device);
    for (let r = 0; r < batch.length; r++) {
      const s = scores[r]!;
      const envelope = outOfEnvelope(fx.features, r * N_FEATURES, meta).length > 0;
      out.model.push(s >= meta.thresholds.critical ? 'critical' : s >= meta.thresholds.degraded || envelope ? 'degraded' : 'healthy');
      out.rules.push(device.verdicts[r]!.class ?? 'healthy');
      out.both.push(both[r]!.class);
    }
    baselines = fx.baselines;
  }
  return out;
}

/** First point carrying a hard signal (the driver or the board saying so), or null. */
export function firstHardSignal(points: readonly Point[], from: number): number | null {
  let lastDbe: number | undefined;
  for (let i = 0; i < points.length; i++) {
    const f = points[i]!.fields;
    const dbe = f['ecc_dbe'];
    const dbeUp = dbe !== undefined && lastDbe !== undefined && dbe > lastDbe;
    if (dbe !== undefined) lastDbe = dbe;
    if (i < from) continue;
    const mask = f['throttle_reasons'] ?? 0;
    if (
      (f['gpu_recovery_action'] ?? 0) > 0 ||
      (f['xid'] ?? 0) > 0 ||
      dbeUp ||
      (f['ecc_dbe_volatile'] ?? 0) > 0 ||
      (f['remapped_rows_failure'] ?? 0) > 0 ||
      (mask & (0x8 | 0x20 | 0x40 | 0x80)) !== 0 ||
      (f['throttle_thermal'] ?? 0) > 0 ||
      (f['throttle_hw_slowdown'] ?? 0) > 0
    ) {
      return i;
    }
  }
  return null;
}

const tsS = (p: Point): number => Number(BigInt(p.ts) / 1_000_000n) / 1000;
const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Alarm starts (index of the first of ALARM_RUN consecutive flagged points). */
function alarmStarts(classes: readonly HealthClass[]): number[] {
  const starts: number[] = [];
  let run = 0;
  for (let i = 0; i < classes.length; i++) {
    run = classes[i] !== 'healthy' ? run + 1 : 0;
    if (run === ALARM_RUN) starts.push(i - ALARM_RUN + 1);
  }
  return starts;
}

function syntheticTraces(path: string): LabelledTrace[] {
  return loadTraces(path).map((t) => ({ id: t.id, source: 'synthetic', kind: t.onset === null ? 'healthy' : t.kind, points: tracePoints(t), onset: t.onset }));
}

function realTraces(): LabelledTrace[] {
  const out: LabelledTrace[] = realScenarios().map((s) => ({
    id: s.id,
    source: 'real' as const,
    kind: s.kind,
    points: parseText(s.csv, { fileName: `${s.id}.csv` }).points,
    onset: s.onset,
  }));
  // The real capture files themselves (healthy logs, a few rows each).
  for (const f of readdirSync(REAL_FIXTURES).filter((n) => /\.(csv|txt|prom)$/.test(n))) {
    const { points } = parseText(readFileSync(REAL_FIXTURES + f, 'utf8'), { fileName: f, baseTimeMs: Date.UTC(2026, 0, 1) });
    const byDevice = new Map<string, Point[]>();
    for (const p of points) byDevice.set(p.device, [...(byDevice.get(p.device) ?? []), p]);
    for (const [dev, pts] of byDevice) out.push({ id: `${f}:${dev}`, source: 'real', kind: 'healthy', points: pts, onset: null });
  }
  return out;
}

export async function runBenchmark(opts: { syntheticPath?: string; modelPath?: string; sources?: ('synthetic' | 'real')[] } = {}): Promise<BenchmarkReport> {
  const sources = opts.sources ?? ['synthetic', 'real'];
  const traces = [...(sources.includes('synthetic') ? syntheticTraces(opts.syntheticPath ?? DEFAULT_EVAL_PATH) : []), ...(sources.includes('real') ? realTraces() : [])];
  const session = await ort.InferenceSession.create(opts.modelPath ?? DEFAULT_MODEL_PATH, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  type Acc = { tp: number; fp: number; fn: number; detected: number; episodes: number; falseAlarms: number; leads: number[]; beforeHard: number; withHard: number };
  const newAcc = (): Acc => ({ tp: 0, fp: 0, fn: 0, detected: 0, episodes: 0, falseAlarms: 0, leads: [], beforeHard: 0, withHard: 0 });
  const faults = new Map<string, { source: 'synthetic' | 'real'; fault: string; points: number; acc: Record<Detector, Acc> }>();
  const healthy = new Map<string, { seconds: number; points: number; alarms: Record<Detector, number>; flagged: Record<Detector, number> }>();
  const summary: BenchmarkReport['sources'] = { synthetic: { faultEpisodes: 0, healthyTraces: 0, points: 0 }, real: { faultEpisodes: 0, healthyTraces: 0, points: 0 } };
  try {
    for (const tr of traces) {
      if (tr.points.length === 0) continue;
      const cls = await classesOf(session, tr.points);
      summary[tr.source].points += tr.points.length;
      if (tr.onset === null) {
        summary[tr.source].healthyTraces++;
        const h = healthy.get(tr.source) ?? { seconds: 0, points: 0, alarms: { model: 0, rules: 0, both: 0 }, flagged: { model: 0, rules: 0, both: 0 } };
        healthy.set(tr.source, h);
        // A trace of one reading still stands for one sampling interval of GPU time (10 s).
        h.seconds += Math.max(tsS(tr.points.at(-1)!) - tsS(tr.points[0]!), 10);
        h.points += tr.points.length;
        for (const d of DETECTORS) {
          h.alarms[d] += alarmStarts(cls[d]).length;
          h.flagged[d] += cls[d].filter((c) => c !== 'healthy').length;
        }
        continue;
      }
      summary[tr.source].faultEpisodes++;
      const key = `${tr.source}\u0000${tr.kind}`;
      let e = faults.get(key);
      if (!e) faults.set(key, (e = { source: tr.source, fault: tr.kind, points: 0, acc: { model: newAcc(), rules: newAcc(), both: newAcc() } }));
      e.points += tr.points.length - tr.onset;
      const hard = firstHardSignal(tr.points, tr.onset);
      for (const d of DETECTORS) {
        const a = e.acc[d];
        a.episodes++;
        cls[d].forEach((c, i) => {
          const flagged = c !== 'healthy';
          if (i >= tr.onset!) {
            if (flagged) a.tp++;
            else a.fn++;
          } else if (flagged) a.fp++;
        });
        const starts = alarmStarts(cls[d]);
        a.falseAlarms += starts.filter((s) => s < tr.onset!).length;
        const det = starts.find((s) => s >= tr.onset!);
        if (hard !== null) a.withHard++;
        if (det !== undefined) {
          a.detected++;
          if (hard !== null) {
            const lead = Math.round((tsS(tr.points[hard]!) - tsS(tr.points[det]!)) * 10) / 10;
            a.leads.push(lead);
            if (lead > 0) a.beforeHard++;
          }
        }
      }
    }
  } finally {
    await session.release();
  }
  const ratio = (x: number, y: number): number => (y === 0 ? 0 : x / y);
  return {
    sources: summary,
    perFault: [...faults.values()].map((f) => ({
      source: f.source,
      fault: f.fault,
      points: f.points,
      detectors: Object.fromEntries(
        DETECTORS.map((d) => {
          const a = f.acc[d];
          const fig: DetectorFigures = {
            precision: ratio(a.tp, a.tp + a.fp),
            recall: ratio(a.tp, a.tp + a.fn),
            detected: a.detected,
            episodes: a.episodes,
            falseAlarms: a.falseAlarms,
            medianLeadS: median(a.leads),
            beforeHard: a.beforeHard,
            withHard: a.withHard,
          };
          return [d, fig];
        }),
      ) as Record<Detector, DetectorFigures>,
    })),
    healthy: [...healthy.entries()].map(([source, h]) => ({
      source: source as 'synthetic' | 'real',
      gpuDays: h.seconds / 86_400,
      points: h.points,
      falseAlarmsPerGpuDay: Object.fromEntries(DETECTORS.map((d) => [d, ratio(h.alarms[d], h.seconds / 86_400)])) as Record<Detector, number>,
      flaggedPct: Object.fromEntries(DETECTORS.map((d) => [d, ratio(h.flagged[d], h.points) * 100])) as Record<Detector, number>,
    })),
  };
}

/** Markdown tables (the README shows this output). */
export function benchmarkTable(r: BenchmarkReport): string {
  const pct = (x: number): string => (x * 100).toFixed(1);
  const lines = [
    `synthetic (held-out simulator seeds): ${r.sources.synthetic.faultEpisodes} fault episodes, ${r.sources.synthetic.healthyTraces} healthy traces, ${r.sources.synthetic.points} points`,
    `real-capture: ${r.sources.real.faultEpisodes} fault episodes, ${r.sources.real.healthyTraces} healthy traces, ${r.sources.real.points} points`,
    '',
    '| source | fault | detector | precision % | recall % | episodes detected | false alarms | median lead s (before hard signal) |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const f of r.perFault) {
    for (const d of DETECTORS) {
      const x = f.detectors[d];
      const lead = x.withHard === 0 ? 'no hard signal' : x.medianLeadS === null ? '-' : `${x.medianLeadS} (${x.beforeHard}/${x.withHard} earlier)`;
      lines.push(`| ${f.source} | ${f.fault} | ${d} | ${pct(x.precision)} | ${pct(x.recall)} | ${x.detected}/${x.episodes} | ${x.falseAlarms} | ${lead} |`);
    }
  }
  lines.push('', '| source | healthy GPU-days | points | detector | false alarms / GPU-day | points flagged % |', '|---|---:|---:|---|---:|---:|');
  for (const h of r.healthy) {
    for (const d of DETECTORS) {
      lines.push(`| ${h.source} | ${h.gpuDays.toFixed(2)} | ${h.points} | ${d} | ${h.falseAlarmsPerGpuDay[d].toFixed(2)} | ${h.flaggedPct[d].toFixed(2)} |`);
    }
  }
  return lines.join('\n');
}

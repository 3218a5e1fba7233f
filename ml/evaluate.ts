/**
 * Evaluation of the committed health model on held-out labelled traces.
 *
 *   npx tsx ml/evaluate.ts [--json] [--data ml/data/eval-episodes.jsonl.gz] [--model path.onnx]
 *
 * The traces come from seeds never used for training or threshold tuning (see
 * ml/train.py). Everything runs through the production path: TS featurize →
 * onnxruntime-node → hard-fault rules + thresholds.
 *
 * Metrics ("flagged" = class degraded or critical):
 * - point level, per fault type: over the traces of that type, TP = flagged
 *   fault points, FN = unflagged fault points, FP = flagged healthy points
 *   (the warm-up before onset); overall: the same over every trace, healthy
 *   traces included.
 * - episode level: an alarm is 3 consecutive flagged points (what a `for: 3
 *   samples` alert rule would need). An episode is detected when an alarm
 *   starts at or after its onset; a false alarm is an alarm that starts on a
 *   healthy point. Delay = time from onset to the alarm's first point.
 * - false-positive rate on the healthy held-out traces (points and alarms/hour).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Point } from '../lib/point.ts';
import { createOnnxScorer } from '../activities/health/onnx-scorer.ts';
import type { HealthResult } from '../activities/health/classify.ts';

export interface EvalTrace {
  id: string;
  kind: string;
  device: string;
  tags: Record<string, string>;
  t0_ms: number;
  ts_ms: number[];
  fields: Record<string, (number | null)[]>;
  onset: number | null;
}

export const DEFAULT_EVAL_PATH = fileURLToPath(new URL('./data/eval-episodes.jsonl.gz', import.meta.url));
const ALARM_RUN = 3;
const BATCH = 2_000;

export function loadTraces(path: string): EvalTrace[] {
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as EvalTrace);
}

export function tracePoints(tr: EvalTrace): Point[] {
  const names = Object.keys(tr.fields);
  return tr.ts_ms.map((off, i) => {
    const fields: Record<string, number> = {};
    for (const f of names) {
      const v = tr.fields[f]?.[i];
      if (v !== null && v !== undefined) fields[f] = v;
    }
    return { device: tr.device, ts: (BigInt(tr.t0_ms + off) * 1_000_000n).toString(), tags: tr.tags, fields };
  });
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}
const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
function prf(c: Counts): { precision: number; recall: number; f1: number } {
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  return { precision, recall, f1: ratio(2 * precision * recall, precision + recall) };
}

export interface EvalReport {
  model: string;
  traces: { healthy: number; fault: number; points: number };
  perFault: Record<string, { points: number; precision: number; recall: number; f1: number; episodes: number; detected: number; falseAlarms: number; medianDelayS: number | null }>;
  overall: { precision: number; recall: number; f1: number; episodeRecall: number; episodePrecision: number };
  healthy: { points: number; fpr: number; criticalFpr: number; alarmsPerHour: number; hours: number };
}

export async function evaluate(opts: { dataPath?: string; modelPath?: string } = {}): Promise<EvalReport> {
  const traces = loadTraces(opts.dataPath ?? DEFAULT_EVAL_PATH);
  const scorer = await createOnnxScorer(opts.modelPath ? { modelPath: opts.modelPath } : {});
  const perFault = new Map<string, { c: Counts; episodes: number; detected: number; falseAlarms: number; delays: number[] }>();
  const overall: Counts = { tp: 0, fp: 0, fn: 0, tn: 0 };
  let epTp = 0;
  let epFp = 0;
  let episodes = 0;
  let healthyPts = 0;
  let healthyFlag = 0;
  let healthyCrit = 0;
  let healthyAlarms = 0;
  let healthySeconds = 0;
  let points = 0;
  try {
    for (const tr of traces) {
      const pts = tracePoints(tr);
      const results: HealthResult[] = [];
      let baselines = {};
      for (let i = 0; i < pts.length; i += BATCH) {
        const r = await scorer.score(pts.slice(i, i + BATCH), baselines);
        results.push(...r.results);
        baselines = r.baselines;
      }
      points += pts.length;
      const isFault = tr.onset !== null;
      const onset = tr.onset ?? Number.POSITIVE_INFINITY;
      let entry = perFault.get(tr.kind);
      if (isFault && !entry) perFault.set(tr.kind, (entry = { c: { tp: 0, fp: 0, fn: 0, tn: 0 }, episodes: 0, detected: 0, falseAlarms: 0, delays: [] }));
      let run = 0;
      let detectedAt: number | null = null;
      let falseAlarms = 0;
      for (let i = 0; i < results.length; i++) {
        const flagged = (results[i] as HealthResult).class !== 'healthy';
        const truth = i >= onset;
        const key: keyof Counts = flagged ? (truth ? 'tp' : 'fp') : truth ? 'fn' : 'tn';
        overall[key] += 1;
        if (entry) entry.c[key] += 1;
        run = flagged ? run + 1 : 0;
        if (run === ALARM_RUN) {
          const start = i - ALARM_RUN + 1;
          if (start >= onset) {
            if (detectedAt === null) detectedAt = start;
          } else falseAlarms += 1;
        }
        if (!isFault) {
          healthyPts += 1;
          if (flagged) healthyFlag += 1;
          if ((results[i] as HealthResult).class === 'critical') healthyCrit += 1;
        }
      }
      epFp += falseAlarms;
      if (isFault && entry) {
        episodes += 1;
        entry.episodes += 1;
        entry.falseAlarms += falseAlarms;
        if (detectedAt !== null) {
          entry.detected += 1;
          epTp += 1;
          entry.delays.push(((tr.ts_ms[detectedAt] ?? 0) - (tr.ts_ms[tr.onset as number] ?? 0)) / 1000);
        }
      } else {
        healthyAlarms += falseAlarms;
        healthySeconds += ((tr.ts_ms.at(-1) ?? 0) - (tr.ts_ms[0] ?? 0)) / 1000;
      }
    }
  } finally {
    await scorer.close();
  }
  const median = (xs: number[]): number | null => {
    if (xs.length === 0) return null;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] ?? null;
  };
  const report: EvalReport = {
    model: opts.modelPath ?? 'ml/model/gpu-health.onnx',
    traces: { healthy: traces.filter((t) => t.onset === null).length, fault: episodes, points },
    perFault: {},
    overall: { ...prf(overall), episodeRecall: ratio(epTp, episodes), episodePrecision: ratio(epTp, epTp + epFp) },
    healthy: {
      points: healthyPts,
      fpr: ratio(healthyFlag, healthyPts),
      criticalFpr: ratio(healthyCrit, healthyPts),
      alarmsPerHour: ratio(healthyAlarms, healthySeconds / 3600),
      hours: healthySeconds / 3600,
    },
  };
  for (const [kind, e] of perFault) {
    report.perFault[kind] = {
      points: e.c.tp + e.c.fn,
      ...prf(e.c),
      episodes: e.episodes,
      detected: e.detected,
      falseAlarms: e.falseAlarms,
      medianDelayS: median(e.delays),
    };
  }
  return report;
}

function table(r: EvalReport): string {
  const pct = (x: number): string => (x * 100).toFixed(1).padStart(5);
  const lines = [
    `held-out traces: ${r.traces.fault} fault episodes + ${r.traces.healthy} healthy traces, ${r.traces.points} points (model ${r.model})`,
    '',
    '| fault | points | precision % | recall % | F1 % | episodes detected | false alarms | median delay s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [k, v] of Object.entries(r.perFault)) {
    lines.push(`| ${k} | ${v.points} | ${pct(v.precision)} | ${pct(v.recall)} | ${pct(v.f1)} | ${v.detected}/${v.episodes} | ${v.falseAlarms} | ${v.medianDelayS ?? '-'} |`);
  }
  lines.push(
    `| **overall** | | ${pct(r.overall.precision)} | ${pct(r.overall.recall)} | ${pct(r.overall.f1)} | recall ${pct(r.overall.episodeRecall)} / precision ${pct(r.overall.episodePrecision)} | | |`,
    '',
    `healthy held-out: ${r.healthy.points} points over ${r.healthy.hours.toFixed(1)} h, false-positive rate ${(r.healthy.fpr * 100).toFixed(2)} % ` +
      `(critical ${(r.healthy.criticalFpr * 100).toFixed(2)} %), ${r.healthy.alarmsPerHour.toFixed(2)} false alarms/hour (${ALARM_RUN} consecutive flagged points)`,
  );
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dataPath = opt('--data');
  const modelPath = opt('--model');
  const report = await evaluate({ ...(dataPath ? { dataPath } : {}), ...(modelPath ? { modelPath } : {}) });
  console.log(args.includes('--json') ? JSON.stringify(report, null, 2) : table(report));
}

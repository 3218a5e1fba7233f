/**
 * Scoring throughput of the in-process health scorer (featurize + one
 * session.run + rules per batch), on the held-out evaluation points.
 *
 *   npx tsx ml/bench-scorer.ts [--batch 2000] [--seconds 5] [--threads 1] [--model path/to/model.onnx]
 *
 * --model compares another model file (its meta.json beside it) on the same points;
 * --shadow PATH [--shadow-write all|disagree] wraps it with that model in shadow mode (health_shadow lines rendered).
 */
import { performance } from 'node:perf_hooks';
import type { Point } from '../lib/point.ts';
import * as ort from 'onnxruntime-node';
import { createOnnxScorer, DEFAULT_MODEL_PATH, MODEL_INPUT } from '../activities/health/onnx-scorer.ts';
import { featurize, N_FEATURES } from '../activities/health/features.ts';
import { createShadowScorer, type ShadowWriteMode } from '../activities/health/shadow-scorer.ts';
import { DEFAULT_EVAL_PATH, loadTraces, tracePoints } from './evaluate.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const batchSize = opt('--batch', 2_000);
const seconds = opt('--seconds', 5);
const threads = opt('--threads', 1);
const modelAt = args.indexOf('--model');
const modelPath = modelAt >= 0 ? args[modelAt + 1] : undefined;
const shadowAt = args.indexOf('--shadow');
const shadowPath = shadowAt >= 0 ? args[shadowAt + 1] : undefined;
const writeAt = args.indexOf('--shadow-write');
const shadowWrite = (writeAt >= 0 ? args[writeAt + 1] : 'disagree') as ShadowWriteMode;

// Interleave devices the way a partition batch does.
const all: Point[] = loadTraces(DEFAULT_EVAL_PATH).flatMap(tracePoints);
const batches: Point[][] = [];
for (let i = 0; i + batchSize <= all.length; i += batchSize) batches.push(all.slice(i, i + batchSize));

const primary = await createOnnxScorer({ intraOpNumThreads: threads, ...(modelPath ? { modelPath } : {}) });
const scorer = shadowPath
  ? createShadowScorer(primary, await createOnnxScorer({ intraOpNumThreads: threads, modelPath: shadowPath }), {
      label: 'bench',
      write: shadowWrite,
      maxLines: batchSize,
    })
  : primary;
try {
  for (const b of batches.slice(0, 3)) await scorer.score(b, {}); // warm-up
  let n = 0;
  let k = 0;
  // The fastest batch: on a shared machine the mean moves with the neighbours' load, the minimum far less.
  let bestMs = Infinity;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const b0 = performance.now();
    await scorer.score(batches[k++ % batches.length] as Point[], {});
    bestMs = Math.min(bestMs, performance.now() - b0);
    n += batchSize;
  }
  const total = (performance.now() - t0) / 1000;

  let m = 0;
  const f0 = performance.now();
  while (performance.now() - f0 < 1000) {
    featurize(batches[m % batches.length] as Point[], {});
    m += 1;
  }
  const featOnly = (m * batchSize) / ((performance.now() - f0) / 1000);

  // The model call alone (what a model change costs): one session.run per featurized batch, fastest of all.
  const session = await ort.InferenceSession.create(modelPath ?? DEFAULT_MODEL_PATH, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
    enableCpuMemArena: false,
  });
  const inputs = batches.slice(0, 8).map((b) => new ort.Tensor('float32', featurize(b, {}).features, [b.length, N_FEATURES]));
  let runBestMs = Infinity;
  const r0 = performance.now();
  for (let j = 0; performance.now() - r0 < 2_000; j++) {
    const b0 = performance.now();
    await session.run({ [MODEL_INPUT]: inputs[j % inputs.length]! });
    runBestMs = Math.min(runBestMs, performance.now() - b0);
  }
  await session.release();

  console.log(
    `${modelPath ?? 'ml/model/gpu-health.onnx'}${shadowPath ? ` + shadow ${shadowPath} (${shadowWrite})` : ''}: batch ${batchSize}, intraOpNumThreads ${threads}: ${Math.round(n / total).toLocaleString('en-US')} points/s end to end ` +
      `(${((total / (n / batchSize)) * 1000).toFixed(2)} ms per batch; fastest batch ${((bestMs * 1000) / batchSize).toFixed(2)} µs/point); featurize alone ${Math.round(featOnly).toLocaleString('en-US')} points/s; ` +
      `model call alone ${((runBestMs * 1000) / batchSize).toFixed(2)} µs/point (fastest batch)`,
  );
} finally {
  await scorer.close();
}

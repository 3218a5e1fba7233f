/**
 * Scoring throughput of the in-process health scorer (featurize + one
 * session.run + rules per batch), on the held-out evaluation points.
 *
 *   npx tsx ml/bench-scorer.ts [--batch 2000] [--seconds 5] [--threads 1]
 */
import { performance } from 'node:perf_hooks';
import type { Point } from '../lib/point.ts';
import { createOnnxScorer } from '../activities/health/onnx-scorer.ts';
import { featurize } from '../activities/health/features.ts';
import { DEFAULT_EVAL_PATH, loadTraces, tracePoints } from './evaluate.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const batchSize = opt('--batch', 2_000);
const seconds = opt('--seconds', 5);
const threads = opt('--threads', 1);

// Interleave devices the way a partition batch does.
const all: Point[] = loadTraces(DEFAULT_EVAL_PATH).flatMap(tracePoints);
const batches: Point[][] = [];
for (let i = 0; i + batchSize <= all.length; i += batchSize) batches.push(all.slice(i, i + batchSize));

const scorer = await createOnnxScorer({ intraOpNumThreads: threads });
try {
  for (const b of batches.slice(0, 3)) await scorer.score(b, {}); // warm-up
  let n = 0;
  let k = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await scorer.score(batches[k++ % batches.length] as Point[], {});
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

  console.log(
    `batch ${batchSize}, intraOpNumThreads ${threads}: ${Math.round(n / total).toLocaleString('en-US')} points/s end to end ` +
      `(${((total / (n / batchSize)) * 1000).toFixed(2)} ms per batch); featurize alone ${Math.round(featOnly).toLocaleString('en-US')} points/s`,
  );
} finally {
  await scorer.close();
}

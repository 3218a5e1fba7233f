/**
 * The HealthScorer contract and the pipeline every backend shares:
 * featurize (pure, baselines in → baselines out) → one model call for the
 * whole batch → hard-fault rules + thresholds.
 */
import type { Point } from '../../lib/point.ts';
import { classify, type HealthResult, type ModelMeta } from './classify.ts';
import { featurize, N_FEATURES, type DeviceBaseline } from './features.ts';

export interface HealthScoreResult {
  /** One per input point, same order. */
  results: HealthResult[];
  /** Baselines after this batch; persist them (workflow state) and pass them to the next call. */
  baselines: Record<string, DeviceBaseline>;
}

export interface HealthScorer {
  score(points: Point[], baselines: Record<string, DeviceBaseline>): Promise<HealthScoreResult>;
  close(): Promise<void>;
}

/** Raw model call: row-major float32 [rows, N_FEATURES] → one anomaly score per row. */
export type ScoreRows = (features: Float32Array, rows: number) => Promise<ArrayLike<number>>;

export class ScorerClosedError extends Error {
  override name = 'ScorerClosedError';
}

export function scorerFromRunner(run: ScoreRows, meta: ModelMeta, close: () => Promise<void>): HealthScorer {
  let closed = false;
  return {
    async score(points, baselines) {
      if (closed) throw new ScorerClosedError('health scorer is closed');
      const fx = featurize(points, baselines);
      if (fx.rows === 0) return { results: [], baselines: fx.baselines };
      const scores = await run(fx.features, fx.rows);
      if (scores.length !== fx.rows) {
        throw new Error(`model returned ${scores.length} scores for ${fx.rows} rows of ${N_FEATURES} features`);
      }
      return { results: classify(points, fx.features, scores, meta), baselines: fx.baselines };
    },
    async close() {
      if (closed) return;
      closed = true;
      await close();
    },
  };
}

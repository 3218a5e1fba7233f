/**
 * The HealthScorer contract and the pipeline every backend shares:
 * featurize (pure, baselines in → baselines out) → one model call for the
 * whole batch → hard-fault rules + thresholds.
 */
import type { Point } from '../../lib/point.ts';
import { classify, type HealthResult, type ModelMeta } from './classify.ts';
import { featurize, FI, imputeOf, N_FEATURES, type DeviceBaseline } from './features.ts';
import { assessBatch, trackEpisodes } from './device-health.ts';

/** How assessBatch moves feature rows into the model frame (indexes and imputation of ml/features.json). */
export const MODEL_FRAME = {
  nFeatures: N_FEATURES,
  tempC: FI.temp_c,
  fanRatio: FI.fan_ratio,
  fanTempGap: FI.fan_temp_gap,
  fanMissing: FI.fan_missing,
  imputeFanRatio: imputeOf('fan_ratio'),
};

export interface HealthScoreResult {
  /** One per input point, same order. */
  results: HealthResult[];
  /** Baselines after this batch; persist them (workflow state) and pass them to the next call. */
  baselines: Record<string, DeviceBaseline>;
  /** A shadow model's `health_shadow` lines (shadow-scorer.ts), each for the point `points[k]` (index into the input); absent without one. */
  shadow?: ShadowLines;
}

/** Derived lines of a batch, with the input index of the point each belongs to (same order). */
export interface ShadowLines {
  lines: string[];
  points: number[];
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
      // Driver signals and device limits first: they also move the rows into the model's frame.
      const { verdicts, peers } = assessBatch(points, fx.features, fx.baselines, MODEL_FRAME);
      const scores = await run(fx.features, fx.rows);
      if (scores.length !== fx.rows) {
        throw new Error(`model returned ${scores.length} scores for ${fx.rows} rows of ${N_FEATURES} features`);
      }
      const results = classify(points, fx.features, scores, meta, { verdicts, peers });
      const history = trackEpisodes(points, results.map((r) => r.class), fx.baselines);
      for (let i = 0; i < results.length; i++) {
        const r = results[i]!;
        if (r.evidence !== undefined && history[i] !== undefined) r.evidence = { ...r.evidence, history: history[i] };
      }
      return { results, baselines: fx.baselines };
    },
    async close() {
      if (closed) return;
      closed = true;
      await close();
    },
  };
}

/**
 * Shadow mode for a model version: a second scorer scores every batch beside
 * the paging one; its verdicts are recorded (counted per primary × shadow
 * class, and handed to `record`) and never returned, so it pages nobody.
 * Compare a new model on live data before it replaces the old one
 * (config HEALTH_SHADOW_MODEL_PATH).
 *
 * Invariants: the primary's results are returned unchanged whatever the
 * shadow does (a failing shadow is counted and skipped); the shadow keeps its
 * own per-device baselines inside the primary's (`DeviceBaseline.shadow`),
 * so they persist with them and never mix.
 */
import { Counter } from 'prom-client';
import type { HealthClass } from '../../lib/alerts/types.ts';
import type { Point } from '../../lib/point.ts';
import type { DeviceBaseline } from './features.ts';
import type { HealthScorer } from './scorer.ts';

export interface ShadowBatchComparison {
  label: string;
  points: number;
  /** `primary>shadow` class pair → points, e.g. `healthy>degraded`. */
  pairs: Record<string, number>;
  /** Points where the classes differ. */
  disagreements: number;
}

let points: Counter<'model' | 'primary' | 'shadow'> | undefined;
let errors: Counter<'model'> | undefined;
function metrics() {
  points ??= new Counter({
    name: 'telemetry_health_shadow_points_total',
    help: 'Points scored by the shadow health model, by primary and shadow class',
    labelNames: ['model', 'primary', 'shadow'] as const,
  });
  errors ??= new Counter({ name: 'telemetry_health_shadow_errors_total', help: 'Batches the shadow health model failed on (primary unaffected)', labelNames: ['model'] as const });
  return { points, errors };
}

export function createShadowScorer(
  primary: HealthScorer,
  shadow: HealthScorer,
  opts: { label: string; record?: (c: ShadowBatchComparison) => void; onError?: (err: unknown) => void },
): HealthScorer {
  return {
    async score(pts: Point[], baselines: Record<string, DeviceBaseline>) {
      const p = await primary.score(pts, baselines);
      const shadowIn: Record<string, DeviceBaseline> = {};
      for (const [d, b] of Object.entries(baselines)) if (b.shadow) shadowIn[d] = b.shadow;
      let s;
      try {
        s = await shadow.score(pts, shadowIn);
      } catch (err) {
        metrics().errors.inc({ model: opts.label });
        opts.onError?.(err);
        return p;
      }
      const pairs: Record<string, number> = {};
      let disagreements = 0;
      for (let i = 0; i < pts.length; i++) {
        const a: HealthClass = p.results[i]!.class;
        const b: HealthClass = s.results[i]!.class;
        const k = `${a}>${b}`;
        pairs[k] = (pairs[k] ?? 0) + 1;
        if (a !== b) disagreements++;
      }
      for (const [k, n] of Object.entries(pairs)) {
        const [a, b] = k.split('>') as [string, string];
        metrics().points.inc({ model: opts.label, primary: a, shadow: b }, n);
      }
      opts.record?.({ label: opts.label, points: pts.length, pairs, disagreements });
      const out: Record<string, DeviceBaseline> = {};
      for (const [d, b] of Object.entries(p.baselines)) {
        const sb = s.baselines[d];
        if (sb === undefined) out[d] = b;
        else {
          const { shadow: _nested, ...flat } = sb;
          out[d] = { ...b, shadow: flat };
        }
      }
      return { results: p.results, baselines: out };
    },
    async close() {
      await Promise.allSettled([primary.close(), shadow.close()]);
    },
  };
}

/**
 * Shadow mode for a model version: a second scorer scores every batch beside
 * the paging one; its verdicts are recorded (counted per primary × shadow
 * class, handed to `record`, and returned as `health_shadow` lines for the
 * collector to write with the batch) and never returned as results, so it
 * pages nobody. Compare a new model on live data before it replaces the old
 * one (config HEALTH_SHADOW_MODEL_PATH, HEALTH_SHADOW_WRITE,
 * HEALTH_SHADOW_MAX_LINES; API `/v1/devices/:id/health?model=shadow`).
 *
 * Write cost: `disagree` (default) writes only the points whose classes
 * differ — a shadow that agrees costs InfluxDB nothing; `all` writes one line
 * per point (doubles the health writes of a fleet). Either way at most
 * `maxLines` per batch, the first ones in batch order (deterministic, so a
 * redelivered batch rewrites the same lines); the rest are counted in
 * telemetry_health_shadow_lines_dropped_total, never silently lost.
 *
 * Invariants: the primary's results are returned unchanged whatever the
 * shadow does (a failing shadow is counted and skipped); the shadow keeps its
 * own per-device baselines inside the primary's (`DeviceBaseline.shadow`),
 * so they persist with them and never mix.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Counter } from 'prom-client';
import type { HealthClass } from '../../lib/alerts/types.ts';
import type { Point } from '../../lib/point.ts';
import type { DeviceBaseline } from './features.ts';
import type { HealthScorer } from './scorer.ts';
import { shadowLinesFor } from './line-protocol.ts';

/** Which shadow verdicts become `health_shadow` lines. */
export const SHADOW_WRITE_MODES = ['off', 'disagree', 'all'] as const;
export type ShadowWriteMode = (typeof SHADOW_WRITE_MODES)[number];

/** Version tag of a model file: the first 12 hex digits of its sha256 (the file is the model's identity). */
export function modelFileVersion(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12);
}

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
let lines: Counter<'model'> | undefined;
let dropped: Counter<'model'> | undefined;
function metrics() {
  lines ??= new Counter({ name: 'telemetry_health_shadow_lines_total', help: 'health_shadow lines handed to the collector for InfluxDB', labelNames: ['model'] as const });
  dropped ??= new Counter({
    name: 'telemetry_health_shadow_lines_dropped_total',
    help: 'Shadow verdicts not written because a batch exceeded HEALTH_SHADOW_MAX_LINES (still counted in telemetry_health_shadow_points_total)',
    labelNames: ['model'] as const,
  });
  points ??= new Counter({
    name: 'telemetry_health_shadow_points_total',
    help: 'Points scored by the shadow health model, by primary and shadow class',
    labelNames: ['model', 'primary', 'shadow'] as const,
  });
  errors ??= new Counter({ name: 'telemetry_health_shadow_errors_total', help: 'Batches the shadow health model failed on (primary unaffected)', labelNames: ['model'] as const });
  return { points, errors, lines, dropped };
}

export function createShadowScorer(
  primary: HealthScorer,
  shadow: HealthScorer,
  opts: {
    label: string;
    /** `shadow_model` tag of the written lines (default: the label). */
    version?: string;
    /** Default `disagree`. */
    write?: ShadowWriteMode;
    /** Bound of `health_shadow` lines per batch (default 2,000). */
    maxLines?: number;
    record?: (c: ShadowBatchComparison) => void;
    onError?: (err: unknown) => void;
  },
): HealthScorer {
  const write = opts.write ?? 'disagree';
  const maxLines = opts.maxLines ?? 2_000;
  const version = opts.version ?? opts.label;
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
      const pick: number[] = [];
      let over = 0;
      for (let i = 0; i < pts.length; i++) {
        const a: HealthClass = p.results[i]!.class;
        const b: HealthClass = s.results[i]!.class;
        const k = `${a}>${b}`;
        pairs[k] = (pairs[k] ?? 0) + 1;
        if (a !== b) disagreements++;
        if (write === 'all' || (write === 'disagree' && a !== b)) {
          if (pick.length < maxLines) pick.push(i);
          else over++;
        }
      }
      if (over > 0) metrics().dropped.inc({ model: opts.label }, over);
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
      if (pick.length === 0) return { results: p.results, baselines: out };
      metrics().lines.inc({ model: opts.label }, pick.length);
      return { results: p.results, baselines: out, shadow: { lines: shadowLinesFor(pts, p.results, s.results, pick, version), points: pick } };
    },
    async close() {
      await Promise.allSettled([primary.close(), shadow.close()]);
    },
  };
}

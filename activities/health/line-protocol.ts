/**
 * InfluxDB line protocol for the `gpu_health` and `health_shadow` measurements.
 * Escaping (docs.influxdata.com line protocol): measurement — comma, space;
 * tag keys/values and field keys — comma, equals sign, space; string field
 * values — double quote and backslash. Tag values cannot be empty (omitted).
 */
import { IDENTITY_TAGS, type Point } from '../../lib/point.ts';
import { HEALTH_MEASUREMENT, HEALTH_SHADOW_MEASUREMENT, SHADOW_MODEL_TAG } from '../../lib/health/measurements.ts';
import type { HealthResult } from './classify.ts';

export { HEALTH_MEASUREMENT, HEALTH_SHADOW_MEASUREMENT };

const escTag = (s: string): string => s.replace(/[\\,= ]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
const escStr = (s: string): string => s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');

/** Float field value; line protocol has no NaN/Infinity, so those become 0 (the class is still written). */
const floatField = (x: number): string => (Number.isFinite(x) ? String(x) : '0');

/** `gpu_health,<tags>` per tag object and device (points of one decoded batch share their device's tags object). */
const prefixCache = new WeakMap<Record<string, string>, Map<string, string>>();

function healthPrefix(device: string, pointTags: Record<string, string>): string {
  let byDevice = prefixCache.get(pointTags);
  const hit = byDevice?.get(device);
  if (hit !== undefined) return hit;
  const prefix = `${HEALTH_MEASUREMENT},${tagSet(device, pointTags, [])}`;
  if (!byDevice) prefixCache.set(pointTags, (byDevice = new Map()));
  byDevice.set(device, prefix);
  return prefix;
}

/** Sorted, escaped tag set: device + the point's identity tags + `extra`. */
function tagSet(device: string, pointTags: Record<string, string>, extra: [string, string][]): string {
  const tags: [string, string][] = [['device', device], ...extra];
  for (const k of IDENTITY_TAGS) {
    const v = pointTags[k];
    if (v !== undefined && v !== '') tags.push([k, v]);
  }
  // Sorted tag keys are what InfluxDB stores; writing them sorted saves it the work.
  tags.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return tags.map(([k, v]) => `${escTag(k)}=${escTag(v)}`).join(',');
}

/** One `gpu_health` line per point (same ns timestamp), tags: device + the point's identity tags. */
export function healthLinesFor(points: readonly Point[], results: readonly HealthResult[]): string[] {
  if (points.length !== results.length) throw new Error(`healthLinesFor: ${points.length} points but ${results.length} results`);
  const lines: string[] = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    const r = results[i] as HealthResult;
    const reasons = r.reasons.length === 0 ? '' : escStr(r.reasons.join(','));
    lines[i] = `${healthPrefix(p.device, p.tags)} score=${floatField(r.score)},class="${escStr(r.class)}",reasons="${reasons}" ${p.ts}`;
  }
  return lines;
}

/**
 * `health_shadow` lines for the points `pick` (indexes into `points`): the shadow model's class,
 * score and reasons, and the paging model's class beside it, tagged with the shadow's version.
 * Same ns timestamp as the point, so a redelivered batch overwrites its lines instead of adding any.
 */
export function shadowLinesFor(
  points: readonly Point[],
  primary: readonly HealthResult[],
  shadow: readonly HealthResult[],
  pick: readonly number[],
  version: string,
): string[] {
  const extra: [string, string][] = [[SHADOW_MODEL_TAG, version]];
  const prefixes = new Map<Record<string, string>, Map<string, string>>(); // tags object → device → prefix
  return pick.map((i) => {
    const p = points[i] as Point;
    const s = shadow[i] as HealthResult;
    let byDevice = prefixes.get(p.tags);
    if (!byDevice) prefixes.set(p.tags, (byDevice = new Map()));
    let prefix = byDevice.get(p.device);
    if (prefix === undefined) byDevice.set(p.device, (prefix = `${HEALTH_SHADOW_MEASUREMENT},${tagSet(p.device, p.tags, extra)}`));
    const reasons = s.reasons.length === 0 ? '' : escStr(s.reasons.join(','));
    return `${prefix} score=${floatField(s.score)},class="${escStr(s.class)}",primary="${escStr((primary[i] as HealthResult).class)}",reasons="${reasons}" ${p.ts}`;
  });
}

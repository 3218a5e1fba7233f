/**
 * InfluxDB line protocol for the `gpu_health` measurement.
 * Escaping (docs.influxdata.com line protocol): measurement — comma, space;
 * tag keys/values and field keys — comma, equals sign, space; string field
 * values — double quote and backslash. Tag values cannot be empty (omitted).
 */
import { IDENTITY_TAGS, type Point } from '../../lib/point.ts';
import type { HealthResult } from './classify.ts';

export const HEALTH_MEASUREMENT = 'gpu_health';

const escTag = (s: string): string => s.replace(/[\\,= ]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
const escStr = (s: string): string => s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');

/** Float field value; line protocol has no NaN/Infinity, so those become 0 (the class is still written). */
const floatField = (x: number): string => (Number.isFinite(x) ? String(x) : '0');

/** One `gpu_health` line per point (same ns timestamp), tags: device + the point's identity tags. */
export function healthLinesFor(points: readonly Point[], results: readonly HealthResult[]): string[] {
  if (points.length !== results.length) throw new Error(`healthLinesFor: ${points.length} points but ${results.length} results`);
  const lines: string[] = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    const r = results[i] as HealthResult;
    const tags: [string, string][] = [['device', p.device]];
    for (const k of IDENTITY_TAGS) {
      const v = p.tags[k];
      if (v !== undefined && v !== '') tags.push([k, v]);
    }
    // Sorted tag keys are what InfluxDB stores; writing them sorted saves it the work.
    tags.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const tagStr = tags.filter(([, v]) => v !== '').map(([k, v]) => `${escTag(k)}=${escTag(v)}`).join(',');
    const fields = `score=${floatField(r.score)},class="${escStr(r.class)}",reasons="${escStr(r.reasons.join(','))}"`;
    lines[i] = `${HEALTH_MEASUREMENT},${tagStr} ${fields} ${p.ts}`;
  }
  return lines;
}

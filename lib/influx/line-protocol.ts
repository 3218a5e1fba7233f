/**
 * Points → InfluxDB line protocol for measurement `gpu`. The series key is
 * (measurement, tag set) and the timestamp is the point's ns timestamp, so
 * re-writing the same point overwrites it: at-least-once delivery stays
 * idempotent in storage.
 */
import type { Point } from '../point.ts';

export const MEASUREMENT = 'gpu';

// Line protocol escaping (https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/).
const TAG_ESCAPE = /[,= \\\n\r]/g;
const escTag = (s: string) => (TAG_ESCAPE.test(s) ? s.replace(TAG_ESCAPE, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\${c}`)) : s);

/** Float fields are written as floats even when integral, so a later 41.5 does not conflict with 41i. */
function fieldValue(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

/** The device id is a tag (`device`) beside the identity tags; keys sorted for InfluxDB's fast path. */
export function toLine(p: Point, measurement = MEASUREMENT): string | undefined {
  const keys = Object.keys(p.fields);
  if (keys.length === 0) return undefined; // a point with no fields is not storable
  const tags: [string, string][] = [['device', p.device]];
  for (const [k, v] of Object.entries(p.tags)) if (v !== '' && k !== 'device') tags.push([k, v]);
  tags.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let line = measurement;
  for (const [k, v] of tags) line += `,${escTag(k)}=${escTag(v)}`;
  line += ' ';
  let first = true;
  for (const k of keys) {
    const v = p.fields[k]!;
    if (!Number.isFinite(v)) continue;
    line += `${first ? '' : ','}${escTag(k)}=${fieldValue(v)}`;
    first = false;
  }
  if (first) return undefined;
  return `${line} ${p.ts}`;
}

export function toLines(points: Point[], measurement = MEASUREMENT): string[] {
  const out: string[] = [];
  for (const p of points) {
    const l = toLine(p, measurement);
    if (l !== undefined) out.push(l);
  }
  return out;
}

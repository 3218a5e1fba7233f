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
const TAG_NEEDS_ESCAPE = /[,= \\\n\r]/;
const escTag = (s: string) => (TAG_NEEDS_ESCAPE.test(s) ? s.replace(TAG_ESCAPE, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\${c}`)) : s);


/**
 * Series-key prefix (`gpu,device=…,host=…`) per measurement, tag object and
 * device. Points decoded from one batch share their device's tag object, so
 * the sort and escaping run once per device per batch instead of once per point.
 */
const prefixCache = new Map<string, WeakMap<Record<string, string>, Map<string, string>>>();

export function seriesKey(measurement: string, device: string, tagsIn: Record<string, string>): string {
  let byTags = prefixCache.get(measurement);
  if (!byTags) prefixCache.set(measurement, (byTags = new WeakMap()));
  let byDevice = byTags.get(tagsIn);
  const hit = byDevice?.get(device);
  if (hit !== undefined) return hit;
  const tags: [string, string][] = [['device', device]];
  for (const [k, v] of Object.entries(tagsIn)) if (v !== '' && k !== 'device') tags.push([k, v]);
  tags.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let prefix = measurement;
  for (const [k, v] of tags) prefix += `,${escTag(k)}=${escTag(v)}`;
  if (!byDevice) byTags.set(tagsIn, (byDevice = new Map()));
  byDevice.set(device, prefix);
  return prefix;
}

/** `key=` per field name, escaped once (field names repeat on every point). Bounded: names beyond the cap are escaped each time. */
const fieldKeyCache = new Map<string, string>();
const FIELD_KEY_CACHE_MAX = 10_000;
function fieldKey(k: string): string {
  let e = fieldKeyCache.get(k);
  if (e === undefined) {
    e = `${FIELD_KEY_SAFE.test(k) ? k : escTag(k)}=`;
    if (fieldKeyCache.size < FIELD_KEY_CACHE_MAX) fieldKeyCache.set(k, e);
  }
  return e;
}

/** The device id is a tag (`device`) beside the identity tags; keys sorted for InfluxDB's fast path. */
export function toLine(p: Point, measurement = MEASUREMENT): string | undefined {
  let fields = '';
  const f = p.fields;
  for (const k in f) {
    const v = f[k]!;
    if (v - v !== 0) continue; // NaN / ±Infinity (cheaper than Number.isFinite on the hot path)
    // A number without a suffix is a float in line protocol ("41" is 41.0; integers would need "41i"),
    // so integral values need no ".0" and never conflict with a later 41.5. String(1e21) is "1e+21",
    // which InfluxDB's float parser reads too.
    const text = String(v);
    fields = fields === '' ? fieldKey(k) + text : `${fields},${fieldKey(k)}${text}`;
  }
  if (!fields) return undefined; // a point with no fields is not storable
  return `${seriesKey(measurement, p.device, p.tags)} ${fields} ${p.ts}`;
}

const FIELD_KEY_SAFE = /^[A-Za-z0-9_.]+$/;

export function toLines(points: Point[], measurement = MEASUREMENT): string[] {
  const out: string[] = [];
  for (const p of points) {
    const l = toLine(p, measurement);
    if (l !== undefined) out.push(l);
  }
  return out;
}

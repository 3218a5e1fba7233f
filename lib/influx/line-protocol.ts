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
const prefixCache = new Map<string, WeakMap<Record<string, string>, Map<string, SeriesEntry>>>();
interface SeriesEntry {
  key: string;
  /** `key` as UTF-8 (appendLine copies it). */
  bin: Buffer;
}

/** The series key, as text and as UTF-8 bytes (tags may be any text). */
function seriesEntry(measurement: string, device: string, tagsIn: Record<string, string>): SeriesEntry {
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
  const e = { key: prefix, bin: Buffer.from(prefix, 'utf8') };
  byDevice.set(device, e);
  return e;
}

export function seriesKey(measurement: string, device: string, tagsIn: Record<string, string>): string {
  return seriesEntry(measurement, device, tagsIn).key;
}

/** `key=` per field name, escaped once, as UTF-8 (field names repeat on every point). Bounded: names beyond the cap are escaped each time. */
const fieldKeyCache = new Map<string, Buffer>();
const FIELD_KEY_CACHE_MAX = 10_000;
function fieldKey(k: string): Buffer {
  let e = fieldKeyCache.get(k);
  if (e === undefined) {
    e = Buffer.from(`${FIELD_KEY_SAFE.test(k) ? k : escTag(k)}=`, 'utf8');
    if (fieldKeyCache.size < FIELD_KEY_CACHE_MAX) fieldKeyCache.set(k, e);
  }
  return e;
}

/**
 * Line bytes, appended: each line followed by `\n`, the layout codec v2
 * carries. The streamer writes every point's line here directly (no string
 * per line, no join, no UTF-8 pass): building the line as a string and then
 * encoding it was the streamer's largest cost per point.
 */
export class LineArena {
  buf: Buffer;
  len = 0;
  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(256, initialBytes));
  }
  /** Empties the arena for reuse; a buffer grown past `keepBytes` (one huge input) is let go instead of pinned. */
  reset(keepBytes: number): void {
    this.len = 0;
    if (this.buf.length > keepBytes) this.buf = Buffer.allocUnsafe(64 * 1024);
  }
  /** Room for `extra` more bytes after `len`. */
  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + extra));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}

/** Longest String(v) of a finite double ("-2.2250738585072014e-308"), with room to spare. */
const MAX_NUMBER_CHARS = 26;

/**
 * String(v) as ASCII at `off`, digits by hand for int32 values (most telemetry); returns the new offset.
 * A number without a suffix is a float in line protocol ("41" is 41.0; integers would need "41i"), so
 * integral values need no ".0" and never conflict with a later 41.5. String(1e21) is "1e+21", which
 * InfluxDB's float parser reads too.
 */
function writeNumber(b: Buffer, off: number, v: number): number {
  if ((v | 0) === v) {
    // -0 lands here as 0, and String(-0) is "0" too.
    let x = v;
    if (x < 0) {
      b[off++] = 0x2d;
      x = -x;
    }
    let digits = 1;
    for (let n = x; n >= 10; n = (n / 10) | 0) digits++;
    let p = off + digits;
    const end = p;
    do {
      const q = (x / 10) | 0;
      b[--p] = 48 + x - q * 10;
      x = q;
    } while (x > 0);
    return end;
  }
  const t = String(v);
  for (let i = 0; i < t.length; i++) b[off + i] = t.charCodeAt(i);
  return off + t.length;
}

const copyInto = (b: Buffer, off: number, src: Buffer): number => {
  const n = src.length;
  if (n > 64) return off + src.copy(b, off);
  for (let i = 0; i < n; i++) b[off + i] = src[i]!;
  return off + n;
};

/**
 * Appends the point's line and `\n` to the arena (toLine is its text); returns
 * the line's byte length without the newline, 0 when the point has no field
 * (then nothing is appended). `p.ts` must be canonical (digits, no leading zero).
 */
export function appendLine(a: LineArena, p: Point, measurement = MEASUREMENT): number {
  const series = seriesEntry(measurement, p.device, p.tags);
  const ts = p.ts;
  const start = a.len;
  a.ensure(series.bin.length + ts.length + 3 + 64);
  let b = a.buf;
  let off = copyInto(b, start, series.bin);
  b[off++] = 0x20;
  const bodyAt = off;
  const f = p.fields;
  for (const k in f) {
    const v = f[k]!;
    if (v - v !== 0) continue; // NaN / ±Infinity: not storable
    const key = fieldKey(k);
    if (off + key.length + MAX_NUMBER_CHARS + ts.length + 3 > b.length) {
      a.len = off;
      a.ensure(key.length + MAX_NUMBER_CHARS + ts.length + 3);
      b = a.buf;
    }
    if (off > bodyAt) b[off++] = 0x2c;
    off = copyInto(b, off, key);
    off = writeNumber(b, off, v);
  }
  if (off === bodyAt) {
    a.len = start; // a point with no fields is not storable: no line
    return 0;
  }
  b[off++] = 0x20;
  for (let i = 0; i < ts.length; i++) b[off++] = ts.charCodeAt(i);
  b[off++] = 0x0a;
  a.len = off;
  return off - start - 1;
}

/**
 * The point's line as text (appendLine is the one writer of the format). The device id is a tag
 * (`device`) beside the identity tags; keys sorted for InfluxDB's fast path.
 */
export function toLine(p: Point, measurement = MEASUREMENT): string | undefined {
  textScratch.reset(1024 * 1024);
  const n = appendLine(textScratch, p, measurement);
  return n === 0 ? undefined : textScratch.buf.toString('utf8', 0, n);
}
const textScratch = new LineArena();

const FIELD_KEY_SAFE = /^[A-Za-z0-9_.]+$/;

export function toLines(points: Point[], measurement = MEASUREMENT): string[] {
  const out: string[] = [];
  for (const p of points) {
    const l = toLine(p, measurement);
    if (l !== undefined) out.push(l);
  }
  return out;
}

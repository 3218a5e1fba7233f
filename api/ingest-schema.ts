/**
 * What `POST /v1/telemetry` accepts: JSON (validated by zod) or InfluxDB line
 * protocol (`text/plain`). Both become Points; nothing is published unless the
 * whole body is valid, so a 400 never leaves a partial write behind. Valid
 * includes the timestamp range (INGEST_MIN_TIME … now + INGEST_MAX_FUTURE_S):
 * a point InfluxDB cannot store would otherwise dead-letter its whole batch.
 */
import { z } from 'zod';
import { TimeRange } from '../lib/parse/index.ts';
import type { Point } from '../lib/point.ts';
import { CONTROL_CHAR_MESSAGE, hasControlChar, NO_CONTROL_CHARS_PATTERN } from './control-chars.ts';

const NS_RE = /^\d{1,19}$/;
/**
 * ns strings below 4.9e18 (2125): the widest window any configuration accepts (INGEST_MAX_FUTURE_S ≤
 * 100 years). The configured window (INGEST_MIN_TIME … now + INGEST_MAX_FUTURE_S) moves with the clock,
 * which a JSON Schema cannot state: a point outside it gets a 400 naming it.
 */
const NS_DOC_RE = /^(?:\d{1,18}|[1-3]\d{18}|4[0-8]\d{17})$/;

/** A numeric ts, refused with what to send instead (see `timestamp`). */
export const NUMERIC_TS_MESSAGE = 'a numeric ts is not accepted: send ns since the epoch as a decimal string, or an RFC 3339 time';

/**
 * ns since the epoch as a decimal string, or an RFC 3339 time — both only strings: a JSON number
 * cannot carry a present-day ns timestamp (above 2^53 ns ≈ 1970-04-15 it loses precision), and
 * epoch seconds/ms would be silently read as ns. A number gets NUMERIC_TS_MESSAGE (the error map);
 * the document states the accepted range, which moves with the clock.
 */
const timestamp = z
  .union(
    [
      // Validated loosely (so the range check names an out-of-window value precisely), documented as NS_DOC_RE.
      z.string().regex(NS_RE, 'expected nanoseconds since the epoch').meta({ pattern: NS_DOC_RE.source }),
      z.iso.datetime({ offset: true, message: 'expected an RFC 3339 time or ns since the epoch' }),
    ],
    { error: (iss) => (typeof iss.input === 'number' ? NUMERIC_TS_MESSAGE : undefined) },
  )
  .describe('ns since the epoch (decimal string) or RFC 3339 time, between INGEST_MIN_TIME and now + INGEST_MAX_FUTURE_S');

/**
 * A tag value (the device id is one): no control character. A newline cannot be escaped in line
 * protocol, and a stored id with one could never be queried (InfluxDB refuses it in Flux); refused
 * here, before anything is published, with the field's path.
 */
const tagValue = (max: number, min = 0) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !hasControlChar(s), CONTROL_CHAR_MESSAGE)
    .meta({ pattern: NO_CONTROL_CHARS_PATTERN });

export const telemetryPointSchema = z.object({
  device: tagValue(256, 1),
  ts: timestamp,
  tags: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'tag names are [A-Za-z_][A-Za-z0-9_.-]*'), tagValue(256)).default({}),
  fields: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'field names are [A-Za-z_][A-Za-z0-9_]*'), z.number().finite())
    .refine((f) => Object.keys(f).length > 0, 'at least one field is required'),
});

export const telemetryBodySchema = z.object({
  /** Client batch id: a retried request with the same id is deduplicated. */
  batchId: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/).optional(),
  points: z.array(telemetryPointSchema).min(1).max(100_000),
});

export type TelemetryBody = z.infer<typeof telemetryBodySchema>;

export function toNs(ts: string | number): string {
  if (typeof ts === 'number') return String(ts);
  if (NS_RE.test(ts)) return ts;
  const ms = Date.parse(ts);
  const frac = /\.(\d+)/.exec(ts)?.[1] ?? '';
  const subMs = frac.length > 3 ? BigInt(frac.slice(3, 9).padEnd(6, '0')) : 0n;
  return (BigInt(ms) * 1_000_000n + subMs).toString();
}

export function bodyToPoints(body: TelemetryBody): Point[] {
  return body.points.map((p) => ({ device: p.device, ts: toNs(p.ts), tags: p.tags, fields: p.fields }));
}

/** Points whose timestamp is outside `range`, as issues naming the point (`points.<i>.ts`); empty when all are inside. */
export function timestampIssues(points: Point[], range: TimeRange): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  for (let i = 0; i < points.length; i++) {
    const bad = range.check(points[i]!.ts);
    if (bad !== undefined) issues.push({ path: `points.${i}.ts`, message: bad });
  }
  return issues;
}

export class LineProtocolError extends Error {
  override name = 'LineProtocolError';
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** Splits on `sep` outside backslash escapes and double quotes. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** Line-protocol numbers: float `41`, `-4.15e2`; integer `41i`; unsigned `41u`. Not empty (Number('') is 0), not hex. */
const LP_NUMBER_RE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?\d+i|\d+u)$/;

/**
 * InfluxDB line protocol → Points. Measurement must be `gpu`; the device comes
 * from the `device` tag (else gpu_uuid, else host+gpu_index). Numeric fields
 * only (`41`, `41.5`, `41i`, `41u`); timestamps in ns (required: a point
 * without one would get the server's clock and break idempotent re-sends),
 * inside `range`.
 * Throws LineProtocolError naming the line.
 */
export function parseLineProtocol(text: string, range: TimeRange = new TimeRange()): Point[] {
  const points: Point[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.trim();
    if (!raw || raw.startsWith('#')) continue;
    const parts = splitUnescaped(raw, ' ').filter((x) => x !== '');
    if (parts.length !== 3) throw new LineProtocolError(n + 1, 'expected "measurement,tags fields timestamp"');
    const [head, fieldPart, tsPart] = parts as [string, string, string];
    const [measurement, ...tagPairs] = splitUnescaped(head, ',');
    if (unescape(measurement!) !== 'gpu') throw new LineProtocolError(n + 1, `measurement must be "gpu", got "${unescape(measurement!)}"`);
    const tags: Record<string, string> = {};
    for (const t of tagPairs) {
      const [k, v] = splitUnescaped(t, '=');
      if (!k || v === undefined) throw new LineProtocolError(n + 1, `bad tag "${t}"`);
      tags[unescape(k)] = unescape(v);
    }
    const fields: Record<string, number> = {};
    for (const f of splitUnescaped(fieldPart, ',')) {
      const [k, v] = splitUnescaped(f, '=');
      if (!k || v === undefined) throw new LineProtocolError(n + 1, `bad field "${f}"`);
      const num = LP_NUMBER_RE.test(v) ? Number(v.replace(/[iu]$/, '')) : NaN;
      if (!Number.isFinite(num)) throw new LineProtocolError(n + 1, `field "${unescape(k)}" is not numeric: ${v || '(empty)'}`);
      fields[unescape(k)] = num;
    }
    if (!/^\d{1,19}$/.test(tsPart)) throw new LineProtocolError(n + 1, `timestamp must be integer nanoseconds, got "${tsPart}"`);
    const outOfRange = range.check(tsPart);
    if (outOfRange !== undefined) throw new LineProtocolError(n + 1, outOfRange);
    const device = tags.device ?? tags.gpu_uuid ?? (tags.host && tags.gpu_index ? `${tags.host}:${tags.gpu_index}` : undefined);
    if (!device) throw new LineProtocolError(n + 1, 'no device identity: add a device, gpu_uuid, or host+gpu_index tag');
    delete tags.device;
    // The same rules as JSON (names, lengths): line protocol must not be a way around them.
    const checked = telemetryPointSchema.safeParse({ device, ts: tsPart, tags, fields });
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      throw new LineProtocolError(n + 1, `${issue.path.join('.') || 'point'}: ${issue.message}`);
    }
    points.push({ device, ts: tsPart, tags, fields });
  }
  if (points.length === 0) throw new LineProtocolError(0, 'no points in body');
  return points;
}

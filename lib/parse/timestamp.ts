/**
 * Timestamp parsing to exact nanosecond decimal strings.
 *
 * Hazards:
 * - nvidia-smi prints local wall time (`2024/01/31 12:34:56.789`) with no zone:
 *   the zone is an option (IANA name, default UTC), offsets come from Intl.
 * - ns since epoch exceed 2^53, so the result is built as a string
 *   (whole seconds + 9 fraction digits), never through a float.
 * - Wall times inside a DST fold are ambiguous; the offset is computed once per
 *   wall-clock hour from the hour's start, so the choice is deterministic.
 */
import { msToNs } from '../point.ts';

/** `YYYY/MM/DD HH:MM:SS(.fff)` or ISO `YYYY-MM-DDTHH:MM:SS(.fffffffff)(Z|±HH:MM)`. */
const DATE_TIME_RE =
  /^(\d{4})[/-](\d{2})[/-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const EPOCH_RE = /^(\d+)(?:\.(\d+))?$/;
const NINE_ZEROS = '000000000';

export class TimeZoneResolver {
  readonly timeZone: string;
  private readonly utc: boolean;
  private readonly dtf: Intl.DateTimeFormat | undefined;
  /** Last zone-less minute prefix `YYYY/MM/DD HH:MM` seen and its UTC seconds (hot-path cache). */
  minuteKey = '';
  minuteUtcSec = 0;
  /** wall-clock hour (ms / 3.6e6) -> offset ms (local - UTC). */
  private readonly hourCache = new Map<number, number>();

  constructor(timeZone = 'UTC') {
    this.timeZone = timeZone;
    this.utc = /^(utc|etc\/utc|gmt|etc\/gmt|z)$/i.test(timeZone);
    // Throws RangeError on an unknown zone: callers turn it into a ParseError.
    this.dtf = this.utc
      ? undefined
      : new Intl.DateTimeFormat('en-US', {
          timeZone,
          hourCycle: 'h23',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
  }

  /** Offset (local - UTC, ms) in effect at a UTC instant. */
  offsetAt(utcMs: number): number {
    if (this.dtf === undefined) return 0;
    const p: Record<string, number> = {};
    for (const part of this.dtf.formatToParts(utcMs)) {
      if (part.type !== 'literal') p[part.type] = Number(part.value);
    }
    const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
    return local - (utcMs - (((utcMs % 1000) + 1000) % 1000));
  }

  /** Wall-clock time expressed as if UTC (Date.UTC of the fields) -> real UTC ms. */
  wallToUtc(wallMs: number): number {
    if (this.dtf === undefined) return wallMs;
    const hour = Math.floor(wallMs / 3_600_000);
    let offset = this.hourCache.get(hour);
    if (offset === undefined) {
      const start = hour * 3_600_000;
      const o1 = this.offsetAt(start);
      const o2 = this.offsetAt(start - o1);
      offset = o1 === o2 ? o1 : o2;
      if (this.hourCache.size > 100_000) this.hourCache.clear();
      this.hourCache.set(hour, offset);
    }
    return wallMs - offset;
  }
}

/** Builds the ns string from whole UTC seconds and up to 9 fraction digits. */
function nsString(utcSeconds: number, frac: string | undefined): string | undefined {
  if (!Number.isFinite(utcSeconds)) return undefined;
  const f = frac === undefined ? NINE_ZEROS : (frac + NINE_ZEROS).slice(0, 9);
  // Before 1970: a signed value, so the range check names it instead of "unparseable" (it never reaches the wire).
  if (utcSeconds < 0) return (BigInt(utcSeconds) * 1_000_000_000n + BigInt(f)).toString();
  if (utcSeconds === 0) return String(Number(f));
  return String(utcSeconds) + f;
}

/**
 * Parses nvidia-smi / ISO 8601 date-times. Returns the ns string, or undefined
 * when the text is not a valid date-time (the caller rejects the row).
 */
export function parseDateTime(text: string, tz: TimeZoneResolver): string | undefined {
  // Hot path: same minute as the previous zone-less timestamp (`…HH:MM:SS` or `…HH:MM:SS.fff…`).
  const len = text.length;
  if (len >= 19 && (len === 19 || (text.charCodeAt(19) === 46 && len > 20 && len <= 29)) && tz.minuteKey !== '' && text.startsWith(tz.minuteKey)) {
    if (text.charCodeAt(16) === 58) {
      const s1 = text.charCodeAt(17) - 48;
      const s2 = text.charCodeAt(18) - 48;
      let ok = s1 >= 0 && s1 <= 5 && s2 >= 0 && s2 <= 9;
      for (let i = 20; ok && i < len; i++) {
        const d = text.charCodeAt(i);
        ok = d >= 48 && d <= 57;
      }
      if (ok) return nsString(tz.minuteUtcSec + s1 * 10 + s2, len > 20 ? text.slice(20) : undefined);
    }
  }
  const m = DATE_TIME_RE.exec(text);
  if (m === null) return undefined;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  const hh = +m[4]!;
  const mi = +m[5]!;
  const ss = +m[6]!;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hh > 23 || mi > 59 || ss > 60) return undefined;
  const wall = Date.UTC(year, month - 1, day, hh, mi, ss);
  // Date.UTC rolls 31 Feb over to March: refuse instead of silently shifting.
  if (new Date(wall).getUTCDate() !== day) return undefined;
  const zone = m[8];
  let utcMs: number;
  if (zone === undefined) {
    utcMs = tz.wallToUtc(wall);
    tz.minuteKey = text.slice(0, 16);
    tz.minuteUtcSec = utcMs / 1000 - ss;
  }
  else if (zone === 'Z' || zone === 'z') utcMs = wall;
  else {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = +digits.slice(0, 2);
    const om = digits.length > 2 ? +digits.slice(2, 4) : 0;
    if (oh > 23 || om > 59) return undefined;
    utcMs = wall - sign * (oh * 3_600_000 + om * 60_000);
  }
  return nsString(utcMs / 1000, m[7]);
}

/**
 * Epoch numbers, unit chosen by magnitude of the integer part:
 * <= 11 digits seconds, 12-14 ms, 15-17 µs, 18-19 ns. Fractions are kept exactly.
 */
export function parseEpoch(text: string): string | undefined {
  const m = EPOCH_RE.exec(text);
  if (m === null) return undefined;
  const int = m[1]!.replace(/^0+(?=\d)/, '');
  const frac = m[2] ?? '';
  const n = int.length;
  let whole: string;
  let fracDigits: number; // digits of ns precision the fraction stands for
  if (n <= 11) {
    whole = int === '0' ? '' : int + NINE_ZEROS;
    fracDigits = 9;
  } else if (n <= 14) {
    whole = int + '000000';
    fracDigits = 6;
  } else if (n <= 17) {
    whole = int + '000';
    fracDigits = 3;
  } else if (n <= 19) {
    whole = int;
    fracDigits = 0;
  } else return undefined;
  if (fracDigits === 0 || frac === '') return whole === '' ? '0' : whole;
  const f = (frac + NINE_ZEROS).slice(0, fracDigits);
  if (whole === '') return String(Number(f));
  // whole ends with fracDigits zeros: replace them by the fraction digits.
  return whole.slice(0, whole.length - fracDigits) + f;
}

/** Date-time or epoch. */
export function parseTimestamp(text: string, tz: TimeZoneResolver): string | undefined {
  const c = text.charCodeAt(4);
  // '/' or '-' at index 4 means a date; otherwise try epoch digits.
  if (c === 47 || c === 45) return parseDateTime(text, tz);
  return parseEpoch(text);
}

/** dmon `-o DT`: date `YYYYMMDD` and time `HH:MM:SS` in the configured zone. */
export function parseDmonDateTime(date: string, time: string, tz: TimeZoneResolver): string | undefined {
  if (!/^\d{8}$/.test(date)) return undefined;
  return parseDateTime(`${date.slice(0, 4)}/${date.slice(4, 6)}/${date.slice(6, 8)} ${time}`, tz);
}

/** Local calendar date (YYYY/MM/DD) of a UTC instant in the zone, for dmon `-o T` (time-only) logs. */
export function localDate(utcMs: number, tz: TimeZoneResolver): string {
  const local = new Date(utcMs + tz.offsetAt(utcMs));
  const y = local.getUTCFullYear();
  const mo = String(local.getUTCMonth() + 1).padStart(2, '0');
  const d = String(local.getUTCDate()).padStart(2, '0');
  return `${y}/${mo}/${d}`;
}

export { msToNs };

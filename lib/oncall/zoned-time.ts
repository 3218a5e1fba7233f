/**
 * Wall-clock arithmetic in an IANA time zone with nothing but Intl (Node 20
 * ships full ICU). Rotations hand off at a local wall time ("09:00 in
 * Europe/Berlin"), so across a DST change a shift is 23 or 25 hours long —
 * counting in local calendar days, never in fixed 24 h blocks, keeps the
 * handoff on the hour people expect.
 */

/** Local calendar fields of one instant in a zone. `weekday` 0 = Monday … 6 = Sunday (RRULE order). */
export interface ZonedFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when Intl knows the zone (an unknown one throws RangeError there). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function zonedFields(ms: number, timeZone: string): ZonedFields {
  const parts = formatter(timeZone).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')),
    minute: Number(get('minute')),
    second: Number(get('second')),
    weekday: WEEKDAYS.indexOf(get('weekday')),
  };
}

/** The zone's offset from UTC at an instant, ms (positive east of Greenwich). */
function offsetMs(ms: number, timeZone: string): number {
  const f = zonedFields(ms, timeZone);
  const asUtc = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  return asUtc - (ms - (ms % 1000 + 1000) % 1000);
}

/**
 * The instant a local wall time happens in a zone. A wall time skipped by a
 * DST jump resolves to the instant after the gap; an ambiguous one (the hour
 * repeated in autumn) to its first occurrence.
 */
export function zonedToUtcMs(wall: { year: number; month: number; day: number; hour: number; minute: number; second?: number }, timeZone: string): number {
  const guess = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second ?? 0);
  const first = guess - offsetMs(guess, timeZone);
  const second = guess - offsetMs(first, timeZone);
  // Two candidates differ only around a transition: take the earlier one that maps back to the wall time.
  for (const c of [Math.min(first, second), Math.max(first, second)]) {
    const f = zonedFields(c, timeZone);
    if (f.hour === wall.hour && f.minute === wall.minute && f.day === wall.day) return c;
  }
  return Math.max(first, second);
}

/** Days since 1970-01-01 of a local calendar date (pure calendar arithmetic, no DST). */
export function epochDay(f: Pick<ZonedFields, 'year' | 'month' | 'day'>): number {
  return Math.floor(Date.UTC(f.year, f.month - 1, f.day) / 86_400_000);
}

/** Minutes since local midnight. */
export function minuteOfDay(f: Pick<ZonedFields, 'hour' | 'minute'>): number {
  return f.hour * 60 + f.minute;
}

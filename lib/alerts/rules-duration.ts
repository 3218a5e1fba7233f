/**
 * Duration strings as used in alert rules and escalation policies: an
 * `ms`-style subset ("500ms", "30s", "2m", "1h", "1d", "1w", "5 minutes",
 * "1.5h"), optionally compound ("1h30m"). A bare number is rejected on purpose:
 * "30" could mean seconds or milliseconds. Pure and dependency-free so the
 * escalation workflow (deterministic sandbox) can import it too.
 */

const UNIT_MS: Record<string, number> = {
  ms: 1, msec: 1, msecs: 1, millisecond: 1, milliseconds: 1,
  s: 1_000, sec: 1_000, secs: 1_000, second: 1_000, seconds: 1_000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)/gy;

/** Parses a duration string to milliseconds; returns undefined when it is not one. */
export function tryParseDurationMs(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (s === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let pos = 0;
  for (;;) {
    while (s[pos] === ' ') pos++;
    if (pos >= s.length) break;
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) return undefined;
    const unit = UNIT_MS[m[2]!];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    pos = PART.lastIndex;
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** Parses a duration string to milliseconds or throws a TypeError naming the bad text. */
export function parseDurationMs(text: string): number {
  const ms = tryParseDurationMs(text);
  if (ms === undefined) throw new TypeError(`invalid duration "${text}" (expected e.g. "30s", "2m", "1h30m")`);
  return ms;
}

/** Short human form of a millisecond duration: 90_000 → "1m30s". */
export function formatDurationMs(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000);
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

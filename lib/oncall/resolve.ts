/**
 * Who is on call for a schedule at an instant. Pure: the same file and
 * instant always give the same answer, so the escalation activity, `oncall
 * who` and GET /v1/oncall agree. Precedence: an active override, else the
 * topmost layer that covers the instant (rotation started and inside one of
 * its restriction windows), else nobody.
 */
import { tryParseDurationMs } from '../alerts/rules-duration.ts';
import { LOCAL_DATE_TIME, parseRRule, type Layer, type Override, type Person, type Restriction, type Schedule, type ScheduleFile } from './schedule-schema.ts';
import { epochDay, minuteOfDay, zonedFields, zonedToUtcMs } from './zoned-time.ts';

const DAY_MS = 86_400_000;

export interface OnCallAnswer {
  schedule: string;
  /** The instant asked about, ISO 8601. */
  at: string;
  /** Null when nobody covers the instant (the level then pages its fixed targets only). */
  person: ({ id: string } & Person) | null;
  source: 'override' | 'layer' | 'none';
  layer?: string;
  override?: { from: string; to: string; reason?: string };
}

/** Raised when a level names a schedule the file does not have. */
export class UnknownScheduleError extends Error {
  override name = 'UnknownScheduleError';
  constructor(readonly schedule: string, known: string[]) {
    super(`unknown on-call schedule "${schedule}" (known: ${known.slice(0, 20).join(', ') || 'none'})`);
  }
}

/** An instant of the file: ISO with offset, or a local date-time in the schedule zone. */
export function instantMs(text: string, timeZone: string): number {
  const m = LOCAL_DATE_TIME.exec(text);
  if (!m) return Date.parse(text);
  return zonedToUtcMs({ year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: m[6] ? +m[6] : 0 }, timeZone);
}

const hhmm = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** Is local time `t` inside the restriction window? A window runs past midnight when `to` ≤ `from` and belongs to the day it starts. */
function inWindow(r: Restriction, weekday: number, minute: number): boolean {
  const days = parseRRule(r.rrule).days;
  const from = hhmm(r.from);
  const to = hhmm(r.to);
  if (to > from) return days.includes(weekday) && minute >= from && minute < to;
  const yesterday = (weekday + 6) % 7;
  return (days.includes(weekday) && minute >= from) || (days.includes(yesterday) && minute < to);
}

/** The rotation member of a layer at `atMs`, or undefined before the rotation starts / outside its windows. */
export function layerMember(layer: Layer, timeZone: string, atMs: number): string | undefined {
  const rot = layer.rotation;
  const startMs = instantMs(rot.start, timeZone);
  if (atMs < startMs) return undefined;
  const local = zonedFields(atMs, timeZone);
  if (layer.restrictions?.length && !layer.restrictions.some((r) => inWindow(r, local.weekday, minuteOfDay(local)))) return undefined;
  const shiftMs = tryParseDurationMs(rot.shift)!;
  let index: number;
  if (shiftMs % DAY_MS === 0) {
    // Whole days: count local calendar days, handing off at the start's wall time (DST-proof).
    const start = zonedFields(startMs, timeZone);
    let days = epochDay(local) - epochDay(start);
    const secOfDay = (f: typeof local) => minuteOfDay(f) * 60 + f.second;
    if (secOfDay(local) < secOfDay(start)) days--;
    index = Math.floor(days / (shiftMs / DAY_MS));
  } else {
    index = Math.floor((atMs - startMs) / shiftMs);
  }
  return rot.members[index % rot.members.length];
}

function activeOverride(s: Schedule, atMs: number): Override | undefined {
  // The last matching entry wins: a later-listed override is the newer decision.
  let hit: Override | undefined;
  for (const o of s.overrides) if (instantMs(o.from, s.timeZone) <= atMs && atMs < instantMs(o.to, s.timeZone)) hit = o;
  return hit;
}

/** Who is on call for `schedule` at `atMs`. Throws UnknownScheduleError for a name the file lacks. */
export function whoIsOnCall(file: ScheduleFile, schedule: string, atMs: number): OnCallAnswer {
  const s = file.schedules[schedule];
  if (!s) throw new UnknownScheduleError(schedule, Object.keys(file.schedules));
  const at = new Date(atMs).toISOString();
  const person = (pid: string) => ({ id: pid, ...file.people[pid]! });
  const o = activeOverride(s, atMs);
  if (o) return { schedule, at, person: person(o.person), source: 'override', override: { from: o.from, to: o.to, ...(o.reason ? { reason: o.reason } : {}) } };
  for (let i = s.layers.length - 1; i >= 0; i--) {
    const layer = s.layers[i]!;
    const member = layerMember(layer, s.timeZone, atMs);
    if (member) return { schedule, at, person: person(member), source: 'layer', layer: layer.name };
  }
  return { schedule, at, person: null, source: 'none' };
}

/** Every schedule's answer at `atMs`, in file order. */
export function whoIsOnCallEverywhere(file: ScheduleFile, atMs: number): OnCallAnswer[] {
  return Object.keys(file.schedules).map((name) => whoIsOnCall(file, name, atMs));
}

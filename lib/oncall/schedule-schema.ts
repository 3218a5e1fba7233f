/**
 * On-call schedules as data: people (with a contact per channel), and
 * schedules made of layers (a rotation, optionally restricted to RRULE-style
 * windows) plus temporary overrides. Validated in one place; every bad value
 * is reported with its path. Bounds are part of the schema so a runaway file
 * cannot make resolution (run at every page) slow.
 */
import { z } from 'zod';
import { tryParseDurationMs } from '../alerts/rules-duration.ts';
import { isValidTimeZone } from './zoned-time.ts';

/** Bounds of one schedule file (tests exercise each at the bound). */
export const SCHEDULE_LIMITS = {
  people: 10_000,
  schedules: 1_000,
  layersPerSchedule: 20,
  membersPerRotation: 1_000,
  restrictionsPerLayer: 50,
  overridesPerSchedule: 1_000,
  fileBytes: 4 * 1024 * 1024,
} as const;

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const id = (what: string) => z.string().regex(ID, `${what} must be 1-64 characters of letters, digits, . _ - (starting with a letter or digit)`);
/** Local wall time "HH:MM"; "24:00" only as an end. */
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
/** Local date-time without offset, interpreted in the schedule's zone. */
export const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
/** An instant: ISO 8601 with an offset, or a local date-time in the schedule's zone. */
const instant = z
  .string()
  .refine((s) => LOCAL_DATE_TIME.test(s) || (/[zZ]|[+-]\d{2}:?\d{2}$/.test(s) && Number.isFinite(Date.parse(s))), {
    message: 'expected an ISO 8601 time with offset (2026-03-02T09:00:00+01:00) or a local time in the schedule zone (2026-03-02T09:00)',
  });

const RRULE_DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;

/** A parsed `FREQ=…;BYDAY=…` rule: the weekdays (0 = Monday) a window may start on. */
export interface ParsedRRule {
  freq: 'DAILY' | 'WEEKLY';
  days: number[];
}

/** The RRULE subset a restriction needs: FREQ=DAILY|WEEKLY and BYDAY. Throws naming the unsupported part. */
export function parseRRule(text: string): ParsedRRule {
  let freq: ParsedRRule['freq'] | undefined;
  let days: number[] | undefined;
  for (const part of text.replace(/^RRULE:/i, '').split(';').filter(Boolean)) {
    const [key, value = ''] = part.split('=');
    switch (key?.toUpperCase()) {
      case 'FREQ':
        if (value.toUpperCase() !== 'DAILY' && value.toUpperCase() !== 'WEEKLY') throw new Error(`FREQ=${value} is not supported (DAILY or WEEKLY)`);
        freq = value.toUpperCase() as ParsedRRule['freq'];
        break;
      case 'BYDAY':
        days = value.split(',').map((d) => {
          const i = RRULE_DAYS.indexOf(d.trim().toUpperCase() as (typeof RRULE_DAYS)[number]);
          if (i < 0) throw new Error(`BYDAY value "${d}" is not one of ${RRULE_DAYS.join(',')}`);
          return i;
        });
        break;
      default:
        throw new Error(`RRULE part "${part}" is not supported (only FREQ and BYDAY)`);
    }
  }
  if (!freq) throw new Error('RRULE needs FREQ=DAILY or FREQ=WEEKLY');
  if (freq === 'WEEKLY' && !days) throw new Error('FREQ=WEEKLY needs BYDAY=…');
  return { freq, days: days ?? [0, 1, 2, 3, 4, 5, 6] };
}

export const RestrictionSchema = z
  .object({
    /** Which days a window starts on, e.g. "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" or "FREQ=DAILY". */
    rrule: z.string().superRefine((s, ctx) => {
      try {
        parseRRule(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
    /** Local start of the window, "HH:MM". */
    from: z.string().regex(HHMM, 'expected "HH:MM"'),
    /** Local end, "HH:MM" ("24:00" = midnight); not after `from` = the window runs past midnight into the next day. */
    to: z.string().regex(HHMM, 'expected "HH:MM"'),
  })
  .strict()
  .refine((r) => r.from !== '24:00', { message: '"from" cannot be 24:00', path: ['from'] });

export const RotationSchema = z
  .object({
    /** People ids, in rotation order. */
    members: z.array(id('member')).min(1, 'a rotation needs at least one member').max(SCHEDULE_LIMITS.membersPerRotation),
    /** First handoff, local time in the schedule zone ("2026-01-05T09:00"); later handoffs keep its wall time. */
    start: z.string().regex(LOCAL_DATE_TIME, 'expected a local date-time like 2026-01-05T09:00'),
    /** Shift length: "1d", "1w", "12h" … Whole days hand off at the same local time across DST. */
    shift: z.string().refine((s) => (tryParseDurationMs(s) ?? 0) >= 60_000, 'expected a duration of at least 1 minute, like "1w", "1d", "12h"'),
  })
  .strict();

export const LayerSchema = z
  .object({
    name: z.string().min(1).max(100),
    rotation: RotationSchema,
    /** When set, the layer covers only these windows; outside them the layer below answers. */
    restrictions: z.array(RestrictionSchema).max(SCHEDULE_LIMITS.restrictionsPerLayer).optional(),
  })
  .strict();

export const OverrideSchema = z
  .object({
    person: id('person'),
    from: instant,
    to: instant,
    /** Why (shown by `oncall who` and on the page). */
    reason: z.string().max(500).optional(),
  })
  .strict();

export const ScheduleSchema = z
  .object({
    description: z.string().max(500).optional(),
    /** IANA zone of handoffs, restrictions and local override times. */
    timeZone: z.string().refine(isValidTimeZone, 'unknown IANA time zone (e.g. "Europe/Berlin", "UTC")'),
    /** Bottom first: a later layer that has someone on call wins over the ones before it. */
    layers: z.array(LayerSchema).min(1, 'a schedule needs at least one layer').max(SCHEDULE_LIMITS.layersPerSchedule),
    /** Temporary replacements; they beat every layer while they last. */
    overrides: z.array(OverrideSchema).max(SCHEDULE_LIMITS.overridesPerSchedule).default([]),
  })
  .strict();

export const PersonSchema = z
  .object({
    name: z.string().min(1).max(200),
    /**
     * One recipient per channel, in that channel's own target shape (Slack
     * user id, e-mail address, ntfy topic …): a `{ schedule }` target of a
     * level on channel C resolves to `contacts[C]` of whoever is on call.
     */
    contacts: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'a channel name (slack, email, ntfy, …)'), z.string().min(1).max(500)).default({}),
  })
  .strict();

export const ScheduleFileSchema = z
  .object({
    people: z.record(id('person id'), PersonSchema).refine((p) => Object.keys(p).length <= SCHEDULE_LIMITS.people, `at most ${SCHEDULE_LIMITS.people} people`),
    schedules: z
      .record(id('schedule name'), ScheduleSchema)
      .refine((s) => Object.keys(s).length <= SCHEDULE_LIMITS.schedules, `at most ${SCHEDULE_LIMITS.schedules} schedules`),
  })
  .strict()
  .superRefine((file, ctx) => {
    // Every referenced person must exist: a typo must fail the load, not page nobody at 3 am.
    for (const [name, s] of Object.entries(file.schedules)) {
      s.layers.forEach((l, li) =>
        l.rotation.members.forEach((m, mi) => {
          if (!file.people[m]) ctx.addIssue({ code: 'custom', path: ['schedules', name, 'layers', li, 'rotation', 'members', mi], message: `unknown person "${m}"` });
        }),
      );
      s.overrides.forEach((o, oi) => {
        if (!file.people[o.person]) ctx.addIssue({ code: 'custom', path: ['schedules', name, 'overrides', oi, 'person'], message: `unknown person "${o.person}"` });
      });
    }
  });

export type Restriction = z.infer<typeof RestrictionSchema>;
export type Layer = z.infer<typeof LayerSchema>;
export type Override = z.infer<typeof OverrideSchema>;
export type Schedule = z.infer<typeof ScheduleSchema>;
export type Person = z.infer<typeof PersonSchema>;
export type ScheduleFile = z.infer<typeof ScheduleFileSchema>;

/** A schedule file that does not validate; the message names every bad path. */
export class ScheduleFileError extends Error {
  override name = 'ScheduleFileError';
  constructor(
    message: string,
    readonly issues: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function parseScheduleFile(json: unknown, source = 'schedule file'): ScheduleFile {
  const r = ScheduleFileSchema.safeParse(json);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ScheduleFileError(`invalid ${source}: ${issues.slice(0, 20).join('; ')}${issues.length > 20 ? ` (+${issues.length - 20} more)` : ''}`, issues, { cause: r.error });
}

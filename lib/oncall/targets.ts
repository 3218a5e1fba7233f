/**
 * The contract between escalation levels and on-call schedules: a level's
 * `targets` is a list of `{ channel, target }` where `target` is either a
 * fixed recipient in that channel's own shape (a Slack user id, an e-mail
 * address, an ntfy topic … — the channel adapter validates it) or
 * `{ schedule: "S" }`, meaning "whoever is on call for S when this level
 * fires". `resolveTargets` turns the second kind into the first using the
 * on-call person's `contacts[channel]`, so the notifier only ever sees
 * concrete recipients. It runs inside an activity (it reads live data).
 */
import { z } from 'zod';
import type { ScheduleFile } from './schedule-schema.ts';
import { whoIsOnCall, UnknownScheduleError, type OnCallAnswer } from './resolve.ts';

/** "Whoever is on call for this schedule". */
export interface ScheduleRef {
  schedule: string;
}

/** One entry of a level's `targets`. */
export interface LevelTarget {
  channel: string;
  /** A fixed recipient, or a schedule; absent: the channel's default destination (passed through as is). */
  target?: string | ScheduleRef;
}

export const ScheduleRefSchema = z.object({ schedule: z.string().min(1).max(64) }).strict();

export function isScheduleRef(target: unknown): target is ScheduleRef {
  return ScheduleRefSchema.safeParse(target).success;
}

/** A concrete recipient; `oncall` says which schedule/person it came from (shown on the page and in the Temporal UI). */
export interface ResolvedTarget {
  channel: string;
  target?: string;
  oncall?: { schedule: string; person: string; name: string };
}

export interface ResolvedTargets {
  targets: ResolvedTarget[];
  /** One answer per schedule the level named. */
  oncall: { schedule: string; person: string | null; source: OnCallAnswer['source']; layer?: string }[];
  /** Schedule targets that produced nobody (nobody on call, no contact for the channel, unknown schedule), with why. */
  unresolved: { channel: string; schedule: string; reason: string }[];
}

/**
 * Concrete recipients of a level at `atMs`. Fixed targets pass through;
 * duplicates (the on-call person is also a fixed target) are paged once.
 */
export function resolveTargets(level: { targets?: readonly LevelTarget[] }, atMs: number, file: ScheduleFile | undefined): ResolvedTargets {
  const out: ResolvedTargets = { targets: [], oncall: [], unresolved: [] };
  const seen = new Set<string>();
  const answers = new Map<string, OnCallAnswer>();
  const push = (t: ResolvedTarget) => {
    const key = `${t.channel}\u0000${JSON.stringify(t.target)}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.targets.push(t);
  };
  for (const t of level.targets ?? []) {
    if (t.target === undefined || typeof t.target === 'string') {
      push(t.target === undefined ? { channel: t.channel } : { channel: t.channel, target: t.target });
      continue;
    }
    const schedule = t.target.schedule;
    let answer = answers.get(schedule);
    if (!answer) {
      if (!file) {
        out.unresolved.push({ channel: t.channel, schedule, reason: 'no on-call schedule file is configured (ONCALL_SCHEDULES_FILE)' });
        continue;
      }
      try {
        answer = whoIsOnCall(file, schedule, atMs);
      } catch (err) {
        if (!(err instanceof UnknownScheduleError)) throw err;
        out.unresolved.push({ channel: t.channel, schedule, reason: err.message });
        continue;
      }
      answers.set(schedule, answer);
      out.oncall.push({ schedule, person: answer.person?.id ?? null, source: answer.source, ...(answer.layer ? { layer: answer.layer } : {}) });
    }
    if (!answer.person) {
      out.unresolved.push({ channel: t.channel, schedule, reason: `nobody is on call for "${schedule}" at ${answer.at}` });
      continue;
    }
    const contact = answer.person.contacts[t.channel];
    if (contact === undefined) {
      out.unresolved.push({ channel: t.channel, schedule, reason: `${answer.person.id} (on call for "${schedule}") has no "${t.channel}" contact` });
      continue;
    }
    push({ channel: t.channel, target: contact, oncall: { schedule, person: answer.person.id, name: answer.person.name } });
  }
  return out;
}

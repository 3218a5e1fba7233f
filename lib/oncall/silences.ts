/**
 * Silences and maintenance windows: a time window and matchers (device,
 * host, rule — all given ones must match). An alert that matches an active
 * silence is recorded (workflow, ledger) but pages nobody; escalations
 * already running for matching alerts are paused at once (the silence
 * service signals every matching workflow found through search attributes)
 * and resume — or resolve, per `onEnd` — when the window ends. Every silence
 * carries who created it, when and why, and who ended it early.
 */
import { z } from 'zod';
import { tryParseDurationMs } from '../alerts/rules-duration.ts';
import { silenceMatches, type ActiveSilence, type SilenceMatchers, type SilenceOnEnd, type SilenceSubject } from './silence-match.ts';

export { silenceMatches, type ActiveSilence, type SilenceMatchers, type SilenceOnEnd, type SilenceSubject };

/** Bounds: active silences at once, longest window, how long ended ones are kept for audit. */
export const SILENCE_LIMITS = {
  active: 1_000,
  maxDurationMs: 30 * 86_400_000,
  keepEndedMs: 90 * 86_400_000,
  /** Ended silences kept (oldest purged first beyond this). */
  kept: 10_000,
} as const;

const matcher = z.string().min(1).max(200).regex(/^[^\s*]+\*?$/, 'an exact value, or a prefix ending in "*" (no spaces)');

export const SilenceMatchersSchema: z.ZodType<SilenceMatchers> = z
  .object({ device: matcher.optional(), host: matcher.optional(), rule: matcher.optional() })
  .strict()
  .refine((m) => m.device || m.host || m.rule, { message: 'a silence needs at least one of device, host, rule' });

/** What a user asks for (CLI `silence add`, POST /v1/silences). */
export const SilenceRequestSchema = z
  .object({
    matchers: SilenceMatchersSchema,
    /** Window length ("2h"); ends at `startsAt` + this. */
    for: z.string().refine((s) => {
      const ms = tryParseDurationMs(s) ?? 0;
      return ms >= 10_000 && ms <= SILENCE_LIMITS.maxDurationMs;
    }, `expected a duration between 10s and ${SILENCE_LIMITS.maxDurationMs / 86_400_000}d, like "2h"`),
    /** Start of a planned maintenance window (ISO 8601 with offset); now when absent. */
    startsAt: z.iso.datetime({ offset: true }).optional(),
    reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(500),
    by: z.string().trim().min(1).max(200),
    onEnd: z.enum(['resume', 'resolve']).default('resume'),
  })
  .strict();
export type SilenceRequest = z.input<typeof SilenceRequestSchema>;

/** A stored silence: the request, resolved to a window, plus its audit trail. */
export interface Silence {
  id: string;
  matchers: SilenceMatchers;
  startsAt: string;
  endsAt: string;
  onEnd: SilenceOnEnd;
  reason: string;
  created: { by: string; at: string };
  /** Set when ended early (`silence remove`). */
  ended?: { by: string; at: string; reason?: string };
}

/** A request that does not validate; `issues` name each bad field. */
export class SilenceRequestError extends Error {
  override name = 'SilenceRequestError';
  constructor(readonly issues: string[]) {
    super(`invalid silence: ${issues.join('; ')}`);
  }
}

export function isActive(s: Silence, atMs: number): boolean {
  return !s.ended && Date.parse(s.startsAt) <= atMs && atMs < Date.parse(s.endsAt);
}

/** The matching silence that lasts longest (so one pause covers overlapping windows), or undefined. */
export function activeSilenceFor(silences: Iterable<Silence>, alert: SilenceSubject, atMs: number): ActiveSilence | undefined {
  let best: Silence | undefined;
  for (const s of silences) if (isActive(s, atMs) && silenceMatches(s, alert) && (!best || s.endsAt > best.endsAt)) best = s;
  return best && toActive(best);
}

export function toActive(s: Silence): ActiveSilence {
  return { id: s.id, matchers: s.matchers, endsAt: s.endsAt, onEnd: s.onEnd, reason: s.reason, by: s.created.by };
}

/** Validates a request into a silence (id from the caller: time-ordered and unique). */
export function buildSilence(req: unknown, id: string, nowMs: number): Silence {
  const r = SilenceRequestSchema.safeParse(req);
  if (!r.success) throw new SilenceRequestError(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  const startMs = r.data.startsAt ? Date.parse(r.data.startsAt) : nowMs;
  const endMs = startMs + tryParseDurationMs(r.data.for)!;
  if (endMs <= nowMs) throw new SilenceRequestError(['startsAt: the window is already over']);
  return {
    id,
    matchers: r.data.matchers,
    startsAt: new Date(startMs).toISOString(),
    endsAt: new Date(endMs).toISOString(),
    onEnd: r.data.onEnd,
    reason: r.data.reason,
    created: { by: r.data.by, at: new Date(nowMs).toISOString() },
  };
}

/**
 * Temporal visibility query for the running alert workflows a silence
 * matches. Host is matched in the workflow (no host search attribute), so a
 * host-only silence lists all running alerts and the workflow checks itself.
 */
export function silenceVisibilityQuery(m: SilenceMatchers): string {
  const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const clause = (key: string, pattern: string) =>
    pattern.endsWith('*') ? `${key} STARTS_WITH ${q(pattern.slice(0, -1))}` : `${key} = ${q(pattern)}`;
  const parts = ['WorkflowType = "alertEscalation"', 'ExecutionStatus = "Running"'];
  if (m.device) parts.push(clause('AlertDevice', m.device));
  if (m.rule) parts.push(clause('AlertRule', m.rule));
  return parts.join(' AND ');
}

/**
 * Escalation policy: who is paged, where, and how long each level waits before
 * the next one is paged. Validated once when loaded; the workflow receives the
 * parsed object (JSON) as input, so a policy change applies to new alerts only.
 */
import { z } from 'zod';
import type { Severity } from './types.ts';
import { tryParseDurationMs } from './rules-duration.ts';

const duration = (what: string) =>
  z.string().refine((s) => (tryParseDurationMs(s) ?? 0) > 0, {
    message: `${what} must be a positive duration like "30s", "5m", "1h"`,
  });

/** One escalation level (0 = first page). */
export const EscalationLevelSchema = z.object({
  name: z.string().min(1),
  /** Slack channel id or name for this level; the activity's default channel when absent. */
  channel: z.string().min(1).optional(),
  /** Slack user ids (U…/W…) mentioned when this level is paged. */
  users: z.array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'Slack user id like U0123ABC')).optional(),
  /** Slack user-group (subteam) ids (S…) mentioned when this level is paged. */
  groups: z.array(z.string().regex(/^S[A-Z0-9]{2,}$/, 'Slack user-group id like S0123ABC')).optional(),
  /** How long this level has to acknowledge before the next level is paged. */
  waitFor: duration('waitFor'),
});

export const EscalationPolicySchema = z.object({
  levels: z.array(EscalationLevelSchema).min(1, 'at least one escalation level'),
  /** How many extra times the whole level list is walked after the last level. */
  repeat: z.number().int().min(0).max(100).default(0),
  /** Quiet period after recovery before the alert resolves itself. */
  autoResolveAfter: duration('autoResolveAfter').default('10m'),
  /** Upper bound for one snooze. */
  snoozeMax: duration('snoozeMax').default('24h'),
});

export type EscalationLevel = z.infer<typeof EscalationLevelSchema>;
/** Parsed policy (JSON-serialisable: it is the workflow's input). */
export type EscalationPolicy = z.infer<typeof EscalationPolicySchema>;

/** The policy file: a default plus optional per-severity overrides. */
export const EscalationPoliciesFileSchema = z.object({
  default: EscalationPolicySchema,
  bySeverity: z
    .object({ warning: EscalationPolicySchema.optional(), critical: EscalationPolicySchema.optional() })
    .strict()
    .optional(),
});
export type EscalationPolicies = z.infer<typeof EscalationPoliciesFileSchema>;

/** Raised when a policy file does not validate; the message names every bad path. */
export class EscalationPolicyError extends Error {
  override name = 'EscalationPolicyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * Parses a policy file (either the `{ default, bySeverity }` form or a single
 * bare policy, used for every severity).
 */
export function parseEscalationPolicies(json: unknown): EscalationPolicies {
  const bare = json !== null && typeof json === 'object' && 'levels' in json;
  if (bare) {
    const one = EscalationPolicySchema.safeParse(json);
    if (one.success) return { default: one.data };
    throw new EscalationPolicyError(`invalid escalation policy: ${formatIssues(one.error)}`, { cause: one.error });
  }
  const file = EscalationPoliciesFileSchema.safeParse(json);
  if (file.success) return file.data;
  throw new EscalationPolicyError(`invalid escalation policy: ${formatIssues(file.error)}`, { cause: file.error });
}

/** The policy that applies to an alert of this severity. */
export function policyForSeverity(policies: EscalationPolicies, severity: Severity): EscalationPolicy {
  return policies.bySeverity?.[severity] ?? policies.default;
}

/** Slack mention tokens for a level (`<@U…>`, `<!subteam^S…>`), in policy order. */
export function levelMentions(level: Pick<EscalationLevel, 'users' | 'groups'>): string[] {
  return [...(level.users ?? []).map((u) => `<@${u}>`), ...(level.groups ?? []).map((g) => `<!subteam^${g}>`)];
}

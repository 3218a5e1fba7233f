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

/** Bound on targets per level (each becomes a page on its channel). */
export const MAX_LEVEL_TARGETS = 20;

/**
 * One recipient of a level: a channel from the channels file (lib/notify/channels.ts) and
 * either a fixed, channel-specific target (Slack U…/S…/C… id, email address, ntfy topic,
 * PagerDuty routing key…) or `{ schedule }`, resolved to whoever is on call when the level fires.
 * No target: the channel's default destination (Slack's SLACK_CHANNEL, the webhook's URL).
 */
export const LevelTargetSchema = z
  .object({
    channel: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'a channel name from the channels file'),
    target: z.union([z.string().min(1).max(500), z.object({ schedule: z.string().min(1) }).strict()]).optional(),
  })
  .strict();
export type LevelTarget = z.infer<typeof LevelTargetSchema>;

/** One escalation level (0 = first page). */
export const EscalationLevelSchema = z.object({
  name: z.string().min(1),
  /** Slack channel id or name for this level; the activity's default channel when absent. */
  channel: z.string().min(1).optional(),
  /** Slack user ids (U…/W…) mentioned when this level is paged. */
  users: z.array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'Slack user id like U0123ABC')).optional(),
  /** Slack user-group (subteam) ids (S…) mentioned when this level is paged. */
  groups: z.array(z.string().regex(/^S[A-Z0-9]{2,}$/, 'Slack user-group id like S0123ABC')).optional(),
  /** Pages on any channel (several at once); added to the Slack `channel`/`users`/`groups` above, which mean `slack` targets. */
  targets: z.array(LevelTargetSchema).max(MAX_LEVEL_TARGETS).optional(),
  /** Paged instead when a channel of this level cannot deliver for longer than the policy's `fallbackAfter`. */
  fallback: z.array(LevelTargetSchema).max(MAX_LEVEL_TARGETS).optional(),
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
  /** A channel failing (retrying) for longer than this gives up and the level's `fallback` targets are paged. */
  fallbackAfter: duration('fallbackAfter').optional(),
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
  /** For the pipeline's own alerts (device `pipeline`: heartbeat, collect-stalled, influxdb-*): page another channel/team than the failing path. */
  pipeline: EscalationPolicySchema.optional(),
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

/** The policy for one alert: `pipeline` for the pipeline's own alerts (when set), else by severity. */
export function policyForAlert(policies: EscalationPolicies, alert: { device: string; severity: Severity }): EscalationPolicy {
  if (alert.device === PIPELINE_DEVICE && policies.pipeline) return policies.pipeline;
  return policyForSeverity(policies, alert.severity);
}

/** The device name of the pipeline's own alerts (activities/collect OPS_DEVICE, the heartbeat). */
export const PIPELINE_DEVICE = 'pipeline';

/**
 * The wire contract between the Block Kit buttons rendered by blocks.ts and
 * the interactivity endpoint (api/slack/interactions.ts): one module owns it.
 *
 * action_id = `alert:ack` | `alert:resolve` | `alert:snooze:<duration>` | `alert:quarantine` | `alert:drain` | `alert:release`,
 * value     = the alert id (`alert-<device>-<rule>`).
 * action_id must be unique within one message, hence the duration in the id.
 */

/** Snooze choices offered on the message; strings Temporal's Duration accepts (ms format). */
export const SNOOZE_DURATIONS = ['15m', '1h', '4h'] as const;
export type SnoozeDuration = (typeof SNOOZE_DURATIONS)[number];

/** What an on-call person can do from Slack. */
export type SlackAlertAction = 'ack' | 'resolve' | 'snooze' | NodeAction;
/** Node remediation buttons (shown when the incident's device maps to a Kubernetes node). */
export const NODE_ACTIONS = ['quarantine', 'drain', 'release'] as const;
export type NodeAction = (typeof NODE_ACTIONS)[number];

export const ACTION_ID_PREFIX = 'alert:';

/** Build the action_id of a button. */
export function buildActionId(action: SlackAlertAction, snoozeFor?: SnoozeDuration): string {
  if (action === 'snooze') {
    if (!snoozeFor) throw new TypeError('snooze needs a duration');
    return `${ACTION_ID_PREFIX}snooze:${snoozeFor}`;
  }
  return `${ACTION_ID_PREFIX}${action}`;
}

/** Parse an action_id back; null for anything this app did not render. */
export function parseActionId(
  actionId: unknown,
): { action: SlackAlertAction; snoozeFor?: SnoozeDuration } | null {
  if (typeof actionId !== 'string' || !actionId.startsWith(ACTION_ID_PREFIX)) return null;
  const rest = actionId.slice(ACTION_ID_PREFIX.length);
  if (rest === 'ack' || rest === 'resolve') return { action: rest };
  if ((NODE_ACTIONS as readonly string[]).includes(rest)) return { action: rest as NodeAction };
  if (rest.startsWith('snooze:')) {
    const d = rest.slice('snooze:'.length);
    if ((SNOOZE_DURATIONS as readonly string[]).includes(d)) return { action: 'snooze', snoozeFor: d as SnoozeDuration };
  }
  return null;
}

/** Message metadata event_type that marks this app's alert messages (idempotency lookups). */
export const ALERT_METADATA_EVENT = 'telemetry_alert';
/** Metadata event_type of escalation thread replies. */
export const ESCALATION_METADATA_EVENT = 'telemetry_alert_escalation';

/**
 * The activities the alert escalation workflow calls, as a TYPE only. The real
 * implementations (Slack, ledger) live under activities/ and are assigned to
 * this interface by the alerts worker; tests pass recording fakes. Every
 * activity must be idempotent: Temporal retries them.
 */
import type { AckChannel, AlertInput, AlertState, ChainReceipt, Severity, SlackMessageRef } from '../lib/alerts/types.ts';
import type { LevelTarget, ResolvedTargets } from '../lib/oncall/targets.ts';
import type { ActiveSilence } from '../lib/oncall/silence-match.ts';
import type { NotifyFollowUpInput, NotifyPostInput, NotifyRef, NotifyUpdateInput } from '../lib/notify/notifier.ts';

export type { NotifyFollowUpInput, NotifyPostInput, NotifyRef, NotifyUpdateInput };

export interface PostAlertMessageInput {
  state: AlertState;
  /** Level-0 channel from the policy; the activity's default channel when absent. */
  channel?: string;
  /** Level-0 mentions (`<@U…>`, `<!subteam^S…>`) to include in the first post. */
  mentions?: string[];
}
export interface UpdateAlertMessageInput {
  state: AlertState;
  /** Null when the first post produced no Slack message (console mode): log instead. */
  ref: SlackMessageRef | null;
}
export interface PostEscalationReplyInput {
  state: AlertState;
  /** Thread parent; null in console mode. */
  ref: SlackMessageRef | null;
  /** The level being paged now. */
  level: { index: number; name: string };
  /** Slack mention tokens, ready to embed: `<@U…>`, `<!subteam^S…>`. */
  mentions: string[];
  /** The level's own channel when it differs from the thread's (cross-post there too). */
  channel?: string;
}
export interface RecordAlertOnChainInput {
  alertId: string;
  device: string;
  severity: Severity;
  raisedAtMs: number;
}
export interface RecordAckOnChainInput {
  alertId: string;
  responder: string;
  via: AckChannel;
  ackedAtMs: number;
}
export interface RecordResolveOnChainInput {
  alertId: string;
  by: string;
  reason: string;
  resolvedAtMs: number;
}

/** Slack side: returns null when Slack is not configured (console fallback). */
export interface AlertSlackActivities {
  postAlertMessage(input: PostAlertMessageInput): Promise<SlackMessageRef | null>;
  updateAlertMessage(input: UpdateAlertMessageInput): Promise<void>;
  postEscalationReply(input: PostEscalationReplyInput): Promise<void>;
}

/** Ledger side: returns null when no chain is configured. Idempotent per alertId. */
export interface AlertLedgerActivities {
  recordAlertOnChain(input: RecordAlertOnChainInput): Promise<ChainReceipt | null>;
  recordAckOnChain(input: RecordAckOnChainInput): Promise<ChainReceipt | null>;
  recordResolveOnChain(input: RecordResolveOnChainInput): Promise<ChainReceipt | null>;
}

/**
 * The notifier boundary as the workflow calls it: one activity per page and channel.
 * `channel` is a name from the channels file; adapters (activities/notify/*) own rendering,
 * mention syntax and the ref. A page may wait its turn in the channel's delivery queue
 * (heartbeating), so these run with a long start-to-close and a heartbeat timeout.
 */
export interface AlertNotifyActivities {
  /** First page on a channel; null when the channel is disabled (log only). */
  notifyPost(input: NotifyPostInput): Promise<NotifyRef | null>;
  /** Bring the page up to date; a returned ref replaces the stored one. */
  notifyUpdate(input: NotifyUpdateInput): Promise<NotifyRef | null>;
  /** Page a later level on a channel; returns the ref when this was the channel's first page. */
  notifyFollowUp(input: NotifyFollowUpInput): Promise<NotifyRef | null>;
}

/** Input of `preparePage`: the level about to be paged (its targets as the policy lists them). */
export interface PreparePageInput {
  alert: AlertInput;
  level: { index: number; name: string };
  targets?: LevelTarget[];
  /** Workflow time of the page, ms: schedules are resolved at this instant. */
  atMs: number;
}
/** Who to page now (schedule targets resolved), or the silence that says: page nobody. */
export interface PreparePageResult extends ResolvedTargets {
  silence?: ActiveSilence;
}

/**
 * On-call side (lib/oncall): run right before every page, because schedules
 * and silences are live data that may change while the alert waits.
 */
export interface AlertOncallActivities {
  preparePage(input: PreparePageInput): Promise<PreparePageResult>;
}

export type AlertActivities = AlertSlackActivities & AlertLedgerActivities & AlertNotifyActivities & AlertOncallActivities;

/** ApplicationFailure types the workflow treats as permanent (set by the activities). */
export const SLACK_PERMANENT_ERROR = 'SlackPermanentError';
export const LEDGER_REVERT_ERROR = 'LedgerRevert';
export { NOTIFY_PERMANENT_ERROR, NOTIFY_UNKNOWN_CHANNEL } from '../lib/notify/notifier.ts';

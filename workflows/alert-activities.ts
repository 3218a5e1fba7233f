/**
 * The activities the alert escalation workflow calls, as a TYPE only. The real
 * implementations (Slack, ledger) live under activities/ and are assigned to
 * this interface by the alerts worker; tests pass recording fakes. Every
 * activity must be idempotent: Temporal retries them.
 */
import type { AckChannel, AlertState, ChainReceipt, Severity, SlackMessageRef } from '../lib/alerts/types.ts';

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

export type AlertActivities = AlertSlackActivities & AlertLedgerActivities;

/** ApplicationFailure types the workflow treats as permanent (set by the activities). */
export const SLACK_PERMANENT_ERROR = 'SlackPermanentError';
export const LEDGER_REVERT_ERROR = 'LedgerRevert';

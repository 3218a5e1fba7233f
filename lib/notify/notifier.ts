/**
 * The notifier boundary: the one interface through which the escalation
 * workflow reaches people, whatever the channel (Slack, webhook, email, ntfy).
 *
 * The workflow passes channel names (from the channels file) and target
 * strings as written in the policy; it never formats a mention or reads a
 * message id. Each adapter (activities/notify/*) owns its mention syntax, its
 * rendering and its `NotifyRef.id`/`data`, which the workflow stores and hands
 * back verbatim. Everything here is JSON (it crosses Temporal payloads) and
 * safe for the workflow sandbox (types and constants only).
 */
import type { AlertState, NotifyRefView } from '../alerts/types.ts';

/** Protocols an adapter exists for. */
export const CHANNEL_KINDS = ['slack', 'webhook', 'email', 'ntfy'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/**
 * Where a page went: opaque to the workflow except `channel` (which adapter to ask) and
 * `kind`. `id`/`data` are adapter-defined (Slack ts, PagerDuty dedup key, email Message-ID,
 * ntfy message id); `digest` marks a page delivered inside a storm digest; `slack` is set by
 * the Slack adapter only, so `AlertState.slack` (read by the API, CLI, Slack handlers) stays.
 * The shape is declared once in lib/alerts/types.ts (the state carries it).
 */
export type NotifyRef = NotifyRefView;

/** First page of an alert on one channel (level 0, or the first level that uses this channel). */
export interface NotifyPostInput {
  state: AlertState;
  channel: string;
  /** Targets as written in the policy (channel-specific ids/addresses); resolved schedules arrive here as fixed targets. */
  targets: string[];
}

/** Re-render / report a state change (ack, snooze, resolve…) where the page lives; may return a newer ref. */
export interface NotifyUpdateInput {
  state: AlertState;
  ref: NotifyRef;
}

/** A later level pages more people on a channel (thread reply, new event, new mail, new push). */
export interface NotifyFollowUpInput {
  state: AlertState;
  channel: string;
  /** The channel's first page of this alert; null when this channel had none yet. */
  ref: NotifyRef | null;
  level: { index: number; name: string };
  targets: string[];
}

/** What every channel adapter implements (activities/notify/<kind>.ts). */
export interface Notifier {
  readonly kind: ChannelKind;
  /** Null when the channel is disabled (log-only, like Slack without a token). */
  post(input: NotifyPostInput): Promise<NotifyRef | null>;
  /** Returns a replacement ref when the adapter keeps state in it (e.g. which statuses were already mailed). */
  update(input: NotifyUpdateInput): Promise<NotifyRef | undefined>;
  followUp(input: NotifyFollowUpInput): Promise<NotifyRef | null>;
  /** How a target is written so that the channel notifies it (`<@U…>`, an address, a topic). */
  formatMention(target: string): string;
}

/** Activity-level failure types (ApplicationFailure.type) the workflow branches on. */
export const NOTIFY_PERMANENT_ERROR = 'NotifyPermanentError';
export const NOTIFY_TRANSIENT_ERROR = 'NotifyTransientError';
export const NOTIFY_RATE_LIMITED = 'NotifyRateLimited';
/** The per-channel delivery queue is at its bound: back off and retry (the page is not lost). */
export const NOTIFY_QUEUE_FULL = 'NotifyQueueFull';
/** The policy names a channel the worker has no configuration for. */
export const NOTIFY_UNKNOWN_CHANNEL = 'NotifyUnknownChannel';

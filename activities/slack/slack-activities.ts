/**
 * Slack activities of the alert workflow: post the alert message, update it in
 * place on every state change, reply in its thread when escalating.
 *
 * Without a WebClient (no SLACK_BOT_TOKEN) every activity logs the alert
 * (structured, pino) and returns null/void, so the stack runs locally.
 *
 * Failure classification (see classifySlackError): Slack's permanent errors
 * (`invalid_auth`, `channel_not_found`, `invalid_blocks`, …, any `ok:false`
 * that is not a known service hiccup, and HTTP 4xx) become non-retryable
 * ApplicationFailures of type `SlackPermanentError`; 429, 5xx and network
 * errors are thrown as retryable (`SlackTransientError` / `SlackRateLimited`).
 *
 * Idempotency: chat.update is idempotent by nature (same state → same
 * message). chat.postMessage is not: Temporal may retry an attempt that timed
 * out after Slack had posted. Every message therefore carries Slack message
 * metadata `{ alert_id, fired_at[, level, repeats] }`, and on a retried attempt
 * (`info.attempt > 1`) the activity first looks for its own earlier message in
 * the channel (conversations.history / conversations.replies) and returns that
 * instead of posting again. This needs the channel as an ID (C…/G…), and the
 * `channels:history` / `groups:history` scopes; when the lookup cannot run the
 * activity logs a warning and posts (at-least-once, duplicates detectable by
 * their metadata).
 * Residual window: the WebClient's own in-call retries (5xx, timeouts) of a
 * chat.postMessage are not covered by the lookup; keep `maxRetries` small.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  ErrorCode,
  LogLevel,
  WebClient,
  type Logger as SlackLogger,
  type MessageMetadataEventPayloadObject,
} from '@slack/web-api';
import type { Logger } from '../../lib/logger.ts';
import type { AlertState, SlackMessageRef } from '../../lib/alerts/types.ts';
import { ALERT_METADATA_EVENT, ESCALATION_METADATA_EVENT } from './action-ids.ts';
import { MAX_BLOCKS, alertMessage, escalationReply, formatMention, type AlertMessage, type AlertMessageOptions } from './blocks.ts';

/** Slack `error` codes that will fail the same way on every retry. */
export const SLACK_PERMANENT_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'channel_not_found',
  'is_archived',
  'not_in_channel',
  'msg_too_long',
  'no_text',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_metadata_format',
  'invalid_metadata_schema',
  'invalid_arguments',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'restricted_action',
  'team_access_not_granted',
]);

/** Slack `error` codes that describe a passing service problem: retry. */
export const SLACK_TRANSIENT_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

export const SLACK_PERMANENT_ERROR_TYPE = 'SlackPermanentError';
export const SLACK_TRANSIENT_ERROR_TYPE = 'SlackTransientError';
export const SLACK_RATE_LIMITED_TYPE = 'SlackRateLimited';

/** How far back a retried attempt looks for its own earlier message (seconds). */
export const DEDUP_WINDOW_S = 24 * 3600;
/** Messages scanned by that lookup (one page). */
export const DEDUP_SCAN_LIMIT = 200;

export interface PostAlertMessageInput {
  state: AlertState;
  /** Channel id (C…) or name (#…); default: the configured SLACK_CHANNEL. */
  channel?: string;
  /** Level-0 responders to notify with the first post (`<@U…>`, `<!subteam^S…>`, or ids). */
  mentions?: string[];
}
export interface UpdateAlertMessageInput {
  state: AlertState;
  ref: SlackMessageRef;
}
export interface PostEscalationReplyInput {
  state: AlertState;
  /** The alert message; the reply goes in its thread. Null when it could not be posted. */
  ref: SlackMessageRef | null | undefined;
  /**
   * Policy level being entered: its 0-based index, or `{ index, name }` as the
   * workflow passes it (workflows/alert-activities.ts).
   */
  level: number | { index: number; name: string };
  /** Slack ids to notify: U…/W… users, S… user groups, `here`/`channel`. */
  mentions: string[];
  /** The level's channel, when the policy routes it elsewhere than the alert message. */
  channel?: string;
}

export interface SlackActivitiesDeps {
  /** Undefined → Slack disabled: alerts are logged only. */
  client: WebClient | undefined;
  defaultChannel: string;
  logger: Logger;
  messageOptions?: AlertMessageOptions;
}

export interface SlackActivities {
  postAlertMessage(input: PostAlertMessageInput): Promise<SlackMessageRef | null>;
  updateAlertMessage(input: UpdateAlertMessageInput): Promise<void>;
  postEscalationReply(input: PostEscalationReplyInput): Promise<void>;
}

/** Temporal attempt number (1 outside an activity context, e.g. plain unit calls). */
function currentAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

/** A Slack channel id rather than a name: history lookups only accept ids. */
export function isChannelId(channel: string): boolean {
  return /^[CGD][A-Z0-9]{6,}$/.test(channel);
}

interface SlackErrorShape {
  code?: string;
  message?: string;
  data?: { error?: string };
  statusCode?: number;
  retryAfter?: number;
}

/**
 * Map a WebClient error to a Temporal failure: permanent → non-retryable
 * `SlackPermanentError`; everything else retryable, with Slack's delay when known.
 */
export function classifySlackError(err: unknown, method: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = (err ?? {}) as SlackErrorShape;
  const cause = err instanceof Error ? err : new Error(String(err));
  const details = (extra: Record<string, unknown>) => [{ method, ...extra }];

  if (e.code === ErrorCode.PlatformError) {
    const code = e.data?.error ?? 'unknown_error';
    const transient = SLACK_TRANSIENT_ERRORS.has(code);
    return ApplicationFailure.create({
      message: `Slack ${method} failed: ${code}`,
      type: transient ? SLACK_TRANSIENT_ERROR_TYPE : SLACK_PERMANENT_ERROR_TYPE,
      // Unknown ok:false codes are request problems (bad arguments, scopes): retrying cannot help.
      nonRetryable: !transient,
      details: details({ error: code }),
      cause,
    });
  }
  if (e.code === ErrorCode.RateLimitedError) {
    const retryAfterS = typeof e.retryAfter === 'number' ? e.retryAfter : 1;
    return ApplicationFailure.create({
      message: `Slack ${method} rate limited; retry after ${retryAfterS}s`,
      type: SLACK_RATE_LIMITED_TYPE,
      nonRetryable: false,
      nextRetryDelay: retryAfterS * 1000,
      details: details({ retryAfterS }),
      cause,
    });
  }
  if (e.code === ErrorCode.HTTPError) {
    const status = e.statusCode ?? 0;
    const transient = status >= 500 || status === 408 || status === 429;
    return ApplicationFailure.create({
      message: `Slack ${method} failed: HTTP ${status}`,
      type: transient ? SLACK_TRANSIENT_ERROR_TYPE : SLACK_PERMANENT_ERROR_TYPE,
      nonRetryable: !transient,
      details: details({ status }),
      cause,
    });
  }
  // The WebClient's own 429 handling ends in a plain Error once its retries are spent.
  if (typeof e.message === 'string' && e.message.startsWith('A rate limit was exceeded')) {
    return ApplicationFailure.create({
      message: `Slack ${method} rate limited`,
      type: SLACK_RATE_LIMITED_TYPE,
      nonRetryable: false,
      details: details({}),
      cause,
    });
  }
  // RequestError (connection refused, reset, timeout) and anything unexpected: retry.
  return ApplicationFailure.create({
    message: `Slack ${method} failed: ${cause.message}`,
    type: SLACK_TRANSIENT_ERROR_TYPE,
    nonRetryable: false,
    details: details({ code: e.code }),
    cause,
  });
}

async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classifySlackError(err, method);
  }
}

/** Metadata stamped on every message this app posts about an alert (dedup key). */
function metadataPayload(state: AlertState, extra: Record<string, number> = {}): MessageMetadataEventPayloadObject {
  return { alert_id: state.alert.alertId, fired_at: state.alert.firedAt, ...extra };
}

function payloadMatches(
  message: { metadata?: { event_type?: string; event_payload?: Record<string, unknown> } },
  eventType: string,
  payload: MessageMetadataEventPayloadObject,
): boolean {
  const md = message.metadata;
  if (!md || md.event_type !== eventType || !md.event_payload) return false;
  return Object.entries(payload).every(([k, v]) => md.event_payload![k] === v);
}

/**
 * The first post pages level 0: its mentions go in the notification text and in
 * a section under the header (Slack notifies for mentions in blocks). Later
 * chat.updates re-render without them; the page has been sent by then.
 */
function withMentions(msg: AlertMessage, mentions: string[] | undefined): AlertMessage {
  const who = (mentions ?? []).map(formatMention).filter((m) => m.length > 0);
  if (who.length === 0) return msg;
  const line = who.join(' ');
  const [head, ...rest] = msg.blocks;
  return {
    text: `${line} ${msg.text}`,
    blocks: [...(head ? [head] : []), { type: 'section' as const, text: { type: 'mrkdwn' as const, text: line } }, ...rest].slice(0, MAX_BLOCKS),
  };
}

/** Build the Slack activities over an injected WebClient (or none: log-only mode). */
export function createSlackActivities(deps: SlackActivitiesDeps): SlackActivities {
  const { client, defaultChannel, logger } = deps;
  const log = logger.child({ component: 'slack' });
  const render = (state: AlertState) => alertMessage(state, deps.messageOptions);
  const alertFields = (state: AlertState) => ({
    alertId: state.alert.alertId,
    device: state.alert.device,
    rule: state.alert.rule,
    severity: state.alert.severity,
    status: state.status,
    level: state.level,
    summary: state.alert.summary,
  });

  /** Look for a message this app already posted (retried attempt). Null when absent or not checkable. */
  async function findPosted(
    wc: WebClient,
    channel: string,
    eventType: string,
    payload: MessageMetadataEventPayloadObject,
    threadTs?: string,
  ): Promise<SlackMessageRef | null> {
    if (!isChannelId(channel)) {
      log.warn({ channel, alertId: payload.alert_id }, 'slack dedup lookup skipped: channel is not an id; a duplicate post is possible');
      return null;
    }
    try {
      const oldest = String(Math.floor(Date.now() / 1000) - DEDUP_WINDOW_S);
      const res = threadTs
        ? await wc.conversations.replies({ channel, ts: threadTs, oldest, limit: DEDUP_SCAN_LIMIT, include_all_metadata: true })
        : await wc.conversations.history({ channel, oldest, limit: DEDUP_SCAN_LIMIT, include_all_metadata: true });
      const messages = (res.messages ?? []) as { ts?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }[];
      const hit = messages.find((m) => m.ts && payloadMatches(m, eventType, payload));
      return hit?.ts ? { channel, ts: hit.ts } : null;
    } catch (err) {
      log.warn({ channel, alertId: payload.alert_id, err: (err as Error).message }, 'slack dedup lookup failed; posting anyway');
      return null;
    }
  }

  /**
   * Is `channel` (id or name) the channel whose id is `channelId`? A name is
   * resolved with conversations.info (channels:read); when that is not possible
   * the answer is "no": a redundant notice beats a missed escalation.
   */
  async function sameChannel(wc: WebClient, channelId: string, channel: string): Promise<boolean> {
    if (channel === channelId) return true;
    if (isChannelId(channel)) return false;
    try {
      const info = await wc.conversations.info({ channel: channelId });
      return !!info.channel?.name && info.channel.name === channel.replace(/^#/, '');
    } catch {
      return false;
    }
  }

  return {
    /** Post the alert message; returns where it lives, or null when Slack is disabled. */
    async postAlertMessage({ state, channel, mentions }: PostAlertMessageInput): Promise<SlackMessageRef | null> {
      const target = channel ?? defaultChannel;
      const msg = withMentions(render(state), mentions);
      if (!client) {
        log.warn({ ...alertFields(state), channel: target, slack: 'disabled' }, `ALERT ${msg.text}`);
        return null;
      }
      const payload = metadataPayload(state);
      const attempt = currentAttempt();
      if (attempt > 1) {
        const existing = await findPosted(client, target, ALERT_METADATA_EVENT, payload);
        if (existing) {
          log.info({ ...alertFields(state), ...existing, attempt }, 'slack alert message already posted by an earlier attempt');
          return existing;
        }
      }
      const res = await call('chat.postMessage', () =>
        client.chat.postMessage({
          channel: target,
          text: msg.text,
          blocks: msg.blocks,
          metadata: { event_type: ALERT_METADATA_EVENT, event_payload: payload },
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
      if (!res.channel || !res.ts) {
        throw ApplicationFailure.create({
          message: 'Slack chat.postMessage answered ok without channel/ts',
          type: SLACK_TRANSIENT_ERROR_TYPE,
        });
      }
      const ref = { channel: res.channel, ts: res.ts };
      log.info({ ...alertFields(state), ...ref }, 'slack alert message posted');
      return ref;
    },

    /** Re-render the alert message in place (chat.update); idempotent. */
    async updateAlertMessage({ state, ref }: UpdateAlertMessageInput): Promise<void> {
      const msg = render(state);
      if (!client || !ref) {
        log.info({ ...alertFields(state), slack: client ? 'no-message' : 'disabled' }, `ALERT ${msg.text}`);
        return;
      }
      await call('chat.update', () =>
        client.chat.update({
          channel: ref.channel,
          ts: ref.ts,
          text: msg.text,
          blocks: msg.blocks,
          metadata: { event_type: ALERT_METADATA_EVENT, event_payload: metadataPayload(state) },
        }),
      );
      log.debug({ ...alertFields(state), ...ref }, 'slack alert message updated');
    },

    /**
     * Escalate: reply in the alert's thread with the level's mentions. When the
     * level routes to another channel, also post a top-level notice there with a
     * link to the thread (no buttons: the one interactive message stays the
     * original, which chat.update keeps current).
     */
    async postEscalationReply({ state, ref, level: levelIn, mentions, channel }: PostEscalationReplyInput): Promise<void> {
      // The workflow passes { index, name }; a number must reach the text and the (dedup) metadata.
      const level = typeof levelIn === 'number' ? levelIn : levelIn.index;
      const text = escalationReply(state, level, mentions);
      if (!client) {
        log.warn({ ...alertFields(state), level, mentions, channel, slack: 'disabled' }, `ESCALATION ${text}`);
        return;
      }
      const payload = metadataPayload(state, { level, repeats: state.repeats });
      const metadata = { event_type: ESCALATION_METADATA_EVENT, event_payload: payload };
      const retried = currentAttempt() > 1;

      if (ref) {
        const done = retried ? await findPosted(client, ref.channel, ESCALATION_METADATA_EVENT, payload, ref.ts) : null;
        if (!done) {
          await call('chat.postMessage', () =>
            client.chat.postMessage({ channel: ref.channel, thread_ts: ref.ts, text, metadata, unfurl_links: false }),
          );
        }
      }

      // Without a thread to reply in, the notice goes top-level to the level's (or default) channel.
      const elsewhere = ref ? channel : (channel ?? defaultChannel);
      if (elsewhere && !(ref && (await sameChannel(client, ref.channel, elsewhere)))) {
        const done = retried ? await findPosted(client, elsewhere, ESCALATION_METADATA_EVENT, payload) : null;
        if (!done) {
          let link = '';
          if (ref) {
            try {
              const p = await client.chat.getPermalink({ channel: ref.channel, message_ts: ref.ts });
              if (p.permalink) link = `\n<${p.permalink}|Open the alert and its thread>`;
            } catch (err) {
              log.debug({ err: (err as Error).message }, 'slack permalink unavailable');
            }
          }
          await call('chat.postMessage', () =>
            client.chat.postMessage({ channel: elsewhere, text: `${text}${link}`, metadata, unfurl_links: false }),
          );
        }
      }
      log.info({ ...alertFields(state), level, channel: elsewhere ?? ref?.channel }, 'slack escalation posted');
    },
  };
}

export interface CreateSlackClientOptions {
  /** Bot token (xoxb-…). */
  token: string;
  /** Web API base, e.g. https://slack.com/api/ (default) or a local test server's /api/. */
  apiUrl?: string;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Retries inside one call (429 after Retry-After, 5xx, network). */
  maxRetries: number;
  /** Backoff between those retries, ms (default 1_000 … 30_000, ×2, jittered). */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  logger?: Logger;
  /**
   * Hand 429s to the caller instead of waiting inside the client (default false). The notifier's
   * delivery queue sets it: it waits exactly Retry-After and keeps the page's place in line, while the
   * client would add its own backoff on top and pause every call.
   */
  rejectRateLimitedCalls?: boolean;
}

const PINO_TO_SLACK: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
  fatal: LogLevel.ERROR,
};

/** Route the WebClient's own logging into pino. */
function slackLogger(base: Logger): SlackLogger {
  let l = base.child({ component: 'slack-web-api' });
  const fmt = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg: unknown[]) => l.debug(fmt(msg)),
    info: (...msg: unknown[]) => l.info(fmt(msg)),
    warn: (...msg: unknown[]) => l.warn(fmt(msg)),
    error: (...msg: unknown[]) => l.error(fmt(msg)),
    setLevel: () => {
      /* the pino level governs */
    },
    getLevel: () => PINO_TO_SLACK[l.level] ?? LogLevel.INFO,
    setName: (name: string) => {
      l = base.child({ component: 'slack-web-api', name });
    },
  };
}

/**
 * The real @slack/web-api client as production uses it. `rejectRateLimitedCalls:
 * false` makes the client itself wait `Retry-After` on a 429 (it pauses its
 * queue, then retries within `maxRetries`), so a burst of escalations does not
 * turn into a burst of failed activities.
 */
export function createSlackClient(opts: CreateSlackClientOptions): WebClient {
  const apiUrl = opts.apiUrl ? (opts.apiUrl.endsWith('/') ? opts.apiUrl : `${opts.apiUrl}/`) : undefined;
  return new WebClient(opts.token, {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    timeout: opts.timeoutMs,
    rejectRateLimitedCalls: opts.rejectRateLimitedCalls ?? false,
    retryConfig: {
      retries: opts.maxRetries,
      factor: 2,
      minTimeout: opts.minRetryDelayMs ?? 1_000,
      maxTimeout: opts.maxRetryDelayMs ?? 30_000,
      randomize: true,
    },
    ...(opts.logger ? { logger: slackLogger(opts.logger) } : {}),
  });
}

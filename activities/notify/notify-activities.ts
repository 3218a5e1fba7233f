/**
 * The notifier activities (`notifyPost`, `notifyUpdate`, `notifyFollowUp`):
 * dispatch by channel name to the adapter, and send every page through its
 * destination's delivery queue (delivery-queue.ts).
 *
 * Invariant: a page is delivered or its activity fails (and Temporal retries
 * it) — never acknowledged to the workflow without being sent. While a page
 * waits in the queue the activity heartbeats, so a dead worker is noticed and
 * the page rescheduled; a cancelled/timed-out activity leaves the queue.
 * Updates (in-place edits, status reports) bypass the queue: they are not
 * pages, and Slack limits chat.update separately from chat.postMessage.
 *
 * The queues live in this worker process: with several alerts-worker
 * replicas each honours the rate on its own (run one replica per Slack
 * workspace, or divide `ratePerSec`).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Logger } from '../../lib/logger.ts';
import type { NotifyFollowUpInput, NotifyPostInput, NotifyRef, NotifyUpdateInput, Notifier } from '../../lib/notify/notifier.ts';
import { NOTIFY_QUEUE_FULL, NOTIFY_RATE_LIMITED, NOTIFY_TRANSIENT_ERROR, NOTIFY_UNKNOWN_CHANNEL } from '../../lib/notify/notifier.ts';
import type { AlertNotifyActivities } from '../../workflows/alert-activities.ts';
import { DeliveryQueue, DeliveryQueues, QueueFullError, RateLimitedError, type DeliveryLimits, type DigestLine } from './delivery-queue.ts';

/** What the dispatcher needs from an adapter besides the Notifier interface. */
export interface ChannelAdapter extends Notifier {
  /** Queue key within the channel: where the page physically goes (Slack conversation, URL, SMTP server). */
  destination(targets: string[], ref: NotifyRef | null): string;
  /** Several pages as one message (storms); absent → the channel never coalesces. */
  sendDigest?(channel: string, destination: string, lines: DigestLine[]): Promise<NotifyRef[]>;
}

export interface NotifyChannel {
  adapter: ChannelAdapter;
  limits: DeliveryLimits;
}

export interface NotifyActivitiesDeps {
  channels: Record<string, NotifyChannel>;
  logger: Logger;
  /** Heartbeat period while a page waits, ms. */
  heartbeatMs?: number;
}

/** Retried pages answered from memory within this many recent deliveries (a retry after a lost result). */
export const DELIVERED_MEMO_SIZE = 10_000;

export const notifyMetrics = {
  delay: new Histogram({
    name: 'telemetry_notify_page_delay_seconds',
    help: 'Page requested (activity first scheduled) → delivered, per channel',
    labelNames: ['channel', 'severity', 'mode'] as const,
    buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
  }),
  pages: new Counter({
    name: 'telemetry_notify_pages_total',
    help: 'Page deliveries by channel, mode (single | digest) and outcome (delivered | failed | queue_full)',
    labelNames: ['channel', 'mode', 'outcome'] as const,
  }),
  rateLimited: new Counter({
    name: 'telemetry_notify_rate_limited_total',
    help: 'Rate-limit answers (429) from a channel, each waited out and retried',
    labelNames: ['channel'] as const,
  }),
  queued: new Gauge({ name: 'telemetry_notify_queue_pages', help: 'Pages waiting in delivery queues', labelNames: ['channel'] as const }),
};

interface ActivityInfo {
  requestedAtMs: number;
  attempt: number;
  signal?: AbortSignal;
  heartbeat?: () => void;
}

function activityInfo(): ActivityInfo {
  try {
    const ctx = Context.current();
    return {
      requestedAtMs: ctx.info.scheduledTimestampMs,
      attempt: ctx.info.attempt,
      signal: ctx.cancellationSignal,
      heartbeat: () => ctx.heartbeat(),
    };
  } catch {
    return { requestedAtMs: Date.now(), attempt: 1 }; // called outside an activity (tests, CLI)
  }
}

function toFailure(err: unknown, channel: string): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof QueueFullError)
    return ApplicationFailure.create({ message: err.message, type: NOTIFY_QUEUE_FULL, nonRetryable: false, nextRetryDelay: 5_000, cause: err });
  if (err instanceof RateLimitedError)
    return ApplicationFailure.create({ message: `${channel}: ${err.message}`, type: NOTIFY_RATE_LIMITED, nonRetryable: false, nextRetryDelay: err.retryAfterMs, cause: err });
  const e = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({ message: `${channel}: ${e.message}`, type: NOTIFY_TRANSIENT_ERROR, nonRetryable: false, cause: e });
}

export function createNotifyActivities(deps: NotifyActivitiesDeps): AlertNotifyActivities & { queues: DeliveryQueues<NotifyRef | null> } {
  const log = deps.logger.child({ component: 'notify' });
  const heartbeatMs = deps.heartbeatMs ?? 5_000;
  const queues = new DeliveryQueues<NotifyRef | null>();
  const memo = new Map<string, NotifyRef | null>();
  const queuedBy = new Map<string, number>();
  const bump = (channel: string, d: number) => {
    const n = (queuedBy.get(channel) ?? 0) + d;
    queuedBy.set(channel, n);
    notifyMetrics.queued.set({ channel }, n);
  };

  function channelOf(name: string): NotifyChannel {
    const ch = deps.channels[name];
    if (!ch)
      throw ApplicationFailure.nonRetryable(
        `notify channel "${name}" is not configured (known: ${Object.keys(deps.channels).join(', ') || 'none'}); add it to NOTIFY_CHANNELS_FILE`,
        NOTIFY_UNKNOWN_CHANNEL,
      );
    return ch;
  }

  function queueFor(name: string, ch: NotifyChannel, destination: string): DeliveryQueue<NotifyRef | null> {
    return queues.get(`${name}|${destination}`, () => {
      const send = ch.adapter.sendDigest;
      return new DeliveryQueue<NotifyRef | null>({
        destination: `${name} → ${destination}`,
        limits: ch.limits,
        sendDigest: send ? (lines) => send.call(ch.adapter, name, destination, lines) : undefined,
        onRateLimited: (ms) => {
          notifyMetrics.rateLimited.inc({ channel: name });
          log.warn({ channel: name, destination, retryAfterMs: ms }, 'channel rate limited; waiting Retry-After, pages stay queued');
        },
      });
    });
  }

  /** One page through the queue, heartbeating while it waits; the delay is measured from the first schedule. */
  async function page(
    kind: 'post' | 'followUp',
    input: NotifyPostInput | NotifyFollowUpInput,
    ref: NotifyRef | null,
    send: (adapter: ChannelAdapter) => Promise<NotifyRef | null>,
  ): Promise<NotifyRef | null> {
    const { state, channel, targets } = input;
    const level = 'level' in input ? input.level : undefined;
    const key = `${channel}|${state.alert.alertId}|${state.alert.firedAt}|${kind}|${level?.index ?? 0}|${state.repeats}|${targets.join(',')}`;
    if (memo.has(key)) return memo.get(key)!;
    const ch = channelOf(channel);
    const info = activityInfo();
    const destination = ch.adapter.destination(targets, ref);
    const line: DigestLine = {
      alertId: state.alert.alertId,
      severity: state.alert.severity,
      summary: state.alert.summary,
      device: state.alert.device,
      rule: state.alert.rule,
      level: level && level.index > 0 ? level.name : undefined,
      targets,
    };
    const beat = info.heartbeat ? setInterval(info.heartbeat, heartbeatMs) : undefined;
    bump(channel, 1);
    try {
      const q = queueFor(channel, ch, destination);
      const done = await q.submit({ severity: state.alert.severity, line, send: () => send(ch.adapter), signal: info.signal });
      const delayMs = Date.now() - info.requestedAtMs;
      notifyMetrics.delay.observe({ channel, severity: state.alert.severity, mode: done.mode }, delayMs / 1000);
      notifyMetrics.pages.inc({ channel, mode: done.mode, outcome: 'delivered' });
      log.debug({ channel, alertId: state.alert.alertId, mode: done.mode, delayMs, queuedMs: done.waitedMs }, 'page delivered');
      memo.set(key, done.result);
      if (memo.size > DELIVERED_MEMO_SIZE) memo.delete(memo.keys().next().value!);
      return done.result;
    } catch (err) {
      notifyMetrics.pages.inc({ channel, mode: 'single', outcome: err instanceof QueueFullError ? 'queue_full' : 'failed' });
      throw toFailure(err, channel);
    } finally {
      bump(channel, -1);
      if (beat) clearInterval(beat);
    }
  }

  return {
    queues,
    async notifyPost(input) {
      return page('post', input, null, (a) => a.post(input));
    },
    async notifyFollowUp(input) {
      return page('followUp', input, input.ref, (a) => a.followUp(input));
    },
    async notifyUpdate(input: NotifyUpdateInput) {
      const ch = channelOf(input.ref.channel);
      try {
        return (await ch.adapter.update(input)) ?? null;
      } catch (err) {
        if (err instanceof RateLimitedError) notifyMetrics.rateLimited.inc({ channel: input.ref.channel });
        throw toFailure(err, input.ref.channel);
      }
    },
  };
}

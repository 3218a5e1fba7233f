/**
 * Slack behind the notifier boundary: wraps the existing Slack activities
 * (activities/slack/*) so Slack behaves exactly as before, and adds the storm
 * digest. Everything Slack-shaped lives here: which targets are conversations
 * (`C…`/`G…`/`#name` → where to post) and which are people (`U…`/`W…` users,
 * `S…` groups, `here` → mentions), the `<@…>` syntax (blocks.ts formatMention)
 * and the message reference (channel id + ts).
 */
import type { KnownBlock, WebClient } from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from '../../lib/logger.ts';
import type { Notifier, NotifyFollowUpInput, NotifyPostInput, NotifyRef, NotifyUpdateInput } from '../../lib/notify/notifier.ts';
import { buildActionId } from '../slack/action-ids.ts';
import { escapeMrkdwn, formatMention, truncate, MAX_SECTION_TEXT } from '../slack/blocks.ts';
import { classifySlackError, SLACK_RATE_LIMITED_TYPE, type SlackActivities } from '../slack/slack-activities.ts';
import { RateLimitedError, type DigestLine } from './delivery-queue.ts';

/** Metadata event type of digest messages (several alerts in one post). */
export const DIGEST_METADATA_EVENT = 'telemetry_alert_digest';
const SEVERITY_EMOJI = { critical: ':rotating_light:', warning: ':warning:' } as const;

/** A conversation to post in (id or #name), as opposed to someone to mention. */
export function isConversationTarget(t: string): boolean {
  return t.startsWith('#') || /^[CGD][A-Z0-9]{2,}$/.test(t);
}

export interface SlackNotifierDeps {
  /** The existing Slack activities (createSlackActivities). */
  slack: SlackActivities;
  /** Same client they use (digests post directly); undefined → log only. */
  client: WebClient | undefined;
  defaultChannel: string;
  logger: Logger;
}

export interface SlackNotifier extends Notifier {
  /** Queue key: the conversation a page goes to. */
  destination(targets: string[], ref: NotifyRef | null): string;
  sendDigest(channel: string, conversation: string, lines: DigestLine[]): Promise<NotifyRef[]>;
}

/** Turns Slack's retryable 429 into the queue's RateLimitedError (it waits Retry-After, the page stays queued). */
export async function slackRateAware<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === SLACK_RATE_LIMITED_TYPE) {
      const d = (err.details?.[0] ?? {}) as { retryAfterS?: number };
      throw new RateLimitedError(err.message, (d.retryAfterS ?? 1) * 1000, { cause: err });
    }
    throw err;
  }
}

/** Block Kit digest: one line per alert, each with its own Acknowledge button (the interactivity endpoint handles it as usual). */
export function digestMessage(lines: DigestLine[]): { text: string; blocks: KnownBlock[] } {
  const who = [...new Set(lines.flatMap((l) => l.targets))].map(formatMention).filter((m) => m.length > 0);
  const crit = lines.filter((l) => l.severity === 'critical').length;
  const title = `Alert storm digest: ${lines.length} alerts${crit ? ` (${crit} critical)` : ''}`;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title, 150) } },
    ...(who.length ? [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: truncate(who.join(' '), MAX_SECTION_TEXT) } }] : []),
    ...lines.map(
      (l): KnownBlock => ({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: truncate(
            `${SEVERITY_EMOJI[l.severity]} *${escapeMrkdwn(l.rule)}* on ${escapeMrkdwn(l.device)}${l.level ? ` — escalated to ${escapeMrkdwn(l.level)}` : ''}: ${escapeMrkdwn(l.summary)}`,
            MAX_SECTION_TEXT,
          ),
        },
        accessory: { type: 'button', action_id: buildActionId('ack'), text: { type: 'plain_text', text: 'Acknowledge' }, value: l.alertId },
      }),
    ),
  ];
  return { text: truncate(`${who.length ? `${who.join(' ')} ` : ''}${title}`, 300), blocks: blocks.slice(0, 50) };
}

export function createSlackNotifier(deps: SlackNotifierDeps): SlackNotifier {
  const { slack, client, defaultChannel } = deps;
  const log = deps.logger.child({ component: 'notify-slack' });
  const split = (targets: string[]) => ({
    conversation: targets.find(isConversationTarget),
    mentions: targets.filter((t) => !isConversationTarget(t)),
  });
  const refOf = (channel: string, r: { channel: string; ts: string }): NotifyRef => ({
    channel,
    kind: 'slack',
    id: r.ts,
    data: { conversation: r.channel },
    slack: { channel: r.channel, ts: r.ts },
  });

  return {
    kind: 'slack',
    formatMention,
    destination(targets, ref) {
      return ref?.slack?.channel ?? split(targets).conversation ?? defaultChannel;
    },

    async post({ state, channel, targets }: NotifyPostInput) {
      const { conversation, mentions } = split(targets);
      const r = await slackRateAware(() => slack.postAlertMessage({ state, channel: conversation, mentions }));
      // Log-only Slack still gets a ref, so later state changes are logged as before.
      return r ? refOf(channel, r) : { channel, kind: 'slack', id: 'console' };
    },

    async update({ state, ref }: NotifyUpdateInput) {
      if (ref.digest) {
        // A digest lists many alerts: re-rendering it as one alert would erase the others.
        log.debug({ alertId: state.alert.alertId, status: state.status }, 'slack digest page: no in-place update');
        return undefined;
      }
      if (!ref.slack) {
        log.info({ alertId: state.alert.alertId, status: state.status, slack: 'disabled' }, `ALERT ${state.alert.summary} (${state.status})`);
        return undefined;
      }
      await slackRateAware(() => slack.updateAlertMessage({ state, ref: ref.slack! }));
      return undefined;
    },

    async followUp({ state, ref, level, targets }: NotifyFollowUpInput) {
      const { conversation, mentions } = split(targets);
      await slackRateAware(() => slack.postEscalationReply({ state, ref: ref?.slack ?? null, level, mentions, channel: conversation }));
      return null;
    },

    async sendDigest(channel, conversation, lines) {
      const msg = digestMessage(lines);
      if (!client) {
        log.warn({ conversation, alerts: lines.map((l) => l.alertId), slack: 'disabled' }, `DIGEST ${msg.text}`);
        return lines.map((): NotifyRef => ({ channel, kind: 'slack', id: 'console', digest: true }));
      }
      const res = await slackRateAware(async () => {
        try {
          return await client.chat.postMessage({
            channel: conversation,
            text: msg.text,
            blocks: msg.blocks,
            metadata: { event_type: DIGEST_METADATA_EVENT, event_payload: { alerts: lines.length, first_alert_id: lines[0]!.alertId } },
            unfurl_links: false,
            unfurl_media: false,
          });
        } catch (err) {
          throw classifySlackError(err, 'chat.postMessage');
        }
      });
      if (!res.channel || !res.ts) throw new Error('Slack chat.postMessage answered ok without channel/ts');
      log.info({ conversation: res.channel, ts: res.ts, alerts: lines.length }, 'slack digest posted');
      return lines.map(() => ({ ...refOf(channel, { channel: res.channel!, ts: res.ts! }), digest: true }));
    },
  };
}

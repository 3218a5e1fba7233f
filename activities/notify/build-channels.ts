/**
 * Builds the configured channels (lib/notify/channels.ts) into adapters with
 * their delivery limits. Only workers and tests call this; the adapters get
 * their clients and secrets injected here.
 */
import type { WebClient } from '@slack/web-api';
import type { Config } from '../../lib/config.ts';
import type { Logger } from '../../lib/logger.ts';
import { notifyAckSecret } from '../../lib/notify/ack-secret.ts';
import { loadNotifyChannels, channelSecret, DEFAULT_RATE_PER_SEC, type ChannelConfig, type ChannelsConfig } from '../../lib/notify/channels.ts';
import type { SlackActivities } from '../slack/slack-activities.ts';
import { createAckLinks, type AckLinks } from './ack-links.ts';
import type { DeliveryLimits } from './delivery-queue.ts';
import { createEmailNotifier } from './email.ts';
import { createNotifyActivities, type NotifyChannel } from './notify-activities.ts';
import { createNtfyNotifier } from './ntfy.ts';
import { createSlackNotifier } from './slack.ts';
import { createWebhookNotifier } from './webhook.ts';

export interface BuildChannelsDeps {
  slack: { activities: SlackActivities; client: WebClient | undefined; defaultChannel: string };
  ackLinks: AckLinks | undefined;
  timeoutMs: number;
  production: boolean;
  logger: Logger;
}

export function limitsOf(ch: ChannelConfig): DeliveryLimits {
  return {
    ratePerSec: ch.ratePerSec ?? DEFAULT_RATE_PER_SEC[ch.kind],
    burst: ch.burst,
    maxQueue: ch.maxQueue,
    digestAfter: ch.digestAfter,
    digestMax: ch.digestMax,
  };
}

export function buildNotifyChannels(config: ChannelsConfig, deps: BuildChannelsDeps): { channels: Record<string, NotifyChannel>; close(): void } {
  const channels: Record<string, NotifyChannel> = {};
  const closers: (() => void)[] = [];
  for (const [name, ch] of Object.entries(config)) {
    const limits = limitsOf(ch);
    switch (ch.kind) {
      case 'slack':
        channels[name] = {
          limits,
          adapter: createSlackNotifier({ slack: deps.slack.activities, client: deps.slack.client, defaultChannel: deps.slack.defaultChannel, logger: deps.logger }),
        };
        break;
      case 'webhook':
        channels[name] = {
          limits,
          adapter: createWebhookNotifier({
            channel: name,
            url: ch.url,
            template: ch.template,
            signingSecret: channelSecret(ch, 'signingSecret'),
            routingKey: channelSecret(ch, 'routingKey'),
            apiKey: channelSecret(ch, 'apiKey'),
            timeoutMs: deps.timeoutMs,
            ackLinks: deps.ackLinks,
            logger: deps.logger,
          }),
        };
        break;
      case 'email': {
        const email = createEmailNotifier({
          channel: name,
          smtpUrl: ch.smtpUrl,
          from: ch.from,
          user: ch.user,
          password: channelSecret(ch, 'password'),
          requireTls: ch.requireTls ?? deps.production,
          timeoutMs: deps.timeoutMs,
          ackLinks: deps.ackLinks,
          logger: deps.logger,
        });
        closers.push(() => email.close());
        channels[name] = { limits, adapter: email };
        break;
      }
      case 'ntfy':
        channels[name] = {
          limits,
          adapter: createNtfyNotifier({ channel: name, server: ch.server, token: channelSecret(ch, 'token'), timeoutMs: deps.timeoutMs, ackLinks: deps.ackLinks, logger: deps.logger }),
        };
        break;
    }
  }
  return { channels, close: () => closers.forEach((c) => c()) };
}

/** Everything the alerts worker needs for the notifier boundary, from config (channels file, ack key, public URL). */
export function notifyFromConfig(
  cfg: Pick<Config, 'NODE_ENV' | 'NOTIFY_CHANNELS_FILE' | 'NOTIFY_ACK_SECRET' | 'NOTIFY_ACK_SECRET_FILE' | 'NOTIFY_ACK_TTL_S' | 'PUBLIC_API_URL' | 'HTTP_TIMEOUT' | 'SLACK_CHANNEL'>,
  deps: { slackActivities: SlackActivities; slackClient: WebClient | undefined; logger: Logger },
): { activities: ReturnType<typeof createNotifyActivities>; close(): void } {
  const production = cfg.NODE_ENV === 'production';
  const config = loadNotifyChannels(cfg.NOTIFY_CHANNELS_FILE, { production });
  const key = notifyAckSecret(cfg);
  if (!key) deps.logger.warn('no NOTIFY_ACK_SECRET: email and ntfy pages carry no acknowledge link');
  const ackLinks = key ? createAckLinks({ key, baseUrl: cfg.PUBLIC_API_URL, ttlS: cfg.NOTIFY_ACK_TTL_S }) : undefined;
  const built = buildNotifyChannels(config, {
    slack: { activities: deps.slackActivities, client: deps.slackClient, defaultChannel: cfg.SLACK_CHANNEL },
    ackLinks,
    timeoutMs: cfg.HTTP_TIMEOUT,
    production,
    logger: deps.logger,
  });
  deps.logger.info({ channels: Object.fromEntries(Object.entries(config).map(([n, c]) => [n, c.kind])) }, 'notify channels');
  return { activities: createNotifyActivities({ channels: built.channels, logger: deps.logger }), close: built.close };
}

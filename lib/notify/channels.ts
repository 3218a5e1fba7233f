/**
 * The channels file (`NOTIFY_CHANNELS_FILE`, JSON): which notification
 * channels exist, what protocol each speaks, and its delivery limits. Policy
 * levels name these channels (`targets: [{ channel: "pagerduty" }]`).
 * Without a file there is one channel, `slack`, configured by SLACK_*.
 *
 * Secrets are never inline outside development: each secret field has a
 * `…File` twin (a mounted secret); an inline value is refused in production.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Bound on channels in one file (each gets a delivery queue). */
export const MAX_CHANNELS = 32;
/** Channel names as policies spell them. */
export const CHANNEL_NAME = /^[a-z][a-z0-9_-]{0,39}$/;

/** Delivery limits shared by every kind (see activities/notify/delivery-queue.ts). */
const delivery = {
  /** Sustained messages per second per destination (Slack: ≈1 per channel). */
  ratePerSec: z.number().positive().max(1_000).optional(),
  /** Messages allowed back to back before the rate applies. */
  burst: z.number().int().min(1).max(100).default(1),
  /** Pages waiting per destination; beyond it new pages are refused (retryable) instead of growing memory. */
  maxQueue: z.number().int().min(1).max(100_000).default(2_000),
  /** Pending pages of one severity at which the queue starts coalescing them into a digest. */
  digestAfter: z.number().int().min(2).max(1_000).default(3),
  /** Alerts listed in one digest message. */
  digestMax: z.number().int().min(2).max(40).default(20),
};

const opt = z.string().min(1).optional();

export const WEBHOOK_TEMPLATES = ['generic', 'pagerduty', 'opsgenie', 'teams', 'googlechat'] as const;
export type WebhookTemplate = (typeof WEBHOOK_TEMPLATES)[number];

const SlackChannelSchema = z
  .object({ kind: z.literal('slack'), ...delivery })
  .strict();
const WebhookChannelSchema = z
  .object({
    kind: z.literal('webhook'),
    /** Where events are POSTed (PagerDuty: https://events.pagerduty.com/v2/enqueue; Opsgenie: https://api.opsgenie.com/v2/alerts). */
    url: z.string().url(),
    template: z.enum(WEBHOOK_TEMPLATES).default('generic'),
    /** HMAC-SHA256 key for `X-Telemetry-Signature` (generic template). */
    signingSecret: opt,
    signingSecretFile: opt,
    /** PagerDuty integration (routing) key, used when a target names none. */
    routingKey: opt,
    routingKeyFile: opt,
    /** Opsgenie API key (`Authorization: GenieKey …`). */
    apiKey: opt,
    apiKeyFile: opt,
    ...delivery,
  })
  .strict();
const EmailChannelSchema = z
  .object({
    kind: z.literal('email'),
    /** smtp://host:587 (STARTTLS when offered) or smtps://host:465. */
    smtpUrl: z.string().regex(/^smtps?:\/\/[^\s/]+(:\d+)?\/?$/, 'expected smtp://host:port or smtps://host:port'),
    from: z.string().min(3),
    user: z.string().min(1).optional(),
    password: opt,
    passwordFile: opt,
    /** Refuse to send without TLS (production default); the local test server speaks plain SMTP. */
    requireTls: z.boolean().optional(),
    ...delivery,
  })
  .strict();
const NtfyChannelSchema = z
  .object({
    kind: z.literal('ntfy'),
    /** ntfy server base URL (https://ntfy.sh or self-hosted). */
    server: z.string().url(),
    /** Access token (`Authorization: Bearer tk_…`) for protected topics. */
    token: opt,
    tokenFile: opt,
    ...delivery,
  })
  .strict();

export const ChannelConfigSchema = z.discriminatedUnion('kind', [SlackChannelSchema, WebhookChannelSchema, EmailChannelSchema, NtfyChannelSchema]);
export type ChannelConfig = z.infer<typeof ChannelConfigSchema>;

export const ChannelsFileSchema = z
  .record(z.string().regex(CHANNEL_NAME, 'channel names are lower-case letters, digits, - and _'), ChannelConfigSchema)
  .refine((r) => Object.keys(r).length <= MAX_CHANNELS, `at most ${MAX_CHANNELS} channels`);
export type ChannelsConfig = Record<string, ChannelConfig>;

/** Default sustained rate per kind, messages/s (Slack's documented ≈1/s per channel; ntfy.sh visitor refill ≈1 per 5 s… kept generous for self-hosted). */
export const DEFAULT_RATE_PER_SEC: Record<ChannelConfig['kind'], number> = { slack: 1, webhook: 2, email: 2, ntfy: 1 };

export class ChannelsConfigError extends Error {
  override name = 'ChannelsConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Parse a channels file; `production` refuses inline secrets. The message names every bad path. */
export function parseNotifyChannels(json: unknown, opts: { production: boolean }): ChannelsConfig {
  const parsed = ChannelsFileSchema.safeParse(json);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ChannelsConfigError(`invalid notify channels: ${why}`, { cause: parsed.error });
  }
  if (opts.production) {
    for (const [name, ch] of Object.entries(parsed.data))
      for (const key of ['signingSecret', 'routingKey', 'apiKey', 'password', 'token'])
        if ((ch as Record<string, unknown>)[key] !== undefined)
          throw new ChannelsConfigError(`invalid notify channels: ${name}.${key}: inline secrets are not accepted in production; use ${key}File`);
  }
  return parsed.data;
}

/** The default when no channels file is configured: Slack only, as before. */
export const DEFAULT_CHANNELS: ChannelsConfig = { slack: { kind: 'slack', burst: 1, maxQueue: 2_000, digestAfter: 3, digestMax: 20 } };

/** A secret from its inline value or its file (trimmed); undefined when neither is set. */
export function channelSecret(ch: ChannelConfig, key: 'signingSecret' | 'routingKey' | 'apiKey' | 'password' | 'token'): string | undefined {
  const rec = ch as Record<string, unknown>;
  const inline = rec[key];
  if (typeof inline === 'string') return inline;
  const file = rec[`${key}File`];
  return typeof file === 'string' ? readFileSync(file, 'utf8').trim() : undefined;
}

export function loadNotifyChannels(file: string | undefined, opts: { production: boolean }): ChannelsConfig {
  if (!file) return DEFAULT_CHANNELS;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ChannelsConfigError(`cannot read notify channels file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseNotifyChannels(json, opts);
}

/**
 * Webhook channel: JSON over HTTPS with a ready template (generic, PagerDuty
 * Events v2, Opsgenie-style, Teams, Google Chat — webhook-templates.ts).
 *
 * Every request carries `Idempotency-Key` (same page → same key on every
 * retry; PagerDuty and Opsgenie also dedupe by `dedup_key`/`alias`), and with
 * a signing secret `X-Telemetry-Timestamp` + `X-Telemetry-Signature:
 * v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` so a receiver can check
 * origin and freshness. Retries with backoff are Temporal's (classification in
 * http.ts); 429 waits in the delivery queue for Retry-After.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from '../../lib/logger.ts';
import type { Notifier, NotifyFollowUpInput, NotifyPostInput, NotifyRef, NotifyUpdateInput } from '../../lib/notify/notifier.ts';
import type { WebhookTemplate } from '../../lib/notify/channels.ts';
import { sendHttp } from './http.ts';
import { alertKey, idempotencyKey, renderWebhook, type WebhookEvent } from './webhook-templates.ts';
import { markSent, statusToReport } from './status-once.ts';
import type { AckLinks } from './ack-links.ts';

export const SIGNATURE_HEADER = 'x-telemetry-signature';
export const TIMESTAMP_HEADER = 'x-telemetry-timestamp';

/** `v1=<hex>` over `${timestampS}.${body}` (receivers recompute and compare in constant time). */
export function webhookSignature(secret: string, timestampS: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex')}`;
}

export interface WebhookNotifierDeps {
  channel: string;
  url: string;
  template: WebhookTemplate;
  signingSecret?: string;
  routingKey?: string;
  apiKey?: string;
  timeoutMs: number;
  ackLinks: AckLinks | undefined;
  logger: Logger;
  now?: () => number;
}

export function createWebhookNotifier(deps: WebhookNotifierDeps): Notifier & { destination(): string } {
  const log = deps.logger.child({ component: 'notify-webhook', channel: deps.channel });
  const now = deps.now ?? Date.now;

  async function deliver(event: WebhookEvent, state: NotifyPostInput['state'], targets: string[], level?: { index: number; name: string }): Promise<unknown> {
    const ackUrl = event === 'update' ? undefined : deps.ackLinks?.link(state.alert.alertId, 'webhook', targets[0] ?? deps.channel);
    const req = renderWebhook(deps.template, { state, event, targets, level, ackUrl, url: deps.url, routingKey: deps.routingKey });
    if (!req) return undefined;
    const body = JSON.stringify(req.body);
    const ts = Math.floor(now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': idempotencyKey(state, event, level?.index),
      'user-agent': 'telemetry-stack-notify',
      ...req.headers,
    };
    if (deps.apiKey && deps.template === 'opsgenie') headers.authorization = `GenieKey ${deps.apiKey}`;
    if (deps.signingSecret) {
      headers[TIMESTAMP_HEADER] = String(ts);
      headers[SIGNATURE_HEADER] = webhookSignature(deps.signingSecret, ts, body);
    }
    const res = await sendHttp(`webhook ${deps.channel} (${deps.template}) ${event}`, req.url, { headers, body, timeoutMs: deps.timeoutMs });
    log.info({ alertId: state.alert.alertId, event, status: res.status }, 'webhook delivered');
    return res.json;
  }

  const refOf = (channel: string, state: NotifyPostInput['state'], answer: unknown): NotifyRef => {
    const name = (answer as { name?: unknown } | undefined)?.name; // Google Chat answers with the message resource name
    return { channel, kind: 'webhook', id: typeof name === 'string' ? name : alertKey(state) };
  };

  return {
    kind: 'webhook',
    formatMention: (t) => t,
    destination: () => deps.url,
    async post({ state, channel, targets }: NotifyPostInput) {
      const ref = refOf(channel, state, await deliver('trigger', state, targets, { index: state.level, name: 'page' }));
      // PagerDuty's acknowledge/resolve must reach the same integration the trigger went to.
      return targets[0] ? { ...ref, data: { target: targets[0] } } : ref;
    },
    async followUp({ state, channel, ref, level, targets }: NotifyFollowUpInput) {
      const answer = await deliver('escalate', state, targets, level);
      return ref ? null : refOf(channel, state, answer);
    },
    async update({ state, ref }: NotifyUpdateInput) {
      const status = statusToReport(ref, state.status);
      if (!status) return undefined;
      const target = ref.data?.target;
      await deliver('update', state, typeof target === 'string' ? [target] : []);
      return markSent(ref, status);
    },
  };
}

/**
 * Ready payloads for the webhook channel, pure functions of the alert state:
 *
 * - `generic`    our own JSON event, HMAC-signed by webhook.ts;
 * - `pagerduty`  PagerDuty Events API v2 (`POST /v2/enqueue`): trigger /
 *                acknowledge / resolve with `dedup_key` = the alert's key, so
 *                PagerDuty deduplicates retries and follows the alert's life;
 * - `opsgenie`   Opsgenie Alert API style (`POST /v2/alerts`, `alias` as the
 *                key; `/{alias}/acknowledge|close?identifierType=alias`);
 * - `teams`      Microsoft Teams incoming webhook / Workflows: an Adaptive Card
 *                message with an Acknowledge button (the signed ack link);
 * - `googlechat` Google Chat incoming webhook: text + cardsV2 with the same
 *                button, one thread per alert (`threadKey`).
 *
 * `null` means "this template has nothing to send for this event" (e.g. a
 * PagerDuty update that is not an ack or a resolve).
 */
import { createHash } from 'node:crypto';
import type { AlertState } from '../../lib/alerts/types.ts';
import type { WebhookTemplate } from '../../lib/notify/channels.ts';

export type WebhookEvent = 'trigger' | 'escalate' | 'update';

export interface TemplateInput {
  state: AlertState;
  event: WebhookEvent;
  /** Targets of the page (routing keys, responders, names to show). */
  targets: string[];
  level?: { index: number; name: string };
  /** Signed acknowledge link (absent when ack links are not configured). */
  ackUrl?: string;
  /** Channel config values the template needs. */
  url: string;
  routingKey?: string;
}

export interface WebhookRequest {
  url: string;
  body: unknown;
  /** Extra headers (auth); webhook.ts adds content-type, idempotency key and signature. */
  headers?: Record<string, string>;
}

/** The alert's stable key across retries and updates (PagerDuty dedup_key, Opsgenie alias). */
export function alertKey(state: AlertState): string {
  return `${state.alert.alertId}@${state.alert.firedAt}`;
}

/** Idempotency key of one delivery: same page → same key, on every retry. */
export function idempotencyKey(state: AlertState, event: WebhookEvent, level?: number): string {
  const status = event === 'update' ? state.status : '';
  return createHash('sha256')
    .update(`${alertKey(state)}|${event}|${level ?? state.level}|${state.repeats}|${status}`)
    .digest('hex')
    .slice(0, 40);
}

const line = (s: AlertState) => `${s.alert.rule} on ${s.alert.device}: ${s.alert.summary}`;

function generic(i: TemplateInput): WebhookRequest {
  const { state } = i;
  return {
    url: i.url,
    body: {
      version: 1,
      event: i.event,
      key: alertKey(state),
      status: state.status,
      severity: state.alert.severity,
      level: i.level ?? { index: state.level },
      targets: i.targets,
      alert: state.alert,
      ack: state.ack ? { by: state.ack.by, via: state.ack.via, at: state.ack.at } : undefined,
      resolved: state.resolved ? { by: state.resolved.by, at: state.resolved.at, reason: state.resolved.reason } : undefined,
      ackUrl: i.ackUrl,
    },
  };
}

function pagerduty(i: TemplateInput): WebhookRequest | null {
  const { state } = i;
  const routingKey = i.targets[0] ?? i.routingKey;
  if (!routingKey) throw new TypeError('pagerduty template needs a routing key (channel routingKeyFile or a target)');
  const action = i.event === 'update' ? (state.status === 'resolved' ? 'resolve' : state.ack ? 'acknowledge' : null) : 'trigger';
  if (!action) return null;
  const base = { routing_key: routingKey, event_action: action, dedup_key: alertKey(state) };
  if (action !== 'trigger') return { url: i.url, body: base };
  return {
    url: i.url,
    body: {
      ...base,
      payload: {
        summary: line(state).slice(0, 1024),
        source: state.alert.host ?? state.alert.device,
        severity: state.alert.severity, // PagerDuty accepts critical | error | warning | info
        timestamp: state.alert.firedAt,
        component: state.alert.device,
        group: state.alert.host,
        class: state.alert.rule,
        custom_details: { ...state.alert.values, level: i.level?.name ?? state.level, model: state.alert.model },
      },
      client: 'telemetry-stack',
      ...(i.ackUrl ? { links: [{ href: i.ackUrl, text: 'Acknowledge in telemetry-stack' }] } : {}),
    },
  };
}

function opsgenie(i: TemplateInput): WebhookRequest | null {
  const { state } = i;
  const alias = alertKey(state).slice(0, 512);
  const base = i.url.replace(/\/+$/, '');
  if (i.event === 'update') {
    const op = state.status === 'resolved' ? 'close' : state.ack ? 'acknowledge' : null;
    if (!op) return null;
    const by = state.status === 'resolved' ? state.resolved?.by : state.ack?.by;
    return { url: `${base}/${encodeURIComponent(alias)}/${op}?identifierType=alias`, body: { user: by, source: 'telemetry-stack', note: `${op} via telemetry-stack` } };
  }
  return {
    url: base,
    body: {
      message: line(state).slice(0, 130),
      alias,
      description: `${line(state)}${i.ackUrl ? `\nAcknowledge: ${i.ackUrl}` : ''}`.slice(0, 15_000),
      responders: i.targets.map((t) => (t.includes('@') ? { username: t, type: 'user' } : { name: t, type: 'team' })),
      tags: [state.alert.severity, state.alert.rule],
      details: Object.fromEntries(Object.entries(state.alert.values).map(([k, v]) => [k, String(v)])),
      entity: state.alert.device,
      source: 'telemetry-stack',
      priority: state.alert.severity === 'critical' ? 'P1' : 'P3',
    },
  };
}

function cardText(i: TemplateInput): { title: string; text: string } {
  const { state } = i;
  const who = i.targets.length ? ` — ${i.targets.join(', ')}` : '';
  const title =
    i.event === 'update'
      ? `${state.status.toUpperCase()}: ${state.alert.rule} on ${state.alert.device}`
      : `${state.alert.severity.toUpperCase()}${i.level && i.level.index > 0 ? ` (escalated to ${i.level.name})` : ''}: ${state.alert.rule} on ${state.alert.device}`;
  const status = state.ack ? `\nAcknowledged by ${state.ack.by}` : state.resolved ? `\nResolved by ${state.resolved.by}` : '';
  return { title, text: `${state.alert.summary}${who}${status}` };
}

function teams(i: TemplateInput): WebhookRequest {
  const { title, text } = cardText(i);
  const showAck = i.ackUrl && i.event !== 'update';
  return {
    url: i.url,
    body: {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              { type: 'TextBlock', size: 'Large', weight: 'Bolder', wrap: true, text: title },
              { type: 'TextBlock', wrap: true, text },
            ],
            ...(showAck ? { actions: [{ type: 'Action.OpenUrl', title: 'Acknowledge', url: i.ackUrl }] } : {}),
          },
        },
      ],
    },
  };
}

function googlechat(i: TemplateInput): WebhookRequest {
  const { title, text } = cardText(i);
  const u = new URL(i.url);
  // One thread per alert: follow-ups and updates land under the first page.
  u.searchParams.set('threadKey', createHash('sha256').update(alertKey(i.state)).digest('hex').slice(0, 32));
  u.searchParams.set('messageReplyOption', 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD');
  const showAck = i.ackUrl && i.event !== 'update';
  return {
    url: u.toString(),
    body: {
      text: `*${title}*\n${text}`,
      cardsV2: [
        {
          cardId: 'alert',
          card: {
            header: { title },
            sections: [
              {
                widgets: [
                  { textParagraph: { text } },
                  ...(showAck ? [{ buttonList: { buttons: [{ text: 'Acknowledge', onClick: { openLink: { url: i.ackUrl } } }] } }] : []),
                ],
              },
            ],
          },
        },
      ],
    },
  };
}

export function renderWebhook(template: WebhookTemplate, input: TemplateInput): WebhookRequest | null {
  switch (template) {
    case 'generic':
      return generic(input);
    case 'pagerduty':
      return pagerduty(input);
    case 'opsgenie':
      return opsgenie(input);
    case 'teams':
      return teams(input);
    case 'googlechat':
      return googlechat(input);
  }
}

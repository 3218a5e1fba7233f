/**
 * Email channel over SMTP (nodemailer). A page is one message to the level's
 * addresses with a signed acknowledge link (GET shows a confirmation page, the
 * POST acknowledges: mail scanners that prefetch links cannot ack). Follow-ups
 * and status reports reply in the same thread (In-Reply-To / References).
 *
 * Idempotency: the Message-ID is derived from the page (alert, fired-at, kind,
 * level, repeat), so a retried send carries the same id and mail clients and
 * most MTAs fold the duplicate. SMTP answers: 4xx and connection problems are
 * transient (retried), 5xx and authentication failures permanent.
 */
import { createHash } from 'node:crypto';
import nodemailer, { type SendMailOptions, type Transporter, type TransportOptions } from 'nodemailer';
import { ApplicationFailure } from '@temporalio/activity';
import type { AlertState } from '../../lib/alerts/types.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Notifier, NotifyFollowUpInput, NotifyPostInput, NotifyRef, NotifyUpdateInput } from '../../lib/notify/notifier.ts';
import { NOTIFY_PERMANENT_ERROR, NOTIFY_TRANSIENT_ERROR } from '../../lib/notify/notifier.ts';
import type { AckLinks } from './ack-links.ts';
import { markSent, statusToReport } from './status-once.ts';

/** Recipients of one page (a bound before any SMTP work). */
export const MAX_RECIPIENTS = 50;
const ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

export interface EmailNotifierDeps {
  channel: string;
  smtpUrl: string;
  from: string;
  user?: string;
  password?: string;
  requireTls: boolean;
  timeoutMs: number;
  ackLinks: AckLinks | undefined;
  logger: Logger;
}

interface SmtpErrorShape {
  code?: string;
  responseCode?: number;
  message?: string;
}

export function classifySmtpError(err: unknown, what: string): ApplicationFailure {
  const e = (err ?? {}) as SmtpErrorShape;
  const permanent = e.code === 'EAUTH' || e.code === 'EENVELOPE' || e.code === 'EMESSAGE' || (e.responseCode !== undefined && e.responseCode >= 500);
  return ApplicationFailure.create({
    message: `${what}: ${e.responseCode ? `SMTP ${e.responseCode} ` : ''}${e.message ?? String(err)}`,
    type: permanent ? NOTIFY_PERMANENT_ERROR : NOTIFY_TRANSIENT_ERROR,
    nonRetryable: permanent,
    details: [{ code: e.code, responseCode: e.responseCode }],
    cause: err instanceof Error ? err : undefined,
  });
}

function messageId(state: AlertState, kind: string, host: string): string {
  const h = createHash('sha256').update(`${state.alert.alertId}|${state.alert.firedAt}|${kind}|${state.repeats}`).digest('hex').slice(0, 24);
  return `<${h}.${kind}@${host}>`;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function createEmailNotifier(deps: EmailNotifierDeps): Notifier & { destination(targets: string[]): string; close(): void } {
  const log = deps.logger.child({ component: 'notify-email', channel: deps.channel });
  const domain = deps.from.replace(/^.*@/, '').replace(/>.*$/, '') || 'telemetry-stack';
  const transport: Transporter = nodemailer.createTransport({
    url: deps.smtpUrl,
    requireTLS: deps.requireTls,
    connectionTimeout: deps.timeoutMs,
    greetingTimeout: deps.timeoutMs,
    socketTimeout: deps.timeoutMs,
    ...(deps.user ? { auth: { user: deps.user, pass: deps.password ?? '' } } : {}),
  } as TransportOptions);

  function recipients(targets: string[]): string[] {
    if (targets.length === 0) throw ApplicationFailure.nonRetryable(`email ${deps.channel}: the level names no address`, NOTIFY_PERMANENT_ERROR);
    if (targets.length > MAX_RECIPIENTS)
      throw ApplicationFailure.nonRetryable(`email ${deps.channel}: ${targets.length} recipients exceed ${MAX_RECIPIENTS}`, NOTIFY_PERMANENT_ERROR);
    const bad = targets.filter((t) => !ADDRESS.test(t));
    if (bad.length) throw ApplicationFailure.nonRetryable(`email ${deps.channel}: not an address: ${bad.join(', ')}`, NOTIFY_PERMANENT_ERROR);
    return targets;
  }

  async function send(what: string, mail: SendMailOptions): Promise<void> {
    try {
      const info = await transport.sendMail({ from: deps.from, ...mail });
      log.info({ what, to: mail.to, messageId: info.messageId, response: info.response }, 'email sent');
    } catch (err) {
      throw classifySmtpError(err, `email ${deps.channel} ${what}`);
    }
  }

  /** One mail per recipient: each carries an ack link that names that recipient as the responder. */
  async function page(state: AlertState, to: string[], kind: string, heading: string, inReplyTo?: string): Promise<string> {
    const a = state.alert;
    const id = messageId(state, kind, domain);
    const subject = `[${a.severity.toUpperCase()}] ${a.rule} on ${a.device}: ${a.summary}`.slice(0, 200);
    for (const addr of to) {
      const link = deps.ackLinks?.link(a.alertId, 'email', addr);
      const values = Object.entries(a.values).map(([k, v]) => `${k} = ${v}`).join('\n');
      const text = `${heading}\n\n${a.summary}\nDevice: ${a.device}${a.host ? ` (host ${a.host})` : ''}\nRule: ${a.rule}\nSince: ${a.firedAt}\n\n${values}\n\n${link ? `Acknowledge: ${link}\n` : ''}`;
      const html = `<p><b>${escapeHtml(heading)}</b></p><p>${escapeHtml(a.summary)}<br>Device: ${escapeHtml(a.device)}<br>Rule: ${escapeHtml(a.rule)}<br>Since: ${escapeHtml(a.firedAt)}</p><pre>${escapeHtml(values)}</pre>${link ? `<p><a href="${escapeHtml(link)}">Acknowledge</a></p>` : ''}`;
      await send(kind, {
        to: addr,
        subject: inReplyTo ? `Re: ${subject}` : subject,
        text,
        html,
        // Same id for every recipient: it is one page; retries reuse it.
        messageId: id,
        ...(inReplyTo ? { inReplyTo, references: [inReplyTo] } : {}),
        headers: { 'X-Telemetry-Alert-Id': a.alertId, 'X-Priority': a.severity === 'critical' ? '1' : '3' },
      });
    }
    return id;
  }

  return {
    kind: 'email',
    formatMention: (t) => t,
    destination: () => deps.smtpUrl,
    close: () => transport.close(),
    async post({ state, channel, targets }: NotifyPostInput): Promise<NotifyRef> {
      const to = recipients(targets);
      const id = await page(state, to, 'page', `Alert: ${state.alert.severity} — please acknowledge`);
      return { channel, kind: 'email', id, data: { to } };
    },
    async followUp({ state, channel, ref, level, targets }: NotifyFollowUpInput): Promise<NotifyRef | null> {
      const to = recipients(targets);
      const id = await page(state, to, `level${level.index}`, `Escalation to ${level.name}: still ${state.status}, please acknowledge`, ref?.id);
      return ref ? null : { channel, kind: 'email', id, data: { to } };
    },
    async update({ state, ref }: NotifyUpdateInput): Promise<NotifyRef | undefined> {
      const status = statusToReport(ref, state.status);
      const to = Array.isArray(ref.data?.to) ? ref.data.to : [];
      if (!status || to.length === 0) return undefined;
      const who = status === 'resolved' ? `Resolved by ${state.resolved?.by ?? '?'}` : `Acknowledged by ${state.ack?.by ?? '?'}`;
      await send(status, {
        to,
        subject: `Re: [${status.toUpperCase()}] ${state.alert.rule} on ${state.alert.device}`.slice(0, 200),
        text: `${who}.\n${state.alert.summary}\n`,
        messageId: messageId(state, status, domain),
        inReplyTo: ref.id,
        references: [ref.id],
        headers: { 'X-Telemetry-Alert-Id': state.alert.alertId },
      });
      return markSent(ref, status);
    },
  };
}

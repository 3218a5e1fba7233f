/**
 * Phone/watch push through ntfy's HTTP publish API (JSON publishing:
 * `POST <server>/` with `{ topic, title, message, priority, tags, actions }`).
 * Targets are topics. Priority follows severity (critical → 5 "max", which
 * breaks through Do-Not-Disturb on Android; warning → 4; escalations one step
 * up; status reports 2). The Acknowledge button is an ntfy `http` action:
 * the phone itself POSTs the signed ack link, so no app or login is needed.
 * At most 3 actions per message (ntfy's limit).
 */
import type { AlertState } from '../../lib/alerts/types.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Notifier, NotifyFollowUpInput, NotifyPostInput, NotifyRef, NotifyUpdateInput } from '../../lib/notify/notifier.ts';
import { ApplicationFailure } from '@temporalio/activity';
import { NOTIFY_PERMANENT_ERROR } from '../../lib/notify/notifier.ts';
import type { AckLinks } from './ack-links.ts';
import { sendHttp } from './http.ts';
import { markSent, statusToReport } from './status-once.ts';

/** ntfy topic names: 1-64 of [-_A-Za-z0-9]. */
const TOPIC = /^[-_A-Za-z0-9]{1,64}$/;
export const MAX_TOPICS = 20;

export interface NtfyNotifierDeps {
  channel: string;
  server: string;
  token?: string;
  timeoutMs: number;
  ackLinks: AckLinks | undefined;
  logger: Logger;
}

/** ntfy priority (1 min … 5 max) for a page. */
export function ntfyPriority(state: AlertState, escalation: boolean): 1 | 2 | 3 | 4 | 5 {
  const base = state.alert.severity === 'critical' ? 5 : 4;
  return Math.min(5, base + (escalation ? 1 : 0)) as 4 | 5;
}

export function createNtfyNotifier(deps: NtfyNotifierDeps): Notifier & { destination(targets: string[]): string } {
  const log = deps.logger.child({ component: 'notify-ntfy', channel: deps.channel });
  const url = deps.server.replace(/\/+$/, '') + '/';

  function topics(targets: string[]): string[] {
    if (targets.length === 0) throw ApplicationFailure.nonRetryable(`ntfy ${deps.channel}: the level names no topic`, NOTIFY_PERMANENT_ERROR);
    if (targets.length > MAX_TOPICS) throw ApplicationFailure.nonRetryable(`ntfy ${deps.channel}: more than ${MAX_TOPICS} topics`, NOTIFY_PERMANENT_ERROR);
    const bad = targets.filter((t) => !TOPIC.test(t));
    if (bad.length) throw ApplicationFailure.nonRetryable(`ntfy ${deps.channel}: not a topic name: ${bad.join(', ')}`, NOTIFY_PERMANENT_ERROR);
    return targets;
  }

  async function publish(what: string, body: Record<string, unknown>): Promise<string> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (deps.token) headers.authorization = `Bearer ${deps.token}`;
    const res = await sendHttp(`ntfy ${deps.channel} ${what}`, url, { headers, body: JSON.stringify(body), timeoutMs: deps.timeoutMs });
    const id = (res.json as { id?: unknown } | undefined)?.id;
    log.info({ what, topic: body.topic, id }, 'ntfy published');
    return typeof id === 'string' ? id : '';
  }

  async function page(state: AlertState, targets: string[], title: string, escalation: boolean): Promise<string[]> {
    const a = state.alert;
    const ids: string[] = [];
    for (const topic of topics(targets)) {
      const ack = deps.ackLinks?.link(a.alertId, 'ntfy', topic);
      ids.push(
        await publish(escalation ? 'escalation' : 'page', {
          topic,
          title: title.slice(0, 250),
          message: `${a.summary}\n${a.device}${a.host ? ` on ${a.host}` : ''} since ${a.firedAt}`,
          priority: ntfyPriority(state, escalation),
          tags: [a.severity === 'critical' ? 'rotating_light' : 'warning', a.rule],
          ...(ack ? { actions: [{ action: 'http', label: 'Acknowledge', url: ack, method: 'POST', clear: true }] } : {}),
        }),
      );
    }
    return ids;
  }

  return {
    kind: 'ntfy',
    formatMention: (t) => t,
    destination: () => url,
    async post({ state, channel, targets }: NotifyPostInput): Promise<NotifyRef> {
      const ids = await page(state, targets, `${state.alert.severity.toUpperCase()}: ${state.alert.rule} on ${state.alert.device}`, false);
      return { channel, kind: 'ntfy', id: ids[0] ?? '', data: { topics: targets } };
    },
    async followUp({ state, channel, ref, level, targets }: NotifyFollowUpInput): Promise<NotifyRef | null> {
      const ids = await page(state, targets, `Escalated to ${level.name}: ${state.alert.rule} on ${state.alert.device}`, true);
      return ref ? null : { channel, kind: 'ntfy', id: ids[0] ?? '', data: { topics: targets } };
    },
    async update({ state, ref }: NotifyUpdateInput): Promise<NotifyRef | undefined> {
      const status = statusToReport(ref, state.status);
      const list = Array.isArray(ref.data?.topics) ? ref.data.topics : [];
      if (!status || list.length === 0) return undefined;
      const who = status === 'resolved' ? `resolved by ${state.resolved?.by ?? '?'}` : `acknowledged by ${state.ack?.by ?? '?'}`;
      for (const topic of list)
        await publish(status, { topic, title: `${state.alert.rule} on ${state.alert.device} ${who}`.slice(0, 250), message: state.alert.summary, priority: 2, tags: ['white_check_mark'] });
      return markSent(ref, status);
    },
  };
}

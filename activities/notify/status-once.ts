/**
 * Channels without in-place edits (webhook, email, ntfy) report a state change
 * as a new message. The workflow calls update on every change (including a
 * tx hash arriving), so an adapter sends one message per *status* reached and
 * remembers which in its ref (`data.sent`): the ref is the adapter's memory,
 * kept by the workflow, so a retry or a replay does not send twice.
 */
import type { AlertStatus } from '../../lib/alerts/types.ts';
import type { NotifyRef } from '../../lib/notify/notifier.ts';

/** Statuses reported after the first page. */
export const REPORTED_STATUSES: readonly AlertStatus[] = ['acknowledged', 'resolved'];

/** The status to report now, or undefined when it is not reportable or already sent. */
export function statusToReport(ref: NotifyRef, status: AlertStatus): AlertStatus | undefined {
  if (!REPORTED_STATUSES.includes(status)) return undefined;
  const sent = ref.data?.sent;
  return Array.isArray(sent) && sent.includes(status) ? undefined : status;
}

export function markSent(ref: NotifyRef, status: AlertStatus): NotifyRef {
  const sent = Array.isArray(ref.data?.sent) ? ref.data.sent : [];
  return { ...ref, data: { ...ref.data, sent: [...sent, status] } };
}

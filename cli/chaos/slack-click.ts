/**
 * A button click on an alert message as Slack sends it to the interactivity
 * endpoint: a `block_actions` payload, form-encoded, signed (v0) with the
 * signing secret at a chosen Slack timestamp — the clock-skew scenario picks
 * timestamps inside and outside the API's ±5 min window.
 */
import { buildActionId } from '../../activities/slack/action-ids.ts';
import { SLACK_INTERACTIONS_PATH } from '../../api/slack/interactions.ts';
import { SLACK_SIGNATURE_HEADER, SLACK_TIMESTAMP_HEADER, signSlackRequest } from '../../api/slack/signature.ts';

export interface SignedClickInput {
  apiUrl: string;
  signingSecret: string;
  alertId: string;
  channel: string;
  messageTs: string;
  user: { id: string; name: string };
  /** Slack's signing time, Unix seconds. */
  timestamp: number;
}

/** POSTs an Acknowledge click; returns the HTTP status the API answered. */
export async function sendAckClick(i: SignedClickInput): Promise<number> {
  const ts = String(Math.round(i.timestamp));
  const payload = {
    type: 'block_actions',
    user: { id: i.user.id, username: i.user.name, name: i.user.name, team_id: 'T0CHAOS01' },
    team: { id: 'T0CHAOS01', domain: 'chaos' },
    channel: { id: i.channel, name: 'gpu-alerts' },
    container: { type: 'message', message_ts: i.messageTs, channel_id: i.channel, is_ephemeral: false },
    message: { type: 'message', ts: i.messageTs, text: 'alert' },
    actions: [{ action_id: buildActionId('ack'), block_id: 'alert_actions', value: i.alertId, type: 'button', action_ts: `${ts}.000001` }],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const res = await fetch(`${i.apiUrl}${SLACK_INTERACTIONS_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', [SLACK_TIMESTAMP_HEADER]: ts, [SLACK_SIGNATURE_HEADER]: signSlackRequest(i.signingSecret, ts, body) },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  await res.arrayBuffer();
  return res.status;
}

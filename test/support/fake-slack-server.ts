/**
 * The fake Slack server for tests (infra/stack/fake-slack-server.ts, shared
 * with `telemetry-stack bench latency`), plus what only tests need:
 * `clickButton` signs and sends a block_actions interaction exactly as Slack
 * does, and `makeAlertState` builds a realistic alert for Slack tests.
 */
import { createHmac } from 'node:crypto';
import type { AlertInput, AlertState } from '../../lib/alerts/types.ts';
import { BOT_ID } from '../../infra/stack/fake-slack-server.ts';

export { FakeSlackServer, type FakeMessage, type FakeSlackOptions, type Failure, type RecordedCall } from '../../infra/stack/fake-slack-server.ts';

export interface ClickButtonInput {
  /** Full URL of the interactivity endpoint, e.g. http://127.0.0.1:8080/slack/interactions. */
  url: string;
  signingSecret: string;
  alertId: string;
  /** The action_id suffix: 'ack' | 'resolve' | 'snooze:15m' … */
  action: string;
  user: { id: string; name: string };
  channel?: string;
  messageTs?: string;
  /** Override the signing time (Unix seconds), e.g. to send a stale request. */
  timestamp?: number;
}

/** Build Slack's block_actions form body and headers for one button click. */
export function buildInteractionRequest(input: Omit<ClickButtonInput, 'url'>): { body: string; headers: Record<string, string> } {
  const ts = String(input.timestamp ?? Math.floor(Date.now() / 1000));
  const channel = input.channel ?? 'C0ALERTS1';
  const messageTs = input.messageTs ?? `${ts}.000100`;
  const payload = {
    type: 'block_actions',
    user: { id: input.user.id, username: input.user.name, name: input.user.name, team_id: 'T00000001' },
    api_app_id: 'A00000001',
    token: 'verification-token-unused',
    container: { type: 'message', message_ts: messageTs, channel_id: channel, is_ephemeral: false },
    trigger_id: `${ts}.1.abcdef`,
    team: { id: 'T00000001', domain: 'fake' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: 'gpu-alerts' },
    message: { type: 'message', ts: messageTs, bot_id: BOT_ID, text: 'alert' },
    state: { values: {} },
    response_url: `https://hooks.slack.test/actions/T00000001/1/abc`,
    actions: [
      {
        action_id: `alert:${input.action}`,
        block_id: 'alert_actions',
        text: { type: 'plain_text', text: input.action, emoji: true },
        value: input.alertId,
        type: 'button',
        action_ts: `${ts}.123456`,
      },
    ],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const signature = `v0=${createHmac('sha256', input.signingSecret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signature,
    },
  };
}

/** POST a signed button click to the interactivity endpoint, like Slack does. */
export async function clickButton(input: ClickButtonInput): Promise<{ status: number; body: string; elapsedMs: number }> {
  const { body, headers } = buildInteractionRequest(input);
  const t0 = performance.now();
  const res = await fetch(input.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, body: text, elapsedMs: performance.now() - t0 };
}

/** A realistic AlertState for Slack tests; override any part. */
export function makeAlertState(overrides: Partial<AlertState> = {}, alert: Partial<AlertInput> = {}): AlertState {
  return {
    alert: {
      alertId: 'alert-GPU-5fa3c1d2-temp-high',
      device: 'GPU-5fa3c1d2',
      rule: 'temp-high',
      severity: 'critical',
      summary: 'temperature_c 97 > 90 for 30s',
      model: 'NVIDIA H100 80GB HBM3',
      host: 'node-07',
      values: { temperature_c: 97, power_w: 612.4567, util_gpu_pct: 100 },
      health: { class: 'critical', score: 0.93, reasons: ['thermal slowdown', 'temperature 7 °C above baseline'] },
      firedAt: '2025-03-01T12:00:00.000Z',
      ...alert,
    },
    status: 'firing',
    level: 0,
    repeats: 0,
    history: [{ at: '2025-03-01T12:00:00.000Z', event: 'fired' }],
    ...overrides,
  };
}

/**
 * One HTTP call of a notification channel (webhook, ntfy), classified the way
 * every activity classifies failures: 429 → RateLimitedError (the delivery
 * queue waits Retry-After and keeps the page); 408/425/5xx, timeouts and
 * connection errors → retryable; any other 4xx → permanent (a bad URL, key or
 * payload fails the same way on every retry), naming channel and status.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { NOTIFY_PERMANENT_ERROR, NOTIFY_TRANSIENT_ERROR } from '../../lib/notify/notifier.ts';
import { RateLimitedError } from './delivery-queue.ts';

/** Fallback wait when a 429 carries no Retry-After, ms. */
export const DEFAULT_RETRY_AFTER_MS = 2_000;
/** Longest Retry-After honoured inside the queue (longer: the activity retries later). */
export const MAX_RETRY_AFTER_MS = 120_000;
/** Error bodies quoted in failures are cut to this. */
const MAX_QUOTED_BODY = 300;

export interface HttpAnswer {
  status: number;
  text: string;
  json: unknown;
}

/** Retry-After as seconds or an HTTP date → ms (bounded). */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number {
  if (!header) return DEFAULT_RETRY_AFTER_MS;
  const s = Number(header);
  const ms = Number.isFinite(s) ? s * 1000 : Date.parse(header) - nowMs;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Number.isFinite(ms) ? ms : DEFAULT_RETRY_AFTER_MS));
}

export async function sendHttp(
  what: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs: number },
): Promise<HttpAnswer> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? 'POST',
      headers: init.headers,
      body: init.body,
      signal: AbortSignal.timeout(init.timeoutMs),
    });
  } catch (err) {
    throw ApplicationFailure.create({
      message: `${what}: request to ${new URL(url).origin} failed: ${(err as Error).message}`,
      type: NOTIFY_TRANSIENT_ERROR,
      nonRetryable: false,
      cause: err as Error,
    });
  }
  const text = await res.text().catch(() => '');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (res.ok) return { status: res.status, text, json };
  const quoted = text.slice(0, MAX_QUOTED_BODY);
  if (res.status === 429) throw new RateLimitedError(`${what}: HTTP 429 ${quoted}`, retryAfterMs(res.headers.get('retry-after')));
  const transient = res.status >= 500 || res.status === 408 || res.status === 425;
  throw ApplicationFailure.create({
    message: `${what}: HTTP ${res.status} ${quoted}`,
    type: transient ? NOTIFY_TRANSIENT_ERROR : NOTIFY_PERMANENT_ERROR,
    nonRetryable: !transient,
    details: [{ status: res.status }],
  });
}

/**
 * Slack request signing (v0): `X-Slack-Signature` is `v0=` + hex HMAC-SHA256
 * of `v0:<X-Slack-Request-Timestamp>:<raw body>` keyed with the app's signing
 * secret. Pure: no I/O, no clock unless `now` is omitted, never throws.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's replay window: a request older or newer than this is refused (seconds). */
export const SLACK_SIGNATURE_TOLERANCE_S = 300;

export const SLACK_SIGNATURE_HEADER = 'x-slack-signature';
export const SLACK_TIMESTAMP_HEADER = 'x-slack-request-timestamp';

const SIGNATURE_RE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP_RE = /^\d{1,12}$/;

export interface VerifySlackSignatureInput {
  signingSecret: string | undefined;
  /** Raw `X-Slack-Request-Timestamp` header (Unix seconds as a string). */
  timestamp: string | undefined;
  /** The raw request body, byte for byte as received (never re-serialised). */
  body: string | Buffer | undefined;
  /** Raw `X-Slack-Signature` header. */
  signature: string | undefined;
  /** Current time in Unix seconds (default: the wall clock). */
  now?: number;
}

/** Compute the `v0=` signature Slack would send for this timestamp and body. */
export function signSlackRequest(signingSecret: string, timestamp: string | number, body: string | Buffer): string {
  const mac = createHmac('sha256', signingSecret);
  mac.update(`v0:${timestamp}:`);
  mac.update(body);
  return `v0=${mac.digest('hex')}`;
}

/** True only when the signature is well-formed, fresh (±5 min) and matches in constant time. */
export function verifySlackSignature(input: VerifySlackSignatureInput): boolean {
  try {
    const { signingSecret, timestamp, body, signature } = input;
    if (!signingSecret || typeof signingSecret !== 'string') return false;
    if (typeof timestamp !== 'string' || !TIMESTAMP_RE.test(timestamp)) return false;
    if (typeof signature !== 'string' || !SIGNATURE_RE.test(signature)) return false;
    if (body === undefined || body === null) return false;
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) return false;

    const now = input.now ?? Date.now() / 1000;
    if (!Number.isFinite(now)) return false;
    // Both directions: a future timestamp is as suspicious as a stale one.
    if (Math.abs(now - Number(timestamp)) > SLACK_SIGNATURE_TOLERANCE_S) return false;

    const expected = Buffer.from(signSlackRequest(signingSecret, timestamp, body), 'utf8');
    const received = Buffer.from(signature, 'utf8');
    // timingSafeEqual throws on a length mismatch; the regex makes it equal, but check anyway.
    if (expected.length !== received.length) return false;
    return timingSafeEqual(expected, received);
  } catch {
    return false;
  }
}

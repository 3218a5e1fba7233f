/**
 * Signed, expiring acknowledge tokens for channels without their own signed
 * callback (email links, ntfy action buttons): `<payload>.<signature>`, both
 * base64url; payload = JSON `{ a: alertId, c: channel kind, t: target, e: expiry s }`,
 * signature = HMAC-SHA256(key, payload). The API verifies before it parses
 * anything the token says, compares in constant time and refuses expired
 * tokens. One owner: the adapters mint with `signAckToken`, the API route
 * (api/routes/notify-ack.ts) verifies with `verifyAckToken`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Path of the acknowledge endpoint: GET shows a confirmation page, POST acknowledges. */
export const ACK_LINK_PATH = '/v1/notify/ack';
/** Longest token accepted (a bound before any work is done). */
export const MAX_ACK_TOKEN_CHARS = 2_048;

export interface AckTokenClaims {
  alertId: string;
  /** Channel kind the link was sent through (recorded as the ack's `via`). */
  via: 'email' | 'ntfy' | 'webhook';
  /** Who it was sent to (address, topic): recorded as the responder. */
  target: string;
  /** Expiry, Unix seconds. */
  expiresAtS: number;
}

export type AckTokenProblem = 'malformed' | 'bad_signature' | 'expired' | 'too_long';

/** A token that does not verify; `problem` says why (the API answers 400/401/410 from it). */
export class AckTokenError extends Error {
  override name = 'AckTokenError';
  constructor(
    message: string,
    readonly problem: AckTokenProblem,
  ) {
    super(message);
  }
}

const b64 = (buf: Buffer | string) => Buffer.from(buf).toString('base64url');
const mac = (key: string, payload: string) => createHmac('sha256', key).update(payload).digest();

export function signAckToken(key: string, claims: AckTokenClaims): string {
  if (!key) throw new TypeError('signAckToken: key is required');
  const payload = b64(JSON.stringify({ a: claims.alertId, c: claims.via, t: claims.target, e: claims.expiresAtS }));
  return `${payload}.${b64(mac(key, payload))}`;
}

export function verifyAckToken(key: string, token: string, nowS = Math.floor(Date.now() / 1000)): AckTokenClaims {
  if (typeof token !== 'string' || token.length > MAX_ACK_TOKEN_CHARS) throw new AckTokenError('acknowledge token too long', 'too_long');
  const [payload, sig, extra] = token.split('.');
  if (!payload || !sig || extra !== undefined) throw new AckTokenError('acknowledge token is not <payload>.<signature>', 'malformed');
  const expected = mac(key, payload);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new AckTokenError('acknowledge token signature does not verify', 'bad_signature');
  let raw: { a?: unknown; c?: unknown; t?: unknown; e?: unknown };
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof raw;
  } catch {
    throw new AckTokenError('acknowledge token payload is not JSON', 'malformed');
  }
  if (typeof raw.a !== 'string' || typeof raw.t !== 'string' || typeof raw.e !== 'number' || !['email', 'ntfy', 'webhook'].includes(String(raw.c)))
    throw new AckTokenError('acknowledge token payload lacks alertId/via/target/expiry', 'malformed');
  if (raw.e < nowS) throw new AckTokenError(`acknowledge link expired at ${new Date(raw.e * 1000).toISOString()}`, 'expired');
  return { alertId: raw.a, via: raw.c as AckTokenClaims['via'], target: raw.t, expiresAtS: raw.e };
}

/** Absolute acknowledge URL for a token (`base` = the API's public URL). */
export function ackLink(base: string, token: string): string {
  return `${base.replace(/\/+$/, '')}${ACK_LINK_PATH}?token=${encodeURIComponent(token)}`;
}

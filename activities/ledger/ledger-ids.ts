/**
 * Pure mapping between Telemetry Stack's business values and AlertLedger's on-chain
 * encoding. Every off-chain reader (audit endpoint, external verifier) must use these
 * exact functions to recompute an id or a hash.
 *
 * Privacy: device and responder are stored as keccak256 of their UTF-8 string. That keeps
 * clear text off the chain, but a short or guessable value (a Slack user id, an email)
 * can be found by hashing candidates; it is pseudonymisation, not anonymisation.
 */
import { AbiCoder, keccak256, toUtf8Bytes } from 'ethers';
import type { AckChannel, Severity } from '../../lib/alerts/types.ts';

/** On-chain severity codes (AlertLedger.sol: 1 = warning, 2 = critical). 0 is never written. */
export const SEVERITY_CODE = { warning: 1, critical: 2 } as const satisfies Record<Severity, number>;
/** On-chain channel codes (AlertLedger.sol: 1 = slack, 2 = api, 3 = console). 0 = not acknowledged. */
export const CHANNEL_CODE = { slack: 1, api: 2, console: 3, email: 4, ntfy: 5, webhook: 6 } as const satisfies Record<AckChannel, number>;

export class LedgerInputError extends Error {
  override name = 'LedgerInputError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

function nonEmpty(value: string, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new LedgerInputError(`${field} must be a non-empty string`, field);
  return value;
}

/**
 * `keccak256(utf8(alertId))`. The alertId must be unique per alert OCCURRENCE: the contract
 * records an id once, so reusing `alert-<device>-<rule>` for a later occurrence collides
 * (LedgerConflict). Pass e.g. `${workflowId}@${firedAt}` if workflow ids are reused.
 */
export function ledgerAlertId(alertId: string): string {
  return keccak256(toUtf8Bytes(nonEmpty(alertId, 'alertId')));
}

/** keccak256(utf8(value)) for a device id or a responder identity. */
export function identityHash(value: string, field = 'identity'): string {
  return keccak256(toUtf8Bytes(nonEmpty(value, field)));
}

/**
 * Hash of who resolved and why: keccak256(abi.encode(string by, string reason)). The ABI
 * encoding is unambiguous (no separator that a name could contain). `reason` may be empty.
 */
export function resolutionHash(by: string, reason: string): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['string', 'string'], [nonEmpty(by, 'by'), reason ?? '']));
}

const UINT64_MAX = (1n << 64n) - 1n;

/** Validates a Unix time in milliseconds for a uint64 slot. */
export function toUint64Ms(ms: number, field: string): bigint {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new LedgerInputError(`${field} must be a non-negative integer (Unix ms), got ${ms}`, field);
  const v = BigInt(ms);
  if (v > UINT64_MAX) throw new LedgerInputError(`${field} exceeds uint64`, field);
  return v;
}

export function severityCode(severity: Severity): number {
  const code = SEVERITY_CODE[severity];
  if (code === undefined) throw new LedgerInputError(`unknown severity ${String(severity)}`, 'severity');
  return code;
}

export function channelCode(via: AckChannel): number {
  const code = CHANNEL_CODE[via];
  if (code === undefined) throw new LedgerInputError(`unknown ack channel ${String(via)}`, 'via');
  return code;
}

export function severityFromCode(code: number): Severity | `unknown(${number})` {
  const hit = (Object.keys(SEVERITY_CODE) as Severity[]).find((k) => SEVERITY_CODE[k] === code);
  return hit ?? `unknown(${code})`;
}

export function channelFromCode(code: number): AckChannel | null | `unknown(${number})` {
  if (code === 0) return null;
  const hit = (Object.keys(CHANNEL_CODE) as AckChannel[]).find((k) => CHANNEL_CODE[k] === code);
  return hit ?? `unknown(${code})`;
}

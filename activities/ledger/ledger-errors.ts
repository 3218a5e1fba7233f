/**
 * Error types of the ledger client and their classification for Temporal.
 *
 * Permanent (non-retryable): contract reverts that are not idempotent replays (NotRecorder,
 * UnknownAlert, AlreadyResolved…), conflicting data under an existing id, bad input, a
 * missing contract. Transient (retryable): everything about reaching the node — connection
 * refused, timeouts, 5xx, nonce races, receipt not seen yet. Unknown errors are treated as
 * transient: every ledger write is idempotent, so a retry is always safe.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Interface, isError } from 'ethers';
import { LedgerInputError } from './ledger-ids.ts';

/** ApplicationFailure `type`s thrown by the ledger activities. */
export const LEDGER_FAILURE = {
  revert: 'LedgerRevert',
  conflict: 'LedgerConflict',
  badInput: 'LedgerBadInput',
  config: 'LedgerConfig',
  unavailable: 'LedgerUnavailable',
} as const;
export type LedgerFailureType = (typeof LEDGER_FAILURE)[keyof typeof LEDGER_FAILURE];

/** A contract revert, decoded to its custom error (e.g. `NotRecorder(0xabc…)`). */
export class LedgerRevertError extends Error {
  override name = 'LedgerRevertError';
  constructor(
    /** Custom error name, or `Error(string)`/`Panic(uint256)`, or `unknown` when undecodable. */
    readonly errorName: string,
    /** Decoded arguments, stringified (bigint → decimal). */
    readonly args: string[],
    options?: { cause?: unknown; method?: string },
  ) {
    super(`${options?.method ? `${options.method}: ` : ''}reverted with ${errorName}(${args.join(', ')})`, options);
  }
}

/** The id already holds different data (e.g. a reused alert id, or a second responder). */
export class LedgerConflictError extends Error {
  override name = 'LedgerConflictError';
  constructor(
    message: string,
    readonly existing: Record<string, string | number | null>,
  ) {
    super(message);
  }
}

/** Deployment or configuration problem (no code at the address, wrong chain). */
export class LedgerConfigError extends Error {
  override name = 'LedgerConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The node could not be reached or did not confirm in time; safe to retry. */
export class LedgerUnavailableError extends Error {
  override name = 'LedgerUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const HEX_DATA = /^0x[0-9a-fA-F]*$/;

/**
 * Revert data hidden somewhere in an ethers / JSON-RPC error: ethers puts it in `data`,
 * nodes nest it in `error.data` (geth) or `info.error.data`, and wrappers keep `cause`.
 */
export function findRevertData(err: unknown, depth = 0): string | null {
  if (depth > 5 || err === null || typeof err !== 'object') return null;
  const e = err as Record<string, unknown>;
  if (typeof e.data === 'string' && HEX_DATA.test(e.data) && e.data.length >= 10) return e.data;
  if (e.data && typeof e.data === 'object') {
    const nested = findRevertData(e.data, depth + 1);
    if (nested) return nested;
  }
  for (const key of ['error', 'info', 'cause', 'revert'] as const) {
    const nested = findRevertData(e[key], depth + 1);
    if (nested) return nested;
  }
  return null;
}

function stringifyArg(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return `[${v.map(stringifyArg).join(', ')}]`;
  return String(v);
}

/** Decoded revert `{ name, args }` of an error, or null if it carries no decodable revert. */
export function decodeLedgerRevert(iface: Interface, err: unknown): { name: string; args: string[] } | null {
  const data = findRevertData(err);
  if (data) {
    try {
      const parsed = iface.parseError(data);
      if (parsed) return { name: parsed.name, args: [...parsed.args].map(stringifyArg) };
    } catch {
      // fall through: not one of ours
    }
    // Error(string) and Panic(uint256) are built into ethers' ErrorDescription only via the
    // contract; decode them by selector here.
    if (data.startsWith('0x08c379a0')) {
      const [reason] = Interface.from(['error Error(string)']).decodeErrorResult('Error', data);
      return { name: 'Error', args: [String(reason)] };
    }
    if (data.startsWith('0x4e487b71')) {
      const [code] = Interface.from(['error Panic(uint256)']).decodeErrorResult('Panic', data);
      return { name: 'Panic', args: [stringifyArg(code)] };
    }
    return { name: 'unknown', args: [data] };
  }
  if (isError(err, 'CALL_EXCEPTION') && err.revert) {
    return { name: err.revert.name, args: [...err.revert.args].map(stringifyArg) };
  }
  return null;
}

/** True for a revert without data (require(false), out of gas on-chain). */
export function isDatalessRevert(err: unknown): boolean {
  return isError(err, 'CALL_EXCEPTION') && !findRevertData(err);
}

/** Connection / timeout / node-busy / nonce race: the kind of failure a retry fixes. */
export function isTransientChainError(err: unknown): boolean {
  if (err instanceof LedgerUnavailableError) return true;
  if (
    isError(err, 'NETWORK_ERROR') ||
    isError(err, 'TIMEOUT') ||
    isError(err, 'SERVER_ERROR') ||
    isError(err, 'NONCE_EXPIRED') ||
    isError(err, 'REPLACEMENT_UNDERPRICED') ||
    isError(err, 'TRANSACTION_REPLACED') ||
    isError(err, 'INSUFFICIENT_FUNDS') // an operator tops up the signer; retry then succeeds
  ) {
    return true;
  }
  const text = errorText(err).toLowerCase();
  return /econnrefused|econnreset|etimedout|socket hang up|fetch failed|nonce too low|nonce too high|already known|replacement transaction underpriced|timeout|network/.test(
    text,
  );
}

/** Message plus nested causes' messages and codes, for pattern checks and logs. */
export function errorText(err: unknown, depth = 0): string {
  if (depth > 5 || err === null || err === undefined) return '';
  if (typeof err !== 'object') return String(err);
  const e = err as { message?: unknown; code?: unknown; cause?: unknown; error?: unknown; shortMessage?: unknown };
  return [e.code, e.shortMessage, e.message, errorText(e.cause, depth + 1), errorText(e.error, depth + 1)]
    .filter((x) => x !== undefined && x !== '')
    .join(' | ');
}

/**
 * Maps any ledger-client error to the ApplicationFailure an activity throws.
 * Temporal reads `nonRetryable`; `type` lets workflows branch (`LedgerRevert`, …).
 */
export function toLedgerFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const cause = err instanceof Error ? err : undefined;
  if (err instanceof LedgerRevertError) {
    return ApplicationFailure.create({
      type: LEDGER_FAILURE.revert,
      message: err.message,
      nonRetryable: true,
      details: [{ error: err.errorName, args: err.args }],
      cause,
    });
  }
  if (err instanceof LedgerConflictError) {
    return ApplicationFailure.create({ type: LEDGER_FAILURE.conflict, message: err.message, nonRetryable: true, details: [err.existing], cause });
  }
  if (err instanceof LedgerInputError) {
    return ApplicationFailure.create({ type: LEDGER_FAILURE.badInput, message: err.message, nonRetryable: true, details: [{ field: err.field }], cause });
  }
  if (err instanceof LedgerConfigError) {
    return ApplicationFailure.create({ type: LEDGER_FAILURE.config, message: err.message, nonRetryable: true, cause });
  }
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({ type: LEDGER_FAILURE.unavailable, message, nonRetryable: false, cause });
}

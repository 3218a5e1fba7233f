/**
 * What the writer (ledger-client) and the keyless reader (ledger-reader) both
 * need: the contract's raw record shape, its decoding, and the chain id probe.
 */
import { LedgerUnavailableError, errorText } from './ledger-errors.ts';
import { jsonRpc } from '../../lib/ledger/json-rpc.ts';
import { channelFromCode, severityFromCode } from './ledger-ids.ts';
import type { LedgerAlertRecord } from './ledger-client.ts';

export const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** `AlertLedger.records(id)` as ethers returns it. */
export interface RawRecord {
  deviceHash: string;
  responderHash: string;
  reasonHash: string;
  recordedBy: string;
  raisedAt: bigint;
  severity: bigint;
  ackedBy: string;
  ackedAt: bigint;
  channel: bigint;
  resolvedBy: string;
  resolvedAt: bigint;
}

/** A raw record as the API's and the audit's LedgerAlertRecord. */
export function toRecord(id: string, r: RawRecord): LedgerAlertRecord {
  return {
    id,
    deviceHash: r.deviceHash,
    severity: severityFromCode(Number(r.severity)),
    raisedAtMs: r.raisedAt.toString(),
    recordedBy: r.recordedBy,
    acknowledged:
      r.ackedBy === ZERO_ADDRESS
        ? null
        : { responderHash: r.responderHash, ackedAtMs: r.ackedAt.toString(), channel: channelFromCode(Number(r.channel)), recorder: r.ackedBy },
    resolved: r.resolvedBy === ZERO_ADDRESS ? null : { reasonHash: r.reasonHash, resolvedAtMs: r.resolvedAt.toString(), recorder: r.resolvedBy },
  };
}

/** eth_chainId, as a typed retryable error when the node is down. */
export async function rpcChainId(rpcUrl: string, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<number> {
  try {
    const result = await jsonRpc<string | undefined>(rpcUrl, 'eth_chainId', [], timeoutMs);
    if (!result) throw new Error('eth_chainId: no result');
    return Number(BigInt(result));
  } catch (err) {
    throw new LedgerUnavailableError(`chain node ${rpcUrl} unreachable: ${errorText(err)}`, { cause: err });
  }
}

/**
 * The ledger's rolling digest, recomputed off chain exactly as AlertLedger.sol `_fold` does:
 *   digest' = keccak256(abi.encode(digest, kind, id, dataHash, small, at, recorder))
 * starting from bytes32(0). Anyone holding the ledger's events can recompute the head; a
 * checkpoint that commits to (eventCount, digest) therefore commits to every write before it.
 */
import { AbiCoder, keccak256, ZeroHash } from 'ethers';

/** Event kinds as the contract folds them (KIND_RECORDED = 1, …). */
export const FOLD_KIND = { recorded: 1, acknowledged: 2, resolved: 3 } as const;
export type FoldKind = keyof typeof FOLD_KIND;

/** The inputs of one fold step (what the contract hashed for one write). */
export interface FoldEntry {
  kind: FoldKind;
  /** keccak256(alert key), 0x + 64 hex. */
  id: string;
  dataHash: string;
  /** severity / channel / 0. */
  small: number;
  /** Unix ms, decimal string (uint64). */
  at: string;
  /** The recorder address that sent the write. */
  recorder: string;
}

export const GENESIS_DIGEST = ZeroHash;

const coder = AbiCoder.defaultAbiCoder();

export function foldStep(digest: string, e: FoldEntry): string {
  return keccak256(
    coder.encode(['bytes32', 'uint8', 'bytes32', 'bytes32', 'uint256', 'uint64', 'address'], [digest, FOLD_KIND[e.kind], e.id, e.dataHash, e.small, BigInt(e.at), e.recorder]),
  );
}

/** Folds `entries` onto `digest` (the genesis digest by default). */
export function foldAll(entries: readonly FoldEntry[], digest: string = GENESIS_DIGEST): string {
  let d = digest;
  for (const e of entries) d = foldStep(d, e);
  return d;
}

/** The fold inputs only (drops tx/block fields), in the stable key order used on the wire. */
export function foldEntryOf(e: FoldEntry): FoldEntry {
  return { kind: e.kind, id: e.id, dataHash: e.dataHash, small: e.small, at: e.at, recorder: e.recorder };
}

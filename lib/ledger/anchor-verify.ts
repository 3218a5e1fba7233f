/**
 * `verify --anchors`: checks receipts (and optionally the live chain) against the published
 * anchors. Works offline: an anchor record carries the fold inputs since the previous one,
 * so the anchors alone rebuild the witnessed write log [0, size).
 *
 * 1. every anchor's checkpoint is signed by the log key and co-signed by every required
 *    witness key, and its entries fold from the previous anchor's digest to its own;
 * 2. each receipt's event is the anchored entry at its eventIndex, with the same digests;
 * 3. with the chain's current write log (from `--rpc`), every anchored entry is still there
 *    unchanged — a rebuilt chain with one ack changed fails here, naming the receipt(s).
 */
import { parseCheckpoint, type Checkpoint } from './checkpoint.ts';
import { canonicalJson, type LedgerReceipt } from './receipt.ts';
import { foldEntryOf, foldStep, GENESIS_DIGEST, type FoldEntry } from './ledger-fold.ts';
import { openNote, type NoteVerifier } from './signed-note.ts';

export interface AnchorInput {
  note: string;
  fromSize: number;
  entries: FoldEntry[];
}

export interface AnchorProblem {
  /** `<alertKey> <kind> (tx …)` when the problem is about one receipt. */
  receipt?: string;
  message: string;
}

export interface AnchorVerification {
  ok: boolean;
  /** Size of the last valid, witnessed anchor. */
  anchoredSize: number;
  checkpoint: Checkpoint | null;
  problems: AnchorProblem[];
}

export const receiptName = (r: LedgerReceipt): string => `${r.alertKey} ${r.event.kind} (tx ${r.tx.hash})`;
const same = (a: FoldEntry, b: FoldEntry) => canonicalJson(foldEntryOf(a)).toLowerCase() === canonicalJson(foldEntryOf(b)).toLowerCase();

export function verifyAnchors(input: {
  anchors: AnchorInput[];
  logKey: NoteVerifier;
  witnessKeys: NoteVerifier[];
  receipts?: LedgerReceipt[];
  /** The chain's current write log (oldest first), when verifying online. */
  chainEntries?: FoldEntry[];
  /** Expected origin (receipts' chain + contract); anchors of other origins are ignored. */
  origin?: string;
}): AnchorVerification {
  const problems: AnchorProblem[] = [];
  const log: FoldEntry[] = [];
  const digests: string[] = [GENESIS_DIGEST]; // digests[i] = digest after i entries
  let checkpoint: Checkpoint | null = null;
  const sorted = [...input.anchors].sort((a, b) => a.fromSize - b.fromSize);
  for (const a of sorted) {
    let cp: Checkpoint;
    try {
      const opened = openNote(a.note, [input.logKey, ...input.witnessKeys]);
      cp = parseCheckpoint(opened.body);
      if (input.origin && cp.origin !== input.origin) continue;
      if (!opened.verified.some((v) => v.name === input.logKey.name)) throw new Error(`not signed by the log key ${input.logKey.name}`);
      for (const w of input.witnessKeys) if (!opened.verified.some((v) => v.name === w.name)) throw new Error(`not co-signed by witness ${w.name}`);
    } catch (err) {
      problems.push({ message: `anchor from size ${a.fromSize}: ${(err as Error).message}` });
      break;
    }
    if (cp.size <= log.length && a.fromSize < log.length) {
      // A duplicate or re-anchor of a size we already have: it must agree.
      if (digests[cp.size] !== cp.root) problems.push({ message: `two anchors disagree at size ${cp.size}: ${digests[cp.size]} vs ${cp.root}` });
      continue;
    }
    if (a.fromSize !== log.length || a.entries.length !== cp.size - a.fromSize) {
      problems.push({ message: `anchor gap: have entries up to ${log.length}, next anchor covers ${a.fromSize}…${cp.size}` });
      break;
    }
    let d = digests[log.length]!;
    for (const e of a.entries) {
      d = foldStep(d, e);
      log.push(foldEntryOf(e));
      digests.push(d);
    }
    if (d !== cp.root) {
      problems.push({ message: `anchor at size ${cp.size}: its entries fold to ${d}, the checkpoint says ${cp.root}` });
      break;
    }
    checkpoint = cp;
  }
  const anchoredSize = checkpoint?.size ?? 0;

  for (const r of input.receipts ?? []) {
    const i = r.position.eventIndex;
    if (i >= anchoredSize) {
      problems.push({ receipt: receiptName(r), message: `event #${i} is not covered by an anchor yet (anchored size ${anchoredSize})` });
      continue;
    }
    if (!same(r.event, log[i]!) || digests[i] !== r.position.digestBefore || digests[i + 1] !== r.position.digestAfter) {
      problems.push({ receipt: receiptName(r), message: `event #${i} differs from the witnessed ledger: the receipt or the anchored history was rewritten` });
    }
  }

  if (input.chainEntries) {
    const chain = input.chainEntries;
    if (chain.length < anchoredSize) problems.push({ message: `the chain holds ${chain.length} ledger writes, fewer than the ${anchoredSize} anchored: history was dropped` });
    for (let i = 0; i < Math.min(anchoredSize, chain.length); i++) {
      if (same(chain[i]!, log[i]!)) continue;
      const named = (input.receipts ?? []).filter((r) => r.position.eventIndex === i).map(receiptName);
      problems.push({
        ...(named.length > 0 ? { receipt: named.join(', ') } : {}),
        message: `the chain was rewritten: ledger write #${i} on chain (${chain[i]!.kind} ${chain[i]!.id}) differs from the anchored one`,
      });
    }
  }
  return { ok: problems.length === 0, anchoredSize, checkpoint, problems };
}

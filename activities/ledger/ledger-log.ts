/**
 * The ledger's write log as the contract folded it, followed incrementally from the chain:
 * each write's position (0-based event index) and the digest after it. Receipts take their
 * `position` from here and the anchorer takes the entries between two checkpoints.
 *
 * Bounds: only the last MAX_RECENT_ENTRIES entries are kept in memory (plus the running
 * cursor); an older position is found by one rescan from the deploy block.
 * Invariant: the recomputed digest must equal the contract's `ledgerHead()` digest at the
 * synced block — a mismatch means our fold (or the node) is wrong, and nothing is signed.
 */
import { foldEntryOf, foldStep, GENESIS_DIGEST, type FoldEntry } from '../../lib/ledger/ledger-fold.ts';
import { LedgerConfigError } from './ledger-errors.ts';
import type { LedgerDeployment } from './ledger-deployment.ts';
import type { LedgerEntry, LedgerReader } from './ledger-reader.ts';

export const MAX_RECENT_ENTRIES = 10_000;

export interface PositionedEntry {
  entry: LedgerEntry;
  index: number;
  digestBefore: string;
  digestAfter: string;
}

export class LedgerLog {
  private count = 0;
  private digest = GENESIS_DIGEST;
  private syncedBlock: number;
  private recent: PositionedEntry[] = [];

  constructor(
    private readonly reader: LedgerReader,
    private readonly deployment: LedgerDeployment,
    private readonly maxRecent = MAX_RECENT_ENTRIES,
  ) {
    this.syncedBlock = (deployment.deployBlock ?? 0) - 1;
  }

  /** Entries folded so far and the digest after them. */
  get head(): { count: number; digest: string; block: number } {
    return { count: this.count, digest: this.digest, block: this.syncedBlock };
  }

  /** Tail of the sync queue: concurrent callers (parallel acks) must not fold the same entries twice. */
  private syncing: Promise<unknown> = Promise.resolve();

  /** Follows the chain up to its latest block and checks the digest against the contract's. Serialised. */
  sync(): Promise<{ count: number; digest: string; block: number; blockHash: string }> {
    const next = this.syncing.then(
      () => this.syncOnce(),
      () => this.syncOnce(),
    );
    this.syncing = next.catch(() => undefined);
    return next;
  }

  private async syncOnce(): Promise<{ count: number; digest: string; block: number; blockHash: string }> {
    const head = await this.reader.head(this.deployment.address);
    if (head.blockNumber > this.syncedBlock) {
      const fresh = await this.reader.entries(this.deployment, { fromBlock: this.syncedBlock + 1, toBlock: head.blockNumber });
      for (const entry of fresh) {
        const before = this.digest;
        this.digest = foldStep(before, entry);
        this.recent.push({ entry, index: this.count, digestBefore: before, digestAfter: this.digest });
        this.count++;
      }
      if (this.recent.length > this.maxRecent) this.recent.splice(0, this.recent.length - this.maxRecent);
      this.syncedBlock = head.blockNumber;
    }
    if (head.eventCount !== this.count || head.digest !== this.digest) {
      throw new LedgerConfigError(
        `ledger ${this.deployment.address}: recomputed head (${this.count}, ${this.digest}) ≠ contract head (${head.eventCount}, ${head.digest}) at block ${head.blockNumber}`,
      );
    }
    return { count: this.count, digest: this.digest, block: head.blockNumber, blockHash: head.blockHash };
  }

  /** Position of the write in `txHash` of `kind`/`id`; syncs first; rescans when older than the ring. */
  async positionOf(txHash: string, id: string): Promise<PositionedEntry> {
    await this.sync();
    const match = (p: PositionedEntry) => p.entry.txHash.toLowerCase() === txHash.toLowerCase() && p.entry.id === id;
    const hit = this.recent.find(match);
    if (hit) return hit;
    const all = await this.reader.entries(this.deployment);
    let digest = GENESIS_DIGEST;
    for (let i = 0; i < all.length; i++) {
      const before = digest;
      digest = foldStep(before, all[i]!);
      if (match({ entry: all[i]!, index: i, digestBefore: before, digestAfter: digest })) return { entry: all[i]!, index: i, digestBefore: before, digestAfter: digest };
    }
    throw new LedgerConfigError(`no ledger write ${id} in tx ${txHash} at ${this.deployment.address}`);
  }

  /** Fold inputs of entries [from, to) — what a witness needs to check consistency. Null if no longer in memory. */
  entriesBetween(from: number, to: number): FoldEntry[] | null {
    const first = this.recent[0];
    if (from === to) return [];
    if (!first || from < first.index || to > this.count) return null;
    return this.recent.slice(from - first.index, to - first.index).map((p) => foldEntryOf(p.entry));
  }
}

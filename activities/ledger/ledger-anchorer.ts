/**
 * Anchors the ledger head outside the chain: after every N writes and on a timer, the
 * current head (eventCount, digest, block) is signed as a C2SP checkpoint with the log key,
 * co-signed by every configured witness, and appended — with the fold inputs since the
 * previous anchor — to the JetStream stream `LEDGER_ANCHORS`, created with deny_delete and
 * deny_purge so neither the chain operator nor anyone with the NATS account can drop one.
 *
 * Invariant: an anchor is published only with ALL witnesses' cosignatures; a witness that
 * refuses (the chain is not a consistent successor of what it saw) stops anchoring and is
 * logged as an error — that refusal IS the detection. Failures are retried on the next tick;
 * nothing is skipped: each anchor carries the entries since the previous published one.
 */
import { JSONCodec, RetentionPolicy, StorageType, DiscardPolicy, type JetStreamClient, type JetStreamManager } from 'nats';
import type { Logger } from '../../lib/logger.ts';
import { formatCheckpoint, ledgerOrigin, parseCheckpoint } from '../../lib/ledger/checkpoint.ts';
import { openNote, signNote, type NoteSigner } from '../../lib/ledger/signed-note.ts';
import type { FoldEntry } from '../../lib/ledger/ledger-fold.ts';
import { isNotFound } from '../../lib/stream/jetstream.ts';
import type { LedgerLog } from './ledger-log.ts';
import { ledgerMetrics } from './ledger-metrics.ts';

export const ANCHOR_STREAM = 'LEDGER_ANCHORS';
export const anchorSubject = (chainId: number, contract: string) => `ledger.anchors.${chainId}.${contract.toLowerCase()}`;
/** Bound on the anchor stream (discard new: a full stream refuses anchors loudly, never drops old ones). */
export const ANCHOR_STREAM_MAX_BYTES = 1024 * 1024 * 1024;

/** One message of the anchor stream. */
export interface AnchorRecord {
  /** Checkpoint note with the log's signature and every witness's cosignature. */
  note: string;
  /** Size of the previous anchor; `entries` are the fold inputs of [fromSize, size). */
  fromSize: number;
  entries: FoldEntry[];
}

const codec = JSONCodec<AnchorRecord>();

export async function ensureAnchorStream(jsm: JetStreamManager, replicas = 1): Promise<void> {
  const cfg = {
    name: ANCHOR_STREAM,
    subjects: ['ledger.anchors.>'],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_bytes: ANCHOR_STREAM_MAX_BYTES,
    num_replicas: replicas,
    deny_delete: true,
    deny_purge: true,
    duplicate_window: 120_000_000_000,
  };
  try {
    await jsm.streams.info(ANCHOR_STREAM);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(cfg);
  }
}

/** Every anchor of one ledger, oldest first. */
export async function readAnchors(jsm: JetStreamManager, subject: string): Promise<AnchorRecord[]> {
  const out: AnchorRecord[] = [];
  let info;
  try {
    info = await jsm.streams.info(ANCHOR_STREAM);
  } catch (err) {
    if (isNotFound(err)) return out;
    throw err;
  }
  for (let seq = info.state.first_seq; seq > 0 && seq <= info.state.last_seq; seq++) {
    try {
      const m = await jsm.streams.getMessage(ANCHOR_STREAM, { seq });
      if (m.subject === subject) out.push(codec.decode(m.data));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return out;
}

/** The newest anchor of one ledger (one direct get by subject, not a scan). */
export async function lastAnchor(jsm: JetStreamManager, subject: string): Promise<AnchorRecord | undefined> {
  try {
    return codec.decode((await jsm.streams.getMessage(ANCHOR_STREAM, { last_by_subj: subject })).data);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export class WitnessRefusedError extends Error {
  override name = 'WitnessRefusedError';
  constructor(
    readonly witness: string,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface AnchorerDeps {
  log: LedgerLog;
  js: JetStreamClient;
  jsm: JetStreamManager;
  chainId: number;
  contract: string;
  signer: NoteSigner;
  witnessUrls: string[];
  everyWrites: number;
  intervalMs: number;
  logger: Logger;
  timeoutMs?: number;
}

export class LedgerAnchorer {
  private writesSince = 0;
  private last: { size: number; root: string } | undefined;
  private running: Promise<AnchorRecord | null> | undefined;
  private timer: NodeJS.Timeout | undefined;
  readonly origin: string;
  readonly subject: string;

  constructor(private readonly d: AnchorerDeps) {
    this.origin = ledgerOrigin(d.chainId, d.contract);
    this.subject = anchorSubject(d.chainId, d.contract);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick('timer'), this.d.intervalMs);
    this.timer.unref();
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Counts a ledger write; every `everyWrites` writes triggers an anchor. */
  noteWrite(): void {
    if (++this.writesSince >= this.d.everyWrites) void this.tick('writes');
  }

  private async tick(why: string): Promise<void> {
    try {
      ledgerMetrics.anchors.inc({ result: (await this.anchor()) ? 'anchored' : 'unchanged' });
    } catch (err) {
      ledgerMetrics.anchors.inc({ result: err instanceof WitnessRefusedError ? 'refused' : 'error' });
      this.d.logger.error({ why, err: (err as Error).message, origin: this.origin }, 'ledger anchoring failed; retrying on the next tick');
    }
  }

  /** Anchors the current head now (no-op when nothing changed since the last anchor). Serialised. */
  anchor(): Promise<AnchorRecord | null> {
    const run = async () => {
      try {
        return await this.anchorOnce();
      } finally {
        this.running = undefined;
      }
    };
    this.running = (this.running ?? Promise.resolve(null)).then(run, run);
    return this.running;
  }

  private async anchorOnce(): Promise<AnchorRecord | null> {
    const { log, signer } = this.d;
    if (!this.last) {
      const prev = await lastAnchor(this.d.jsm, this.subject);
      const cp = prev ? parseCheckpoint(openNote(prev.note, []).body) : undefined;
      this.last = { size: cp?.size ?? 0, root: cp?.root ?? '' };
    }
    const head = await log.sync();
    // Same size AND same digest: nothing new. Same size, other digest: the chain was rebuilt —
    // send it anyway so the witness's refusal makes it loud.
    if (head.count === this.last.size && head.digest === this.last.root) return null;
    const entries = log.entriesBetween(this.last.size, head.count);
    if (!entries) throw new Error(`entries ${this.last.size}…${head.count} are no longer in memory; restart to rescan`);
    const body = formatCheckpoint({ origin: this.origin, size: head.count, root: head.digest, block: { number: head.block, hash: head.blockHash } });
    let note = signNote(body, signer);
    for (const url of this.d.witnessUrls) note += await this.cosign(url, note, entries);
    const record: AnchorRecord = { note, fromSize: this.last.size, entries };
    await this.d.js.publish(this.subject, codec.encode(record), { msgID: `${this.origin}:${head.count}:${head.digest}` });
    this.d.logger.info({ origin: this.origin, size: head.count, block: head.block, witnesses: this.d.witnessUrls.length }, 'ledger head anchored');
    this.last = { size: head.count, root: head.digest };
    this.writesSince = 0;
    return record;
  }

  private async cosign(url: string, note: string, entries: FoldEntry[]): Promise<string> {
    const res = await fetch(`${url.replace(/\/$/, '')}/add-checkpoint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note, entries }),
      signal: AbortSignal.timeout(this.d.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    if (res.ok) return text;
    let reason = `http-${res.status}`;
    try {
      reason = (JSON.parse(text) as { reason: string }).reason;
    } catch {}
    throw new WitnessRefusedError(url, reason, `witness ${url} refused the checkpoint (${res.status}): ${text.slice(0, 500)}`);
  }
}

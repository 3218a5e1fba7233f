/**
 * The witness's rule, independent of transport: co-sign a ledger checkpoint only if it is
 * signed by a log key we were configured to trust, and it is CONSISTENT with the last
 * checkpoint we co-signed for that origin — the entries supplied fold from our previous
 * digest to the new one, the size never goes back, and one size never gets two digests.
 *
 * State: one small record per origin (size, digest), persisted by the caller BEFORE the
 * cosignature is released, so a crash cannot make the witness forget what it vouched for.
 * Bounds: at most MAX_WITNESS_LOGS origins and MAX_ENTRIES_PER_REQUEST entries per request.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCheckpoint } from './checkpoint.ts';
import { foldAll, GENESIS_DIGEST, type FoldEntry } from './ledger-fold.ts';
import { openNote, signatureLine, type NoteSigner, type NoteVerifier } from './signed-note.ts';

export const MAX_WITNESS_LOGS = 1_000;
export const MAX_ENTRIES_PER_REQUEST = 50_000;

export const WITNESS_REFUSAL = {
  unknownLog: 'unknown-log',
  badRequest: 'bad-request',
  rollback: 'rollback',
  fork: 'fork',
  inconsistent: 'inconsistent',
  tooManyLogs: 'too-many-logs',
} as const;
export type WitnessRefusalReason = (typeof WITNESS_REFUSAL)[keyof typeof WITNESS_REFUSAL];

export class WitnessRefusal extends Error {
  override name = 'WitnessRefusal';
  constructor(
    readonly reason: WitnessRefusalReason,
    message: string,
    /** What the witness holds for the origin (so the log can send the right entries). */
    readonly current?: WitnessedHead,
  ) {
    super(`${reason}: ${message}`);
  }
}

export interface WitnessedHead {
  size: number;
  digest: string;
}

export interface AddCheckpointRequest {
  /** The signed note (checkpoint body + the log's signature). */
  note: string;
  /** Fold inputs of the writes between the witness's previous size and the checkpoint's size. */
  entries: FoldEntry[];
}

export interface WitnessStore {
  get(origin: string): Promise<WitnessedHead | undefined>;
  set(origin: string, head: WitnessedHead): Promise<void>;
  count(): Promise<number>;
}

/** JSON file store (the witness's own volume). Writes are atomic renames. */
export class FileWitnessStore implements WitnessStore {
  private cache: Record<string, WitnessedHead> | undefined;
  constructor(private readonly dir: string) {}
  private get path(): string {
    return join(this.dir, 'witness-state.json');
  }
  private async load(): Promise<Record<string, WitnessedHead>> {
    if (this.cache) return this.cache;
    try {
      this.cache = JSON.parse(await readFile(this.path, 'utf8')) as Record<string, WitnessedHead>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.cache = {};
    }
    return this.cache;
  }
  async get(origin: string) {
    return (await this.load())[origin];
  }
  async count() {
    return Object.keys(await this.load()).length;
  }
  async set(origin: string, head: WitnessedHead) {
    const all = { ...(await this.load()), [origin]: head };
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`);
    await rename(tmp, this.path);
    this.cache = all;
  }
}

export class Witness {
  /** One request at a time: two concurrent successors must not both pass the check. */
  private queue: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly signer: NoteSigner,
    /** Log keys whose checkpoints this witness accepts. */
    private readonly logs: NoteVerifier[],
    private readonly store: WitnessStore,
  ) {}

  /** Returns the cosignature line, or throws WitnessRefusal. */
  addCheckpoint(req: AddCheckpointRequest): Promise<string> {
    const run = () => this.check(req);
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async check(req: AddCheckpointRequest): Promise<string> {
    if (typeof req?.note !== 'string' || !Array.isArray(req.entries)) throw new WitnessRefusal(WITNESS_REFUSAL.badRequest, 'expected {note, entries[]}');
    if (req.entries.length > MAX_ENTRIES_PER_REQUEST) throw new WitnessRefusal(WITNESS_REFUSAL.badRequest, `more than ${MAX_ENTRIES_PER_REQUEST} entries in one request`);
    let opened;
    try {
      opened = openNote(req.note, this.logs);
    } catch (err) {
      throw new WitnessRefusal(WITNESS_REFUSAL.unknownLog, (err as Error).message);
    }
    if (!opened.verified.some((v) => v.type === 0x01)) throw new WitnessRefusal(WITNESS_REFUSAL.unknownLog, 'not signed by a log key this witness trusts');
    let cp;
    try {
      cp = parseCheckpoint(opened.body);
    } catch (err) {
      throw new WitnessRefusal(WITNESS_REFUSAL.badRequest, (err as Error).message);
    }
    const prev = (await this.store.get(cp.origin)) ?? { size: 0, digest: GENESIS_DIGEST };
    if (prev.size === 0 && (await this.store.get(cp.origin)) === undefined && (await this.store.count()) >= MAX_WITNESS_LOGS) {
      throw new WitnessRefusal(WITNESS_REFUSAL.tooManyLogs, `already witnessing ${MAX_WITNESS_LOGS} logs`);
    }
    if (cp.size < prev.size) throw new WitnessRefusal(WITNESS_REFUSAL.rollback, `size ${cp.size} < ${prev.size} already co-signed for ${cp.origin}`, prev);
    if (cp.size === prev.size) {
      if (cp.root.toLowerCase() !== prev.digest.toLowerCase()) {
        throw new WitnessRefusal(WITNESS_REFUSAL.fork, `size ${cp.size} was co-signed with digest ${prev.digest}, not ${cp.root}`, prev);
      }
    } else {
      if (req.entries.length !== cp.size - prev.size) {
        throw new WitnessRefusal(WITNESS_REFUSAL.inconsistent, `need the ${cp.size - prev.size} entries after size ${prev.size}, got ${req.entries.length}`, prev);
      }
      let folded: string;
      try {
        folded = foldAll(req.entries, prev.digest);
      } catch (err) {
        throw new WitnessRefusal(WITNESS_REFUSAL.badRequest, `undecodable entry: ${(err as Error).message}`, prev);
      }
      if (folded.toLowerCase() !== cp.root.toLowerCase()) {
        throw new WitnessRefusal(WITNESS_REFUSAL.inconsistent, `entries ${prev.size}…${cp.size - 1} fold to ${folded}, checkpoint says ${cp.root}`, prev);
      }
      await this.store.set(cp.origin, { size: cp.size, digest: cp.root });
    }
    return signatureLine(opened.body, this.signer);
  }
}

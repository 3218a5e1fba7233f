/**
 * Silences in a JetStream KV bucket (`silences`): the API and the CLI write,
 * every alerts worker reads. KV rather than a file because silences are made
 * at run time by people (often mid-incident) and must reach every worker at
 * once; the bucket keeps each record's revisions (history 16), so the audit
 * trail — created by/at/why, ended by/at — survives in the stream as well as
 * in the record. Readers keep a watched in-memory copy, so the page-time
 * check costs no round trip.
 */
import { randomBytes } from 'node:crypto';
import type { JetStreamClient, KV, QueuedIterator, KvEntry } from 'nats';
import { activeSilenceFor, buildSilence, isActive, SILENCE_LIMITS, SilenceRequestError, type ActiveSilence, type Silence, type SilenceSubject } from './silences.ts';

export const SILENCE_BUCKET = 'silences';

/** No silence with that id. */
export class SilenceNotFoundError extends Error {
  override name = 'SilenceNotFoundError';
  constructor(readonly id: string) {
    super(`no silence ${id}`);
  }
}

/** Time-ordered, unique, KV-key-safe. */
export function newSilenceId(nowMs: number): string {
  return `sil-${nowMs.toString(36)}-${randomBytes(4).toString('hex')}`;
}

export class SilenceStore {
  private readonly byId = new Map<string, Silence>();
  private watcher?: QueuedIterator<KvEntry>;
  private ready?: Promise<void>;

  private constructor(private readonly kv: KV) {}

  /** Creates or binds the bucket. */
  static async open(js: JetStreamClient, opts: { replicas?: number } = {}): Promise<SilenceStore> {
    const kv = await js.views.kv(SILENCE_BUCKET, { history: 16, replicas: opts.replicas ?? 1 });
    return new SilenceStore(kv);
  }

  /** Starts (once) the watch that keeps the in-memory copy current; resolves when the initial values are in. */
  watch(): Promise<void> {
    this.ready ??= (async () => {
      let initialized!: () => void;
      const done = new Promise<void>((r) => (initialized = r));
      this.watcher = await this.kv.watch({ initializedFn: () => initialized() });
      void (async () => {
        for await (const e of this.watcher!) {
          if (e.operation !== 'PUT') this.byId.delete(e.key);
          else this.byId.set(e.key, e.json<Silence>());
        }
      })();
      await done;
    })();
    return this.ready;
  }

  async close(): Promise<void> {
    this.watcher?.stop();
  }

  /** The longest-lasting active silence matching the alert (from the watched copy). */
  async activeFor(alert: SilenceSubject, atMs = Date.now()): Promise<ActiveSilence | undefined> {
    await this.watch();
    return activeSilenceFor(this.byId.values(), alert, atMs);
  }

  /** Every stored silence (active, planned and ended), newest first. Reads the bucket, not the watched copy. */
  async list(): Promise<Silence[]> {
    // Drain the key lister before reading values: awaiting a get() inside its loop loses keys (nats.js 2.29).
    const keys: string[] = [];
    for await (const key of await this.kv.keys()) keys.push(key);
    const out: Silence[] = [];
    for (const key of keys) {
      const e = await this.kv.get(key);
      if (e && e.operation === 'PUT') out.push(e.json<Silence>());
    }
    return out.sort((a, b) => b.created.at.localeCompare(a.created.at));
  }

  async get(id: string): Promise<Silence | undefined> {
    const e = await this.kv.get(id).catch(() => null);
    return e && e.operation === 'PUT' ? e.json<Silence>() : undefined;
  }

  /** Validates and stores a new silence. Refuses beyond SILENCE_LIMITS.active active or planned silences. */
  async add(request: unknown, nowMs = Date.now()): Promise<Silence> {
    const silence = buildSilence(request, newSilenceId(nowMs), nowMs);
    await this.watch();
    const all = await this.prune(nowMs);
    const live = all.filter((s) => !s.ended && Date.parse(s.endsAt) > nowMs).length;
    if (live >= SILENCE_LIMITS.active) throw new SilenceRequestError([`at most ${SILENCE_LIMITS.active} active or planned silences (end some first)`]);
    await this.kv.create(silence.id, JSON.stringify(silence));
    this.byId.set(silence.id, silence); // counted at once, before the watch echoes it
    return silence;
  }

  /** Ends a silence early (kept for audit). Idempotent: an ended silence is returned as it is. */
  async end(id: string, by: string, reason?: string, nowMs = Date.now()): Promise<Silence> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const e = await this.kv.get(id);
      if (!e || e.operation !== 'PUT') throw new SilenceNotFoundError(id);
      const s = e.json<Silence>();
      if (s.ended || Date.parse(s.endsAt) <= nowMs) return s;
      const ended: Silence = { ...s, ended: { by, at: new Date(nowMs).toISOString(), ...(reason ? { reason } : {}) } };
      try {
        // Revision check: a concurrent end by someone else wins once, not twice.
        await this.kv.update(id, JSON.stringify(ended), e.revision);
        this.byId.set(id, ended);
        return ended;
      } catch (err) {
        if (attempt === 4) throw err;
      }
    }
    throw new Error('unreachable');
  }

  /** Drops records over the keep bounds (ended longest ago first); returns what is left. */
  private async prune(nowMs: number): Promise<Silence[]> {
    const all = [...this.byId.values()]; // the watched copy: no round trip per record
    const over = (s: Silence) => Date.parse(s.ended?.at ?? s.endsAt);
    const dead = all.filter((s) => !isActive(s, nowMs) && Date.parse(s.startsAt) <= nowMs && nowMs - over(s) > SILENCE_LIMITS.keepEndedMs);
    const endedSorted = all.filter((s) => s.ended || Date.parse(s.endsAt) <= nowMs).sort((a, b) => over(a) - over(b));
    const excess = endedSorted.slice(0, Math.max(0, endedSorted.length - SILENCE_LIMITS.kept));
    const drop = new Set([...dead, ...excess].map((s) => s.id));
    for (const id of drop) {
      await this.kv.purge(id);
      this.byId.delete(id);
    }
    return all.filter((s) => !drop.has(s.id));
  }
}

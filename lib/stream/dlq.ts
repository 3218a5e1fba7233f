/**
 * The dead-letter wire contract, and the operator's side of it: list, show and
 * replay. The one owner of the DLQ headers — the collector writes them with
 * `dlqHeaders`, this module reads them back.
 *
 * Invariant: **a dead letter is replayed at most once, and never lost**. Each
 * replay is recorded in the KV bucket `dlq_replays` before its DLQ copy is
 * deleted: a `pending` marker before the publish, `published` (with the
 * telemetry stream sequence) after it, and only then the delete. A rerun after
 * a crash finds the record and finishes the delete without publishing again; a
 * crash between publish and record is covered by the replay's `Nats-Msg-Id`
 * (`replay:<dlqStream>:<dlqSeq>`) inside the stream's duplicate window. A
 * `pending` marker older than that window is ambiguous (published or not, the
 * server no longer knows): it is reported, never silently republished, unless
 * the caller passes `force` (harmless for the data: InfluxDB overwrites
 * identical points, but it is a second message).
 *
 * A DLQ message's data is either the original message bytes (reason kind
 * `decode`) or an encoded batch (lib/stream/codec.ts) of only the points
 * InfluxDB rejected (`influx-data`, with `Telemetry-Dlq-Points`).
 */
import {
  DeliverPolicy,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type MsgHdrs,
  type StoredMsg,
} from 'nats';
import type { Config } from '../config.ts';
import type { Point } from '../point.ts';
import { BatchDecodeError, decodeBatch } from './codec.ts';
import { dlqStreamName, dlqSubject, isNotFound, DUPLICATE_WINDOW_MS } from './jetstream.ts';
import { dlqMetrics } from './metrics.ts';

export const DLQ_HEADERS = {
  reason: 'Telemetry-Dlq-Reason',
  subject: 'Telemetry-Original-Subject',
  seq: 'Telemetry-Original-Seq',
  at: 'Telemetry-Dlq-At',
  points: 'Telemetry-Dlq-Points',
  history: 'Telemetry-Dlq-History',
  replayOf: 'Telemetry-Replay-Of',
} as const;

/** KV bucket recording every replay (one small record per replayed DLQ message, kept as the audit trail). */
export const DLQ_REPLAY_BUCKET = 'dlq_replays';
/** Longest reason kept in `Telemetry-Dlq-Reason`, characters. */
export const REASON_MAX_CHARS = 1_000;
/** History entries carried at most (the oldest are dropped) and their reason length, characters: headers count against max_payload. */
export const HISTORY_MAX_ENTRIES = 20;
export const HISTORY_REASON_MAX_CHARS = 200;
/** A `--since` bound is applied server-side this much earlier, so client/server clock skew cannot hide a message. */
const SINCE_SKEW_MS = 5 * 60_000;
/** A pending replay is republished (relying on msg-id dedup) only this long before the duplicate window closes. */
const DEDUP_SAFETY_MS = 10_000;
const SCAN_BATCH = 512;
const SCAN_EXPIRES_MS = 2_000;

/** One earlier dead-lettering of the same data. */
export interface DlqHistoryEntry {
  at: string;
  reason: string;
  dlqSeq?: number;
}

export type DlqConfig = Pick<Config, 'STREAM_NAME' | 'SUBJECT_PREFIX' | 'STREAM_REPLICAS' | 'PARTITIONS_PER_TOPIC'>;

/** `Nats-Msg-Id` of the DLQ copy of one telemetry message: unique per original, so a collector retry adds no second copy. */
export function dlqMsgId(originalStream: string, originalSeq: number): string {
  return `dlq:${originalStream}:${originalSeq}`;
}
/** `Nats-Msg-Id` of the replay of one DLQ message. */
export function replayMsgId(dlqStream: string, dlqSeq: number): string {
  return `replay:${dlqStream}:${dlqSeq}`;
}

/** Header values cannot hold CR/LF (nats.js throws); error messages often do. */
function headerText(s: string, max: number): string {
  const flat = s.replace(/[\r\n]+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max) : flat;
}

function historyHeader(history: DlqHistoryEntry[]): string {
  const kept = history.slice(-HISTORY_MAX_ENTRIES).map((e) => ({
    at: e.at,
    reason: headerText(e.reason, HISTORY_REASON_MAX_CHARS),
    ...(e.dlqSeq !== undefined ? { dlqSeq: e.dlqSeq } : {}),
  }));
  return JSON.stringify(kept);
}

/** Headers of a DLQ message (reason cut to 1,000 chars; history carried from a replayed message). */
export function dlqHeaders(o: {
  reason: string;
  originalSubject: string;
  originalSeq: number;
  points?: number;
  history?: DlqHistoryEntry[];
  msgId: string;
  at?: Date;
}): MsgHdrs {
  const h = headers();
  h.set(DLQ_HEADERS.reason, headerText(o.reason, REASON_MAX_CHARS));
  h.set(DLQ_HEADERS.subject, o.originalSubject);
  h.set(DLQ_HEADERS.seq, String(o.originalSeq));
  h.set(DLQ_HEADERS.at, (o.at ?? new Date()).toISOString());
  if (o.points !== undefined) h.set(DLQ_HEADERS.points, String(o.points));
  if (o.history?.length) h.set(DLQ_HEADERS.history, historyHeader(o.history));
  h.set('Nats-Msg-Id', o.msgId);
  return h;
}

/**
 * History carried by a message's headers (a replayed batch carries the
 * dead-letterings before it); [] when none or malformed. Entries that are not
 * `{at: string, reason: string, dlqSeq?: integer}` are dropped.
 */
export function historyOf(h: MsgHdrs | undefined): DlqHistoryEntry[] {
  const raw = h?.get(DLQ_HEADERS.history);
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: DlqHistoryEntry[] = [];
  for (const e of parsed as unknown[]) {
    if (typeof e !== 'object' || e === null) continue;
    const { at, reason, dlqSeq } = e as Record<string, unknown>;
    if (typeof at !== 'string' || typeof reason !== 'string') continue;
    if (dlqSeq !== undefined && !(Number.isSafeInteger(dlqSeq) && (dlqSeq as number) > 0)) continue;
    out.push(dlqSeq === undefined ? { at, reason } : { at, reason, dlqSeq: dlqSeq as number });
  }
  return out;
}

/** Reason kind = text before the first ':' (decode | influx-data | …). */
export function reasonKind(reason: string): string {
  const i = reason.indexOf(':');
  const kind = (i < 0 ? reason : reason.slice(0, i)).trim();
  return kind || 'unknown';
}

/** One dead letter, from its headers (bodies are not read to list). */
export interface DlqEntry {
  dlqSeq: number;
  partition: number;
  /** DLQ subject, `<base>.dlq.<partition>`. */
  subject: string;
  /** Where a replay publishes it (header, else the partition's telemetry subject). */
  originalSubject: string;
  /** Telemetry stream sequence it had; 0 when the header is absent. */
  originalSeq: number;
  reason: string;
  kind: string;
  /** When it was dead-lettered (ISO 8601; the stream's timestamp when the header is absent). */
  at: string;
  /** Points in the batch (`influx-data` kind only). */
  points?: number;
  /** Size of the data, bytes. */
  bytes: number;
  history: DlqHistoryEntry[];
}

/** Which dead letters: a reason kind (`influx-data`), or, containing ':', a prefix of the reason text; and dead-lettered at/after `since`. */
export interface DlqSelection {
  reason?: string;
  since?: Date;
  partition?: number;
}

function entryOf(cfg: DlqConfig, seq: number, subject: string, h: MsgHdrs | undefined, bytes: number, storedMs: number): DlqEntry {
  const partition = Number(subject.slice(subject.lastIndexOf('.') + 1));
  const reason = h?.get(DLQ_HEADERS.reason) || 'unknown: no reason header';
  const atHeader = h?.get(DLQ_HEADERS.at) ?? '';
  const pointsHeader = h?.get(DLQ_HEADERS.points) ?? '';
  const points = /^\d+$/.test(pointsHeader) ? Number(pointsHeader) : undefined;
  const originalSeq = Number(h?.get(DLQ_HEADERS.seq) ?? '');
  return {
    dlqSeq: seq,
    partition,
    subject,
    originalSubject: h?.get(DLQ_HEADERS.subject) || `${cfg.SUBJECT_PREFIX}.${partition}`,
    originalSeq: Number.isSafeInteger(originalSeq) ? originalSeq : 0,
    reason,
    kind: reasonKind(reason),
    at: Number.isFinite(Date.parse(atHeader)) ? atHeader : new Date(storedMs).toISOString(),
    ...(points !== undefined ? { points } : {}),
    bytes,
    history: historyOf(h),
  };
}

function selects(e: DlqEntry, s: DlqSelection): boolean {
  if (s.partition !== undefined && e.partition !== s.partition) return false;
  if (s.reason !== undefined) {
    if (s.reason.includes(':') ? !e.reason.startsWith(s.reason) : e.kind !== s.reason) return false;
  }
  if (s.since !== undefined && Date.parse(e.at) < s.since.getTime()) return false;
  return true;
}

/**
 * Every selected dead letter in sequence order, read headers-only through an
 * ordered consumer (memory stays flat for any DLQ size). Stops at `untilSeq`
 * (default: the last sequence when the scan starts, so letters added meanwhile —
 * e.g. a replay that fails again — are not picked up by the same scan).
 */
export async function* scanDlq(jsm: JetStreamManager, cfg: DlqConfig, sel: DlqSelection & { untilSeq?: number } = {}): AsyncGenerator<DlqEntry> {
  const stream = dlqStreamName(cfg);
  const state = (await jsm.streams.info(stream)).state;
  const last = Math.min(sel.untilSeq ?? state.last_seq, state.last_seq);
  if (state.messages === 0 || last < state.first_seq) return;
  const startMs = sel.since ? sel.since.getTime() - SINCE_SKEW_MS : undefined;
  if (startMs !== undefined && Date.parse(state.last_ts) < startMs) return;
  if (sel.partition !== undefined) {
    // An empty filter would otherwise wait out a whole pull expiry.
    const subject = dlqSubject(cfg, sel.partition);
    const counts = (await jsm.streams.info(stream, { subjects_filter: subject })).state.subjects;
    if (!counts?.[subject]) return;
  }
  const consumer = await jsm.jetstream().consumers.get(stream, {
    headers_only: true,
    ...(sel.partition !== undefined ? { filterSubjects: dlqSubject(cfg, sel.partition) } : {}),
    ...(startMs !== undefined ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(startMs).toISOString() } : {}),
  });
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: SCAN_BATCH, expires: SCAN_EXPIRES_MS });
      let got = 0;
      let done = false;
      for await (const m of batch) {
        got++;
        if (m.seq > last) {
          done = true;
          break;
        }
        const size = Number(m.headers?.get('Nats-Msg-Size') ?? '');
        const e = entryOf(cfg, m.seq, m.subject, m.headers, Number.isFinite(size) ? size : 0, m.info.timestampNanos / 1e6);
        if (selects(e, sel)) yield e;
        if (m.info.pending === 0 || m.seq >= last) {
          done = true;
          break;
        }
      }
      if (done || got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

/** Selected dead letters, oldest first, at most `limit`. */
export async function listDlq(jsm: JetStreamManager, cfg: DlqConfig, opts: DlqSelection & { limit?: number } = {}): Promise<DlqEntry[]> {
  const out: DlqEntry[] = [];
  if (opts.limit !== undefined && opts.limit <= 0) return out;
  for await (const e of scanDlq(jsm, cfg, opts)) {
    out.push(e);
    if (opts.limit !== undefined && out.length >= opts.limit) break;
  }
  return out;
}

/** Errors of this module; branch on `code`. */
export const DLQ_ERROR = { notFound: 'DlqNotFound', ambiguousReplay: 'DlqAmbiguousReplay' } as const;

/** No message with that sequence in the DLQ (never existed, or replayed and deleted). */
export class DlqNotFoundError extends Error {
  override name = 'DlqNotFoundError';
  readonly code = DLQ_ERROR.notFound;
  constructor(
    readonly stream: string,
    readonly dlqSeq: number,
    options?: { cause?: unknown },
  ) {
    super(`no message ${dlqSeq} in ${stream}`, options);
  }
}

/** A replay was started before the duplicate window closed and may have been published: republishing could make a second copy. */
export class DlqAmbiguousReplayError extends Error {
  override name = 'DlqAmbiguousReplayError';
  readonly code = DLQ_ERROR.ambiguousReplay;
  constructor(
    readonly dlqSeq: number,
    readonly startedAt: string,
  ) {
    super(
      `replay of DLQ message ${dlqSeq} started at ${startedAt} was interrupted and may have been published; ` +
        'its duplicate window has passed, so it is not republished (force it to publish again; InfluxDB overwrites identical points)',
    );
  }
}

async function getStored(jsm: JetStreamManager, stream: string, seq: number): Promise<StoredMsg | undefined> {
  try {
    return await jsm.streams.getMessage(stream, { seq });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function storedEntry(cfg: DlqConfig, sm: StoredMsg): DlqEntry {
  return entryOf(cfg, sm.seq, sm.subject, sm.header, sm.data.byteLength, sm.time.getTime());
}

export type DlqPreview =
  | { type: 'batch'; origin: string; points: number; devices: number; first: Point[] }
  | { type: 'raw'; decodeError: string; hex: string; utf8: string; truncated: boolean };

export type DlqShowResult = DlqEntry & { preview: DlqPreview };

/** One dead letter with a preview: the first points when its data decodes as a batch, else the first bytes as hex and UTF-8. */
export async function showDlq(
  jsm: JetStreamManager,
  cfg: DlqConfig,
  seq: number,
  opts: { previewPoints?: number; previewBytes?: number } = {},
): Promise<DlqShowResult> {
  const stream = dlqStreamName(cfg);
  const sm = await getStored(jsm, stream, seq);
  if (!sm) throw new DlqNotFoundError(stream, seq);
  return { ...storedEntry(cfg, sm), preview: previewOf(sm.data, opts.previewPoints ?? 5, opts.previewBytes ?? 256) };
}

function previewOf(data: Uint8Array, nPoints: number, nBytes: number): DlqPreview {
  try {
    const b = decodeBatch(data);
    return { type: 'batch', origin: b.origin, points: b.points.length, devices: new Set(b.points.map((p) => p.device)).size, first: b.points.slice(0, nPoints) };
  } catch (err) {
    if (!(err instanceof BatchDecodeError)) throw err;
    const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, nBytes));
    return {
      type: 'raw',
      decodeError: err.message,
      hex: head.toString('hex'),
      // Control characters would garble a terminal; shown as U+FFFD.
      // eslint-disable-next-line no-control-regex
      utf8: head.toString('utf8').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd'),
      truncated: data.byteLength > nBytes,
    };
  }
}

/** What a replay did with one selected message. */
export type ReplayOutcome =
  | 'replayed' // published now and removed from the DLQ
  | 'would-replay' // dry run
  | 'already-replayed' // published by an earlier (interrupted) run or deduplicated by msg-id; removed now
  | 'not-found' // not in the DLQ (already replayed and deleted, or never there)
  | 'filtered' // an explicit sequence that does not match --reason/--since
  | 'in-progress' // another replay claimed it at the same moment
  | 'failed';

export interface ReplayItem {
  dlqSeq: number;
  outcome: ReplayOutcome;
  originalSubject?: string;
  kind?: string;
  /** Telemetry stream sequence of the replayed copy. */
  seq?: number;
  points?: number;
  error?: string;
}

export interface ReplayDlqOptions extends DlqSelection {
  /** Explicit DLQ sequences (still filtered by reason/since/partition when given). */
  seqs?: number[];
  dryRun?: boolean;
  /** Republish an interrupted replay whose duplicate window has passed (may make a second copy). */
  force?: boolean;
  /**
   * Test seams: called after the publish / after the KV record of each message.
   * An error thrown here aborts the whole run, like a crash at that point.
   */
  hooks?: { afterPublish?: (item: ReplayItem) => void | Promise<void>; afterRecord?: (item: ReplayItem) => void | Promise<void> };
}

export interface ReplayDlqResult {
  /** Published now (dry run: would be). */
  replayed: number;
  /** Not published: already replayed, gone, filtered out or claimed by a concurrent replay. */
  skipped: number;
  failed: number;
  /** Points in the replayed batches (decoded when the header is absent; 0 for undecodable data). */
  points: number;
  dryRun: boolean;
  items: ReplayItem[];
}

interface ReplayRecord {
  v: 1;
  state: 'pending' | 'published';
  dlqStream: string;
  dlqSeq: number;
  /** The DLQ message's server timestamp: tells this message from a later one at the same sequence (stream recreated). */
  storedAt: string;
  startedAt: string;
  subject: string;
  msgId: string;
  seq?: number;
  duplicate?: boolean;
  publishedAt?: string;
}

const KV_WRONG_LAST_SEQUENCE = 10_071;
function isKvConflict(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } })?.api_error?.err_code === KV_WRONG_LAST_SEQUENCE;
}
/** The server answered the publish with a refusal (stream full, wrong stream, no responders): nothing was stored. */
function isDefiniteRejection(err: unknown): boolean {
  const e = err as { api_error?: unknown; code?: string };
  return e?.api_error !== undefined || e?.code === '503';
}

/** The KV bucket of replay records, created idempotently. */
export async function replayBucket(js: JetStreamClient, cfg: Pick<Config, 'STREAM_REPLICAS'>): Promise<KV> {
  return js.views.kv(DLQ_REPLAY_BUCKET, { history: 1, replicas: cfg.STREAM_REPLICAS });
}

/**
 * Republishes each selected dead letter's data to its original subject with
 * `Telemetry-Replay-Of` and the history (its own dead-lettering appended), then
 * removes it from the DLQ; exactly once (see the module header). Messages are
 * processed one at a time, oldest first; a failure of one does not stop the others.
 */
export async function replayDlq(js: JetStreamClient, jsm: JetStreamManager, cfg: DlqConfig, opts: ReplayDlqOptions = {}): Promise<ReplayDlqResult> {
  const stream = dlqStreamName(cfg);
  const res: ReplayDlqResult = { replayed: 0, skipped: 0, failed: 0, points: 0, dryRun: opts.dryRun === true, items: [] };
  const seqs: number[] = [];
  if (opts.seqs) seqs.push(...[...new Set(opts.seqs)].sort((a, b) => a - b));
  else for await (const e of scanDlq(jsm, cfg, opts)) seqs.push(e.dlqSeq);
  if (!seqs.length) return res;

  const kv = opts.dryRun ? undefined : await replayBucket(js, cfg);
  const dupWindowNs = (await jsm.streams.info(cfg.STREAM_NAME)).config.duplicate_window;
  const dupWindowMs = dupWindowNs ? dupWindowNs / 1e6 : DUPLICATE_WINDOW_MS;

  for (const dlqSeq of seqs) {
    const item = await replayOne(dlqSeq);
    res.items.push(item);
    if (item.outcome === 'replayed' || item.outcome === 'would-replay') {
      res.replayed++;
      res.points += item.points ?? 0;
    } else if (item.outcome === 'failed') res.failed++;
    else res.skipped++;
  }
  return res;

  async function replayOne(dlqSeq: number): Promise<ReplayItem> {
    const item: ReplayItem = { dlqSeq, outcome: 'failed' };
    let sm: StoredMsg | undefined;
    try {
      sm = await getStored(jsm, stream, dlqSeq);
    } catch (err) {
      return { ...item, error: (err as Error).message };
    }
    if (!sm) return { ...item, outcome: 'not-found' };
    const entry = storedEntry(cfg, sm);
    Object.assign(item, { originalSubject: entry.originalSubject, kind: entry.kind, points: entry.points ?? countPoints(sm.data) });
    if (opts.seqs && !selects(entry, opts)) return { ...item, outcome: 'filtered' };
    // A partition that no longer exists (PARTITIONS_PER_TOPIC lowered) has no consumer: the copy would never be collected.
    const orig = entry.originalSubject.startsWith(`${cfg.SUBJECT_PREFIX}.`) ? Number(entry.originalSubject.slice(cfg.SUBJECT_PREFIX.length + 1)) : NaN;
    if (Number.isInteger(orig) && orig >= cfg.PARTITIONS_PER_TOPIC) {
      dlqMetrics.replayFailed.inc({ kind: entry.kind });
      return { ...item, error: `partition ${orig} no longer exists (PARTITIONS_PER_TOPIC=${cfg.PARTITIONS_PER_TOPIC}); re-ingest the source instead` };
    }
    if (!kv) return { ...item, outcome: 'would-replay' };

    const key = `${stream}.${dlqSeq}`;
    const msgId = replayMsgId(stream, dlqSeq);
    let revision: number;
    let claim: ReplayRecord;
    /** This run wrote the pending marker (a marker left by an interrupted run may mean the data was stored). */
    let fresh = false;
    try {
      const prev = await kv.get(key);
      const rec = prev && prev.operation === 'PUT' ? parseRecord(prev.json<unknown>()) : undefined;
      // A record of another message at the same sequence (DLQ stream recreated) is stale.
      const mine = rec && rec.storedAt === sm.timestamp ? rec : undefined;
      if (mine?.state === 'published') {
        await deleteFromDlq(dlqSeq);
        return { ...item, outcome: 'already-replayed', seq: mine.seq };
      }
      if (mine?.state === 'pending' && Date.now() - Date.parse(mine.startedAt) < dupWindowMs - DEDUP_SAFETY_MS) {
        // Republish under the same msg-id: the server drops it if the interrupted attempt was stored.
        claim = mine;
        revision = prev!.revision;
      } else if (mine?.state === 'pending' && !opts.force) {
        throw new DlqAmbiguousReplayError(dlqSeq, mine.startedAt);
      } else {
        claim = { v: 1, state: 'pending', dlqStream: stream, dlqSeq, storedAt: sm.timestamp, startedAt: new Date().toISOString(), subject: entry.originalSubject, msgId };
        try {
          revision = prev ? await kv.update(key, JSON.stringify(claim), prev.revision) : await kv.create(key, JSON.stringify(claim));
          fresh = true;
        } catch (err) {
          if (isKvConflict(err)) return { ...item, outcome: 'in-progress' };
          throw err;
        }
      }
    } catch (err) {
      dlqMetrics.replayFailed.inc({ kind: entry.kind });
      return { ...item, error: (err as Error).message };
    }

    const h = headers();
    h.set(DLQ_HEADERS.replayOf, String(dlqSeq));
    h.set(DLQ_HEADERS.history, historyHeader([...entry.history, { at: entry.at, reason: entry.reason, dlqSeq }]));
    let ack;
    try {
      ack = await js.publish(entry.originalSubject, sm.data, { headers: h, msgID: msgId, expect: { streamName: cfg.STREAM_NAME } });
    } catch (err) {
      // Refused: nothing stored, so the claim is released. Otherwise (timeout) it may be stored: the marker stays.
      if (fresh && isDefiniteRejection(err)) await kv.delete(key, { previousSeq: revision }).catch(() => undefined);
      dlqMetrics.replayFailed.inc({ kind: entry.kind });
      return { ...item, error: (err as Error).message };
    }
    item.seq = ack.seq;
    await opts.hooks?.afterPublish?.({ ...item });
    // Record, then delete. A failed record alone is harmless once the delete succeeds
    // (a rerun no longer finds the message); it only matters while the message is still there.
    let recordError: unknown;
    try {
      const done: ReplayRecord = { ...claim, state: 'published', seq: ack.seq, duplicate: ack.duplicate, publishedAt: new Date().toISOString() };
      await kv.update(key, JSON.stringify(done), revision);
    } catch (err) {
      if (!isKvConflict(err)) recordError = err; // conflict: a concurrent run recorded it first
    }
    if (recordError === undefined) await opts.hooks?.afterRecord?.({ ...item });
    try {
      await deleteFromDlq(dlqSeq);
    } catch (err) {
      dlqMetrics.replayFailed.inc({ kind: entry.kind });
      const why = [recordError, err].filter(Boolean).map((e) => (e as Error).message).join('; ');
      return { ...item, error: `published as ${cfg.STREAM_NAME} seq ${ack.seq} but not removed from ${stream} (rerun to finish): ${why}` };
    }
    if (ack.duplicate) return { ...item, outcome: 'already-replayed' };
    dlqMetrics.replayed.inc({ kind: entry.kind });
    return { ...item, outcome: 'replayed' };
  }

  async function deleteFromDlq(seq: number): Promise<void> {
    try {
      await jsm.streams.deleteMessage(stream, seq, false);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function countPoints(data: Uint8Array): number {
  try {
    return decodeBatch(data).points.length;
  } catch {
    return 0;
  }
}

function parseRecord(v: unknown): ReplayRecord | undefined {
  const r = v as Partial<ReplayRecord> | null;
  return r && r.v === 1 && (r.state === 'pending' || r.state === 'published') && typeof r.storedAt === 'string' && typeof r.startedAt === 'string'
    ? (r as ReplayRecord)
    : undefined;
}

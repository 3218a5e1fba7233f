/**
 * `telemetry-stack dlq list|show|replay` on a real nats-server (only NATS is
 * started): dead letters written with the collector's `dlqHeaders` — one
 * undecodable (`decode`), two batches of InfluxDB-rejected points
 * (`influx-data`) — are listed and filtered by reason and time, shown with a
 * decoded preview, and replayed exactly once: to their original subjects with
 * `Telemetry-Replay-Of` and the history, removed from the DLQ, nothing on a
 * second run, and exactly one copy when a run crashes between publish and
 * delete (at either side of the KV record) and is rerun.
 *
 * No collector runs: the telemetry stream keeps whatever is published to it
 * (interest retention, consumers exist), so its message count and last
 * sequence are exact evidence of how many copies were made.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection, type StoredMsg } from 'nats';
import { encodeBatch } from '../../../lib/stream/codec.ts';
import { dlqStreamName, dlqSubject, ensureTopology } from '../../../lib/stream/jetstream.ts';
import {
  DLQ_HEADERS,
  DLQ_REPLAY_BUCKET,
  DlqNotFoundError,
  dlqHeaders,
  dlqMsgId,
  historyOf,
  listDlq,
  replayDlq,
  replayMsgId,
  showDlq,
  type DlqHistoryEntry,
} from '../../../lib/stream/dlq.ts';
import type { Point } from '../../../lib/point.ts';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { runCliAsync } from '../../support/processes.ts';

let s: TestStack;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let dlq: string;

const NOW = Date.now();
const T0 = BigInt(Date.UTC(2025, 3, 1)) * 1_000_000n;
function points(device: string, n: number): Point[] {
  return Array.from({ length: n }, (_, i) => ({ device, ts: String(T0 + BigInt(i) * 1_000_000_000n), tags: { host: 'dlq-cli' }, fields: { temperature_c: 50 + i } }));
}
const garbage = Buffer.from('\u0000\u0001not a batch {{{ \u00ff');
const batchA = points('GPU-dlq-a', 3);
const batchB = points('GPU-dlq-b', 2);
const priorHistory: DlqHistoryEntry[] = [{ at: new Date(NOW - 86_400_000).toISOString(), reason: 'influx-data: unknown field on first try', dlqSeq: 99 }];

async function deadLetter(o: { partition: number; data: Uint8Array; reason: string; originalSeq: number; at: Date; points?: number; history?: DlqHistoryEntry[]; originalSubject?: string }): Promise<number> {
  const msgId = dlqMsgId(s.cfg.STREAM_NAME, o.originalSeq);
  const h = dlqHeaders({ reason: o.reason, originalSubject: o.originalSubject ?? `${s.cfg.SUBJECT_PREFIX}.${o.partition}`, originalSeq: o.originalSeq, points: o.points, history: o.history, msgId, at: o.at });
  return (await js.publish(dlqSubject(s.cfg, o.partition), o.data, { headers: h, msgID: msgId })).seq;
}
const telemetry = async () => (await jsm.streams.info(s.cfg.STREAM_NAME)).state;
const dlqSeqs = async () => (await listDlq(jsm, s.cfg)).map((e) => e.dlqSeq);
const cli = (...args: string[]) => runCliAsync(['dlq', ...args], s.env);
function assertReplayHeaders(m: StoredMsg, dlqSeq: number, expected: DlqHistoryEntry[]) {
  assert.equal(m.header.get(DLQ_HEADERS.replayOf), String(dlqSeq));
  assert.equal(m.header.get('Nats-Msg-Id'), replayMsgId(dlq, dlqSeq));
  assert.deepEqual(historyOf(m.header), expected);
}

let seq = { decode: 0, a: 0, b: 0 };

before(async () => {
  s = await startTestStack({ components: ['nats'], env: { PARTITIONS_PER_TOPIC: '2' } });
  nc = await connect({ servers: s.env.NATS_URL });
  jsm = await nc.jetstreamManager();
  js = nc.jetstream();
  await ensureTopology(jsm, s.cfg);
  dlq = dlqStreamName(s.cfg);
  seq = {
    decode: await deadLetter({ partition: 0, data: garbage, reason: 'decode: batch is not valid JSON: Unexpected token', originalSeq: 101, at: new Date(NOW - 3 * 3_600_000) }),
    a: await deadLetter({ partition: 1, data: encodeBatch('f:abc:1:0', batchA), reason: 'influx-data: partial write: field type conflict on temperature_c', originalSeq: 102, points: 3, history: priorHistory, at: new Date(NOW - 3_600_000) }),
    b: await deadLetter({ partition: 0, data: encodeBatch('f:abc:0:4', batchB), reason: 'influx-data: partial write: unknown field', originalSeq: 103, points: 2, at: new Date(NOW - 600_000) }),
  };
});
after(async () => {
  await nc?.close();
  await s?.stop();
});

describe('list', () => {
  test('--json: every entry from its headers, oldest first', async () => {
    const r = await cli('list', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json?.stream, dlq);
    assert.equal(r.json?.total, 3);
    assert.equal(r.json?.truncated, false);
    const entries = r.json?.entries as Record<string, unknown>[];
    assert.deepEqual(entries.map((e) => e.dlqSeq), [seq.decode, seq.a, seq.b]);
    assert.deepEqual(entries[1], {
      dlqSeq: seq.a,
      partition: 1,
      subject: dlqSubject(s.cfg, 1),
      originalSubject: `${s.cfg.SUBJECT_PREFIX}.1`,
      originalSeq: 102,
      reason: 'influx-data: partial write: field type conflict on temperature_c',
      kind: 'influx-data',
      at: new Date(NOW - 3_600_000).toISOString(),
      points: 3,
      bytes: encodeBatch('f:abc:1:0', batchA).byteLength,
      history: priorHistory,
    });
    assert.equal(entries[0]!.kind, 'decode');
    assert.equal(entries[0]!.points, undefined);
    assert.equal(entries[0]!.bytes, garbage.byteLength);
  });

  test('--reason and --since filter (by kind, by reason prefix, by the dead-lettering time)', async () => {
    const seqsOf = async (...args: string[]) => {
      const r = await cli('list', ...args, '--json');
      assert.equal(r.status, 0, r.stderr);
      return (r.json?.entries as { dlqSeq: number }[]).map((e) => e.dlqSeq);
    };
    assert.deepEqual(await seqsOf('--reason', 'influx-data'), [seq.a, seq.b]);
    assert.deepEqual(await seqsOf('--reason', 'decode'), [seq.decode]);
    assert.deepEqual(await seqsOf('--since', '2h'), [seq.a, seq.b]);
    assert.deepEqual(await seqsOf('--since', new Date(NOW - 1_800_000).toISOString()), [seq.b]);
    assert.deepEqual(await seqsOf('--reason', 'decode', '--since', '2h'), []);
    // In process: a reason prefix (contains ':'), a partition, a limit.
    assert.deepEqual((await listDlq(jsm, s.cfg, { reason: 'influx-data: partial write: unknown' })).map((e) => e.dlqSeq), [seq.b]);
    assert.deepEqual((await listDlq(jsm, s.cfg, { partition: 0 })).map((e) => e.dlqSeq), [seq.decode, seq.b]);
    assert.deepEqual((await listDlq(jsm, s.cfg, { limit: 1 })).map((e) => e.dlqSeq), [seq.decode]);
  });

  test('table output and option errors', async () => {
    const r = await cli('list', '--reason', 'influx-data');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /SEQ\s+P\s+KIND\s+AT\s+POINTS\s+REASON/);
    assert.match(r.stdout, new RegExp(`\\b${seq.a}\\s+1\\s+influx-data\\s+\\S+\\s+3\\s+partial write: field type conflict`));
    assert.match(r.stdout, /2 shown of 3 in TELEMETRY_DLQ/);
    const bad = await cli('list', '--since', 'yesterday');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /"yesterday" is neither an ISO 8601 time/);
  });
});

describe('show', () => {
  test('a batch decodes: origin, count and the first points', async () => {
    const r = await showDlq(jsm, s.cfg, seq.a, { previewPoints: 2 });
    assert.equal(r.kind, 'influx-data');
    assert.deepEqual(r.history, priorHistory);
    assert.deepEqual(r.preview, { type: 'batch', origin: 'f:abc:1:0', points: 3, devices: 1, first: batchA.slice(0, 2) });
  });

  test('raw bytes: hex and UTF-8 preview with the decode error (CLI --json)', async () => {
    const r = await cli('show', String(seq.decode), '--json');
    assert.equal(r.status, 0, r.stderr);
    const p = r.json?.preview as Record<string, unknown>;
    assert.equal(p.type, 'raw');
    assert.equal(p.hex, garbage.toString('hex'));
    assert.match(p.utf8 as string, /not a batch \{\{\{/);
    assert.match(p.decodeError as string, /not valid JSON/);
    const text = await cli('show', String(seq.b));
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /origin f:abc:0:4, 2 points, 1 devices/);
  });

  test('an unknown sequence is an error naming it', async () => {
    await assert.rejects(showDlq(jsm, s.cfg, 9_999), (e: unknown) => e instanceof DlqNotFoundError && e.dlqSeq === 9_999);
    const r = await cli('show', '9999');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no message 9999 in TELEMETRY_DLQ/);
  });
});

describe('replay', () => {
  test('refuses to run without a selection; --dry-run changes nothing', async () => {
    const none = await cli('replay');
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /say what to replay/);
    const dry = await cli('replay', '--all', '--dry-run', '--json');
    assert.equal(dry.status, 0, dry.stderr);
    assert.equal(dry.json?.dryRun, true);
    assert.equal(dry.json?.replayed, 3);
    assert.equal(dry.json?.points, 5);
    assert.deepEqual(await dlqSeqs(), [seq.decode, seq.a, seq.b]);
    assert.equal((await telemetry()).messages, 0);
  });

  test('--reason influx-data republishes exactly those to their original subjects, with history, and removes them', async () => {
    const r = await cli('replay', '--reason', 'influx-data', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json?.replayed, 2);
    assert.equal(r.json?.skipped, 0);
    assert.equal(r.json?.failed, 0);
    assert.equal(r.json?.points, 5);
    const items = r.json?.items as { dlqSeq: number; outcome: string; seq: number; originalSubject: string }[];
    assert.deepEqual(items.map((i) => [i.dlqSeq, i.outcome, i.originalSubject]), [
      [seq.a, 'replayed', `${s.cfg.SUBJECT_PREFIX}.1`],
      [seq.b, 'replayed', `${s.cfg.SUBJECT_PREFIX}.0`],
    ]);
    assert.deepEqual(await dlqSeqs(), [seq.decode], 'only the decode letter is left');

    const t = await telemetry();
    assert.equal(t.messages, 2);
    const ma = await jsm.streams.getMessage(s.cfg.STREAM_NAME, { seq: items[0]!.seq });
    assert.equal(ma.subject, `${s.cfg.SUBJECT_PREFIX}.1`);
    assert.deepEqual(Buffer.from(ma.data), Buffer.from(encodeBatch('f:abc:1:0', batchA)));
    assertReplayHeaders(ma, seq.a, [...priorHistory, { at: new Date(NOW - 3_600_000).toISOString(), reason: 'influx-data: partial write: field type conflict on temperature_c', dlqSeq: seq.a }]);
    const mb = await jsm.streams.getMessage(s.cfg.STREAM_NAME, { seq: items[1]!.seq });
    assert.equal(mb.subject, `${s.cfg.SUBJECT_PREFIX}.0`);
    assertReplayHeaders(mb, seq.b, [{ at: new Date(NOW - 600_000).toISOString(), reason: 'influx-data: partial write: unknown field', dlqSeq: seq.b }]);

    // The KV record of each replay (the audit trail, and what makes a rerun safe).
    const kv = await js.views.kv(DLQ_REPLAY_BUCKET);
    const rec = (await kv.get(`${dlq}.${seq.a}`))!.json<{ state: string; seq: number; subject: string }>();
    assert.deepEqual([rec.state, rec.seq, rec.subject], ['published', items[0]!.seq, `${s.cfg.SUBJECT_PREFIX}.1`]);
  });

  test('running it again replays nothing', async () => {
    const before = await telemetry();
    const r = await cli('replay', '--reason', 'influx-data', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual([r.json?.replayed, r.json?.skipped, r.json?.failed], [0, 0, 0]);
    // Naming the replayed sequences explicitly: gone, skipped.
    const again = await cli('replay', String(seq.a), String(seq.b), '--json');
    assert.deepEqual([again.json?.replayed, again.json?.skipped], [0, 2]);
    assert.deepEqual((again.json?.items as { outcome: string }[]).map((i) => i.outcome), ['not-found', 'not-found']);
    assert.deepEqual(await telemetry(), before);
  });

  test('a replayed batch that is dead-lettered again carries its whole history back', async () => {
    const copy = (await jsm.streams.getMessage(s.cfg.STREAM_NAME, { seq: (await telemetry()).first_seq }))!;
    // What the collector does with a batch InfluxDB rejects again.
    const h = dlqHeaders({ reason: 'influx-data: still rejected', originalSubject: copy.subject, originalSeq: copy.seq, points: 3, history: historyOf(copy.header), msgId: dlqMsgId(s.cfg.STREAM_NAME, copy.seq) });
    const again = (await js.publish(dlqSubject(s.cfg, 1), copy.data, { headers: h })).seq;
    const [entry] = await listDlq(jsm, s.cfg, { reason: 'influx-data: still' });
    assert.equal(entry!.dlqSeq, again);
    assert.deepEqual(entry!.history.map((e) => e.dlqSeq), [99, seq.a]);
    const r = await cli('list', '--reason', 'influx-data');
    assert.match(r.stdout, /still rejected \(dead-lettered 3×\)/);
    await jsm.streams.deleteMessage(dlq, again, false);
  });

  test('explicit sequences are still filtered; an unmatched one is skipped, not replayed', async () => {
    const r = await replayDlq(js, jsm, s.cfg, { seqs: [seq.decode], reason: 'influx-data' });
    assert.deepEqual([r.replayed, r.skipped, r.items[0]!.outcome], [0, 1, 'filtered']);
    assert.deepEqual(await dlqSeqs(), [seq.decode]);
  });

  test('crash between publish and KV record → rerun: exactly one copy (msg-id dedup)', async () => {
    const d = await deadLetter({ partition: 0, data: encodeBatch('crash:1', points('GPU-crash-1', 4)), reason: 'influx-data: crash test 1', originalSeq: 201, points: 4, at: new Date() });
    const before = await telemetry();
    const crash = new Error('simulated crash after publish');
    await assert.rejects(replayDlq(js, jsm, s.cfg, { seqs: [d], hooks: { afterPublish: () => { throw crash; } } }), (e) => e === crash);
    assert.equal((await telemetry()).last_seq, before.last_seq + 1, 'published once');
    assert.ok((await dlqSeqs()).includes(d), 'still in the DLQ');

    const r = await cli('replay', String(d), '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual([r.json?.replayed, r.json?.skipped, r.json?.failed], [0, 1, 0]);
    assert.equal((r.json?.items as { outcome: string }[])[0]!.outcome, 'already-replayed');
    const after = await telemetry();
    assert.equal(after.last_seq, before.last_seq + 1, 'no second copy');
    assert.equal(after.messages, before.messages + 1);
    assert.ok(!(await dlqSeqs()).includes(d), 'removed from the DLQ');
  });

  test('crash between KV record and delete → rerun: no publish at all, just the delete', async () => {
    const d = await deadLetter({ partition: 1, data: encodeBatch('crash:2', points('GPU-crash-2', 2)), reason: 'influx-data: crash test 2', originalSeq: 202, points: 2, at: new Date() });
    const before = await telemetry();
    const crash = new Error('simulated crash after record');
    await assert.rejects(replayDlq(js, jsm, s.cfg, { seqs: [d], hooks: { afterRecord: () => { throw crash; } } }), (e) => e === crash);
    const mid = await telemetry();
    assert.equal(mid.last_seq, before.last_seq + 1);
    const copy = await jsm.streams.getMessage(s.cfg.STREAM_NAME, { seq: mid.last_seq });
    assert.equal(copy.header.get(DLQ_HEADERS.replayOf), String(d));

    const r = await replayDlq(js, jsm, s.cfg, { reason: 'influx-data: crash test 2' });
    assert.deepEqual([r.replayed, r.skipped, r.items[0]!.outcome, r.items[0]!.seq], [0, 1, 'already-replayed', mid.last_seq]);
    assert.equal((await telemetry()).last_seq, mid.last_seq, 'nothing published on the rerun');
    assert.ok(!(await dlqSeqs()).includes(d));
  });

  test('an interrupted replay older than the duplicate window is reported, not republished, unless forced', async () => {
    const d = await deadLetter({ partition: 0, data: encodeBatch('crash:3', points('GPU-crash-3', 1)), reason: 'influx-data: crash test 3', originalSeq: 203, points: 1, at: new Date() });
    const crash = new Error('simulated crash after publish');
    await assert.rejects(replayDlq(js, jsm, s.cfg, { seqs: [d], hooks: { afterPublish: () => { throw crash; } } }), (e) => e === crash);
    const mid = await telemetry();
    // Age the pending marker past the 2-minute window (as if the rerun came much later).
    const kv = await js.views.kv(DLQ_REPLAY_BUCKET);
    const key = `${dlq}.${d}`;
    const e = (await kv.get(key))!;
    await kv.put(key, JSON.stringify({ ...e.json<Record<string, unknown>>(), startedAt: new Date(Date.now() - 10 * 60_000).toISOString() }));

    const r = await cli('replay', String(d), '--json');
    assert.equal(r.status, 1, 'a failed item makes the command fail');
    assert.deepEqual([r.json?.replayed, r.json?.failed], [0, 1]);
    assert.match((r.json?.items as { error: string }[])[0]!.error, /may have been published; its duplicate window has passed/);
    assert.ok((await dlqSeqs()).includes(d), 'left in the DLQ');
    assert.equal((await telemetry()).last_seq, mid.last_seq);

    // --force republishes (here the server's msg-id window is in fact still open, so it is deduplicated).
    const forced = await cli('replay', String(d), '--force', '--json');
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal((forced.json?.items as { outcome: string }[])[0]!.outcome, 'already-replayed');
    assert.equal((await telemetry()).last_seq, mid.last_seq);
    assert.ok(!(await dlqSeqs()).includes(d));
  });

  test('a letter of a partition that no longer exists is not replayed (nothing would collect it)', async () => {
    const d = await deadLetter({ partition: 1, data: encodeBatch('gone:5', points('GPU-gone', 1)), reason: 'influx-data: old layout', originalSeq: 301, points: 1, at: new Date(), originalSubject: `${s.cfg.SUBJECT_PREFIX}.5` });
    const before = await telemetry();
    const r = await replayDlq(js, jsm, s.cfg, { seqs: [d] });
    assert.deepEqual([r.replayed, r.failed], [0, 1]);
    assert.match(r.items[0]!.error!, /partition 5 no longer exists \(PARTITIONS_PER_TOPIC=2\)/);
    assert.equal((await telemetry()).last_seq, before.last_seq);
    assert.ok((await dlqSeqs()).includes(d));
    await jsm.streams.deleteMessage(dlq, d, false);
  });

  test('the decode letter replays by sequence (after a decoder fix), text output', async () => {
    const before = await telemetry();
    const r = await cli('replay', String(seq.decode));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${seq.decode}\\s+replayed\\s+→ ${s.cfg.SUBJECT_PREFIX.replace('.', '\\.')}\\.0 seq ${before.last_seq + 1}`));
    assert.match(r.stdout, /replayed 1 \(0 points\), skipped 0, failed 0/);
    const m = await jsm.streams.getMessage(s.cfg.STREAM_NAME, { seq: before.last_seq + 1 });
    assert.deepEqual(Buffer.from(m.data), garbage);
    assert.equal((await jsm.streams.info(dlq)).state.messages, 0);
    const empty = await cli('list');
    assert.match(empty.stdout, /0 shown of 0 in TELEMETRY_DLQ/);
  });
});

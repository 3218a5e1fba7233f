/**
 * The dead-letter wire contract without a server: what `dlqHeaders` writes,
 * `historyOf` reads back; malformed history never throws; reason kinds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { headers } from 'nats';
import {
  DLQ_HEADERS,
  HISTORY_MAX_ENTRIES,
  REASON_MAX_CHARS,
  dlqHeaders,
  dlqMsgId,
  historyOf,
  reasonKind,
  replayMsgId,
  type DlqHistoryEntry,
} from '../../../lib/stream/dlq.ts';

const AT = new Date('2025-04-01T12:00:00.000Z');

describe('dlqHeaders', () => {
  test('writes every header of the contract', () => {
    const h = dlqHeaders({ reason: 'influx-data: field type conflict', originalSubject: 'telemetry.p.2', originalSeq: 41, points: 3, msgId: dlqMsgId('TELEMETRY', 41), at: AT });
    assert.equal(h.get(DLQ_HEADERS.reason), 'influx-data: field type conflict');
    assert.equal(h.get(DLQ_HEADERS.subject), 'telemetry.p.2');
    assert.equal(h.get(DLQ_HEADERS.seq), '41');
    assert.equal(h.get(DLQ_HEADERS.at), '2025-04-01T12:00:00.000Z');
    assert.equal(h.get(DLQ_HEADERS.points), '3');
    assert.equal(h.get('Nats-Msg-Id'), 'dlq:TELEMETRY:41');
    assert.equal(h.has(DLQ_HEADERS.history), false, 'no history header for a first dead-lettering');
    assert.deepEqual(historyOf(h), []);
  });

  test('omits points when not given; defaults the time to now', () => {
    const before = Date.now();
    const h = dlqHeaders({ reason: 'decode: batch is not valid JSON', originalSubject: 'telemetry.p.0', originalSeq: 1, msgId: 'x' });
    assert.equal(h.has(DLQ_HEADERS.points), false);
    const at = Date.parse(h.get(DLQ_HEADERS.at));
    assert.ok(at >= before && at <= Date.now());
  });

  test('cuts the reason to 1,000 chars and flattens line breaks (header values cannot hold CR/LF)', () => {
    const long = dlqHeaders({ reason: `decode: ${'x'.repeat(5_000)}`, originalSubject: 's', originalSeq: 1, msgId: 'm' });
    assert.equal(long.get(DLQ_HEADERS.reason).length, REASON_MAX_CHARS);
    const multi = dlqHeaders({ reason: 'influx-data: line 1\r\nline 2\nline 3', originalSubject: 's', originalSeq: 1, msgId: 'm' });
    assert.equal(multi.get(DLQ_HEADERS.reason), 'influx-data: line 1 line 2 line 3');
  });

  test('history round trip: what a replayed batch carries comes back on its next dead-lettering', () => {
    const history: DlqHistoryEntry[] = [
      { at: '2025-03-30T10:00:00.000Z', reason: 'influx-data: unknown field', dlqSeq: 7 },
      { at: '2025-03-31T10:00:00.000Z', reason: 'decode: weird "quotes" and ünïcödé\nnewline' },
    ];
    const h = dlqHeaders({ reason: 'influx-data: again', originalSubject: 's', originalSeq: 9, history, msgId: 'm', at: AT });
    assert.deepEqual(historyOf(h), [history[0], { ...history[1], reason: 'decode: weird "quotes" and ünïcödé newline' }]);
    // The replay side writes the same header; the collector passes historyOf(msg.headers) back in.
    const again = dlqHeaders({ reason: 'influx-data: third time', originalSubject: 's', originalSeq: 10, history: historyOf(h), msgId: 'm2' });
    assert.deepEqual(historyOf(again), historyOf(h));
  });

  test('history is capped: the newest entries are kept, long reasons cut', () => {
    const history = Array.from({ length: HISTORY_MAX_ENTRIES + 5 }, (_, i) => ({ at: new Date(Date.UTC(2025, 0, 1 + i)).toISOString(), reason: `influx-data: ${'r'.repeat(500)}`, dlqSeq: i + 1 }));
    const got = historyOf(dlqHeaders({ reason: 'x: y', originalSubject: 's', originalSeq: 1, history, msgId: 'm' }));
    assert.equal(got.length, HISTORY_MAX_ENTRIES);
    assert.equal(got[0]!.dlqSeq, 6);
    assert.equal(got.at(-1)!.dlqSeq, HISTORY_MAX_ENTRIES + 5);
    assert.ok(got.every((e) => e.reason.length <= 200));
  });
});

describe('historyOf on malformed input', () => {
  const withHistory = (v: string) => {
    const h = headers();
    h.set(DLQ_HEADERS.history, v);
    return h;
  };
  test('no headers, no header, empty header → []', () => {
    assert.deepEqual(historyOf(undefined), []);
    assert.deepEqual(historyOf(headers()), []);
    assert.deepEqual(historyOf(withHistory('')), []);
  });
  for (const [what, raw] of [
    ['not JSON', '[{"at":'],
    ['an object', '{"at":"2025-01-01T00:00:00Z","reason":"x"}'],
    ['a string', '"decode: x"'],
    ['null', 'null'],
    ['a number', '42'],
  ] as const) {
    test(`${what} → []`, () => assert.deepEqual(historyOf(withHistory(raw)), []));
  }
  test('invalid entries are dropped, valid ones kept', () => {
    const raw = JSON.stringify([
      { at: '2025-01-01T00:00:00Z', reason: 'decode: a', dlqSeq: 3 },
      null,
      'text',
      [1, 2],
      { at: 5, reason: 'x' },
      { at: '2025-01-02T00:00:00Z' },
      { at: '2025-01-03T00:00:00Z', reason: 'x', dlqSeq: -1 },
      { at: '2025-01-03T00:00:00Z', reason: 'x', dlqSeq: '4' },
      { at: '2025-01-03T00:00:00Z', reason: 'x', dlqSeq: 1.5 },
      { at: '2025-01-04T00:00:00Z', reason: 'influx-data: b', extra: true },
    ]);
    assert.deepEqual(historyOf(withHistory(raw)), [
      { at: '2025-01-01T00:00:00Z', reason: 'decode: a', dlqSeq: 3 },
      { at: '2025-01-04T00:00:00Z', reason: 'influx-data: b' },
    ]);
  });
});

describe('reasonKind', () => {
  for (const [reason, kind] of [
    ['decode: batch is not valid JSON: Unexpected token', 'decode'],
    ['influx-data: partial write: field type conflict', 'influx-data'],
    ['max-deliver: failed 12 deliveries: timeout', 'max-deliver'],
    ['  influx-data  : spaced', 'influx-data'],
    ['no colon at all', 'no colon at all'],
    ['', 'unknown'],
    [': empty kind', 'unknown'],
  ] as const) {
    test(`${JSON.stringify(reason)} → ${kind}`, () => assert.equal(reasonKind(reason), kind));
  }
});

test('msg ids: one per original message (DLQ copy) and one per DLQ message (replay)', () => {
  assert.equal(dlqMsgId('TELEMETRY', 12), 'dlq:TELEMETRY:12');
  assert.equal(replayMsgId('TELEMETRY_DLQ', 3), 'replay:TELEMETRY_DLQ:3');
});

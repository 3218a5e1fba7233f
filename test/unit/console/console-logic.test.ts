/** The console's pure front-end logic: fleet filter/sort, the SSE parser, the chart buffer bound, formats. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { filterRows, sortRows, type FleetRowView } from '../../../console/src/fleet-model.ts';
import { MAX_SSE_LINE_CHARS, SseParser } from '../../../console/src/sse.ts';
import { MAX_CHART_POINTS, SeriesBuffer, nsToSeconds } from '../../../console/src/series-buffer.ts';
import { formatAgo, formatCompact, formatDuration, formatPct, shortHash } from '../../../console/src/format.ts';

const row = (device: string, health: FleetRowView['health'], over: Partial<FleetRowView> = {}): FleetRowView => ({
  device,
  model: 'NVIDIA H100',
  host: 'node-1',
  health,
  score: null,
  reasons: [],
  lastSeen: '2026-01-01T00:00:00Z',
  stale: false,
  openIncidents: 0,
  utilGpuPct: null,
  ...over,
});

describe('fleet model', () => {
  const rows = [
    row('GPU-b', 'healthy', { score: 0.1 }),
    row('GPU-a', 'critical', { score: 0.9, openIncidents: 1, reasons: ['xid 79'] }),
    row('GPU-c', 'degraded', { score: 0.5, host: 'node-2', model: 'NVIDIA A100' }),
    row('GPU-d', 'critical', { score: 0.95 }),
  ];
  test('health sort puts the worst first, then the highest score; ties by device', () => {
    assert.deepEqual(sortRows(rows, 'health', 'asc').map((r) => r.device), ['GPU-d', 'GPU-a', 'GPU-c', 'GPU-b']);
    assert.deepEqual(sortRows(rows, 'device', 'desc').map((r) => r.device), ['GPU-d', 'GPU-c', 'GPU-b', 'GPU-a']);
  });
  test('filter by class, text (device, host, model, reasons) and open incidents', () => {
    assert.deepEqual(filterRows(rows, { text: '', health: 'critical', onlyWithIncidents: false }).map((r) => r.device), ['GPU-a', 'GPU-d']);
    assert.deepEqual(filterRows(rows, { text: 'A100', health: 'all', onlyWithIncidents: false }).map((r) => r.device), ['GPU-c']);
    assert.deepEqual(filterRows(rows, { text: 'XID', health: 'all', onlyWithIncidents: false }).map((r) => r.device), ['GPU-a']);
    assert.deepEqual(filterRows(rows, { text: '', health: 'all', onlyWithIncidents: true }).map((r) => r.device), ['GPU-a']);
  });
  test('sorting does not mutate the input (the poll keeps its order)', () => {
    const before = rows.map((r) => r.device);
    sortRows(rows, 'score', 'asc');
    assert.deepEqual(rows.map((r) => r.device), before);
  });
});

describe('SSE parser', () => {
  test('events split across chunks, comments, CRLF, multi-line data, last id', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('retry: 2000\n: connected\n\nid: 7\nevent: po'), []);
    const out = p.push('ints\ndata: [1,\r\ndata: 2]\r\n\r\n: heartbeat\n\nid: 8\n: no matching points\n\n');
    assert.deepEqual(out, [{ id: '7', event: 'points', data: '[1,\n2]' }]);
    assert.equal(p.lastEventId, '8', 'an id without data still advances the resume point');
  });
  test('a stream without newlines is refused at the bound', () => {
    const p = new SseParser();
    assert.throws(() => p.push('x'.repeat(MAX_SSE_LINE_CHARS + 1)), /longer than/);
  });
});

describe('chart buffer', () => {
  test('history then live points; duplicates and out-of-order points ignored', () => {
    const b = new SeriesBuffer();
    b.setHistory([
      { time: '2026-01-01T00:00:00Z', value: 50 },
      { time: '2026-01-01T00:00:10Z', value: 51 },
    ]);
    assert.equal(b.push(Date.parse('2026-01-01T00:00:10Z') / 1000, 99), false);
    assert.equal(b.push(Date.parse('2026-01-01T00:00:11Z') / 1000, 52), true);
    assert.deepEqual(b.data()[1], [50, 51, 52]);
    assert.equal(b.last(), 52);
  });
  test(`bounded at MAX_CHART_POINTS (${MAX_CHART_POINTS}): the oldest go`, () => {
    const b = new SeriesBuffer();
    for (let i = 0; i < MAX_CHART_POINTS + 10; i++) b.push(i, i);
    assert.equal(b.length, MAX_CHART_POINTS);
    assert.equal(b.data()[0][0], 10);
  });
  test('ns timestamps to seconds, exactly at ms precision', () => {
    assert.equal(nsToSeconds('1767225600123456789'), 1767225600.123);
  });
});

describe('formats', () => {
  test('durations, counts, percentages, ages, hashes', () => {
    assert.equal(formatDuration(42), '42 s');
    assert.equal(formatDuration(600), '10 min');
    assert.equal(formatDuration(7200), '2.0 h');
    assert.equal(formatDuration(null), '–');
    assert.equal(formatCompact(1_234_567), '1.2 M');
    assert.equal(formatCompact(34_000), '34 k');
    assert.equal(formatCompact(0.52), '0.5');
    assert.equal(formatPct(97.25), '97.3 %');
    assert.equal(formatAgo('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:30Z')), '30 s ago');
    assert.equal(shortHash(`0x${'ab'.repeat(32)}`), '0xababab…ababab');
  });
});

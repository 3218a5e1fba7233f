/** The console's server-side views: fleet assembly and its bound, KPIs, incident timeline, health segments. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleFleet, incidentKpis, MAX_FLEET_ROWS, STALE_AFTER_MS, KPI_ALERT_WINDOW } from '../../../../api/console/fleet-view.ts';
import { classifyHistoryEvent, incidentTimeline, MAX_TIMELINE_ENTRIES, pagedPeople } from '../../../../api/console/incident-timeline.ts';
import { downsampleEverySeconds, healthSegments, MAX_HEALTH_SEGMENTS } from '../../../../api/console/health-segments.ts';
import type { AlertSummary } from '../../../../api/services.ts';
import type { AlertStateView } from '../../../../workflows/alert-messages.ts';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('fleet view', () => {
  test(`bounded at MAX_FLEET_ROWS (${MAX_FLEET_ROWS}); counts and KPIs still cover the whole fleet`, () => {
    const n = MAX_FLEET_ROWS + 7;
    const devices = Array.from({ length: n }, (_, i) => ({ device: `GPU-${String(i).padStart(5, '0')}`, tags: { host: `h${i % 10}`, model: 'H100' }, lastSeen: iso(NOW - 1_000) }));
    const health = new Map(devices.map((d, i) => [d.device, { class: i % 100 === 0 ? 'critical' : 'healthy', score: 0.1, reasons: '', time: iso(NOW) }]));
    const util = new Map(devices.map((d) => [d.device, 50]));
    const f = assembleFleet({ devices, health, utilGpuPct: util, alerts: [], ackAt: new Map(), pointsPerSecond: null, now: NOW, limit: MAX_FLEET_ROWS });
    assert.equal(f.rows.length, MAX_FLEET_ROWS);
    assert.equal(f.total, n);
    assert.equal(f.truncated, true);
    assert.equal(f.counts.critical + f.counts.healthy, n);
    assert.equal(f.counts.critical, Math.ceil(n / 100));
    assert.equal(f.kpis.utilisationPct, 50);
    assert.equal(f.kpis.availabilityPct, Math.round(((n - f.counts.critical) / n) * 1000) / 10);
  });
  test('stale devices are unavailable; unknown health without a line; open incidents per device', () => {
    const alerts: AlertSummary[] = [
      { id: 'a1', device: 'GPU-1', status: 'firing', workflowStatus: 'RUNNING', startedAt: iso(NOW - 60_000) },
      { id: 'a2', device: 'GPU-1', status: 'resolved', workflowStatus: 'COMPLETED', startedAt: iso(NOW - 600_000), closedAt: iso(NOW - 300_000) },
    ];
    const f = assembleFleet({
      devices: [
        { device: 'GPU-1', tags: {}, lastSeen: iso(NOW) },
        { device: 'GPU-2', tags: {}, lastSeen: iso(NOW - STALE_AFTER_MS - 1) },
      ],
      health: new Map([['GPU-1', { class: 'degraded', score: 0.6, reasons: 'temp,power', time: iso(NOW) }]]),
      utilGpuPct: new Map(),
      alerts,
      ackAt: new Map(),
      pointsPerSecond: 12.345,
      now: NOW,
      limit: 10,
    });
    assert.deepEqual(f.rows.map((r) => [r.device, r.health, r.stale, r.openIncidents]), [
      ['GPU-1', 'degraded', false, 1],
      ['GPU-2', 'unknown', true, 0],
    ]);
    assert.deepEqual(f.rows[0]!.reasons, ['temp', 'power']);
    assert.equal(f.kpis.availabilityPct, 50);
    assert.equal(f.kpis.utilisationPct, null);
    assert.equal(f.kpis.pointsPerSecond, 12.3);
    assert.equal(f.kpis.openIncidents, 1);
  });
  test('MTBI, MTTR and MTTA from the alert window', () => {
    const a = (id: string, startS: number, closeS?: number): AlertSummary => ({ id, workflowStatus: closeS ? 'COMPLETED' : 'RUNNING', startedAt: iso(NOW + startS * 1000), closedAt: closeS ? iso(NOW + closeS * 1000) : undefined });
    const k = incidentKpis([a('c', 600), a('b', 300, 900), a('a', 0, 120)], new Map([['a', iso(NOW + 30_000)], ['b', iso(NOW + 330_000)]]));
    assert.deepEqual(k, { mtbiS: 300, mttrS: 360, mttaS: 30 });
    assert.deepEqual(incidentKpis([], new Map()), { mtbiS: null, mttrS: null, mttaS: null });
    const many = Array.from({ length: KPI_ALERT_WINDOW + 50 }, (_, i) => a(`x${i}`, -i * 10));
    assert.equal(incidentKpis(many, new Map()).mtbiS, 10, 'only the window counts');
  });
});

describe('incident timeline', () => {
  const base: AlertStateView = {
    alert: { alertId: 'x', device: 'GPU-1', rule: 'temp', severity: 'critical', summary: 'temperature_c 97 > 90', host: 'h', model: 'm', values: {}, firedAt: '2026-01-01T00:00:00.000Z' },
    status: 'acknowledged',
    level: 1,
    repeats: 0,
    history: [
      { at: '2026-01-01T00:00:00.100Z', event: 'raised: temperature_c 97 > 90' },
      { at: '2026-01-01T00:00:00.200Z', event: 'on call at level 0: gpu-primary → alice' },
      { at: '2026-01-01T00:05:00.000Z', event: 'escalated to level 1 (secondary)' },
      { at: '2026-01-01T00:06:00.000Z', event: 'acknowledged by key:ops via api' },
    ],
    raisedReceipt: { txHash: '0xraise', blockNumber: 5, alreadyRecorded: false },
    ack: { by: 'key:ops', via: 'api', at: '2026-01-01T00:06:00.000Z', receipt: { txHash: '0xack', blockNumber: 9, alreadyRecorded: false } },
    oncall: { level: 0, at: '2026-01-01T00:00:00.200Z', people: [{ schedule: 'gpu-primary', person: 'alice', source: 'layer' }] },
  } as AlertStateView;
  test('raised, page, level, ack in order, with their chain transactions', () => {
    const t = incidentTimeline(base);
    assert.deepEqual(t.map((e) => e.kind), ['raised', 'page', 'level', 'ack']);
    assert.equal(t[0]!.txHash, '0xraise');
    assert.equal(t[3]!.txHash, '0xack');
    assert.equal(t[3]!.block, 9);
    assert.deepEqual(pagedPeople(base), ['alice (gpu-primary)']);
  });
  test('a resolve without a history line still appears; bounded at MAX_TIMELINE_ENTRIES', () => {
    const s = { ...base, resolved: { by: 'bob', at: '2026-01-01T01:00:00.000Z', reason: 'fixed', receipt: { txHash: '0xres', blockNumber: 12, alreadyRecorded: false } } } as AlertStateView;
    const t = incidentTimeline(s);
    assert.equal(t.at(-1)!.kind, 'resolve');
    assert.equal(t.at(-1)!.txHash, '0xres');
    const flappy = { ...base, history: Array.from({ length: MAX_TIMELINE_ENTRIES + 100 }, (_, i) => ({ at: iso(NOW + i * 1000), event: `firing again at ${i}` })) } as AlertStateView;
    assert.equal(incidentTimeline(flappy).length, MAX_TIMELINE_ENTRIES);
  });
  test('the workflow wording classifies', () => {
    assert.equal(classifyHistoryEvent('snoozed by key:ops for 1h'), 'snooze');
    assert.equal(classifyHistoryEvent('silenced by bob until …'), 'silence');
    assert.equal(classifyHistoryEvent('recovered at 2026-01-01T00:00:00Z'), 'recovered');
    assert.equal(classifyHistoryEvent('resolved by bob: fixed'), 'resolve');
    assert.equal(classifyHistoryEvent('ledger ack failed: timeout'), 'ledger');
    assert.equal(classifyHistoryEvent('escalation exhausted at level 2 (x)'), 'level');
  });
});

describe('health segments', () => {
  test('consecutive samples of one class merge; reasons and worst score kept', () => {
    const s = healthSegments([
      { time: 't1', class: 'healthy', score: 0.1, reasons: '' },
      { time: 't2', class: 'healthy', score: 0.2, reasons: '' },
      { time: 't3', class: 'critical', score: 0.9, reasons: 'xid 79' },
      { time: 't4', class: 'critical', score: 0.95, reasons: 'xid 79,ecc_dbe' },
      { time: 't5', class: 'healthy', score: 0.1, reasons: '' },
    ]);
    assert.deepEqual(s, [
      { from: 't1', to: 't2', class: 'healthy', maxScore: 0.2, reasons: [] },
      { from: 't3', to: 't4', class: 'critical', maxScore: 0.95, reasons: ['xid 79', 'ecc_dbe'] },
      { from: 't5', to: 't5', class: 'healthy', maxScore: 0.1, reasons: [] },
    ]);
  });
  test(`bounded at MAX_HEALTH_SEGMENTS (${MAX_HEALTH_SEGMENTS}), newest kept`, () => {
    const samples = Array.from({ length: MAX_HEALTH_SEGMENTS * 2 + 1 }, (_, i) => ({ time: `t${i}`, class: i % 2 ? 'degraded' : 'healthy', score: 0, reasons: '' }));
    const s = healthSegments(samples);
    assert.equal(s.length, MAX_HEALTH_SEGMENTS);
    assert.equal(s.at(-1)!.from, `t${MAX_HEALTH_SEGMENTS * 2}`);
  });
  test('aggregateWindow width: about `points` windows, whole seconds, at least 1 s', () => {
    assert.equal(downsampleEverySeconds(0, 3_600_000, 600), 6);
    assert.equal(downsampleEverySeconds(0, 60_000, 600), 1);
    assert.equal(downsampleEverySeconds(0, 86_400_000, 1000), 87);
  });
});

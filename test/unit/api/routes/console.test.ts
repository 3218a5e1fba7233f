/**
 * The console's routes through app.inject: the session's scopes, every read
 * answering its declared schema, the snooze action's scope and identity, the
 * signed-link view, and the static console (CSP, pre-compressed assets, 503
 * without a build). The console service is an in-memory stand-in; the real
 * one runs against real servers in test/e2e/console.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { register } from 'prom-client';
import { buildApp } from '../../../../api/app.ts';
import type { ConsoleService } from '../../../../api/console/console-service.ts';
import { assembleFleet } from '../../../../api/console/fleet-view.ts';
import { CONSOLE_CSP } from '../../../../api/console/static.ts';
import { MAX_PAGED_LOOKUPS } from '../../../../api/console/wire.ts';
import { signAckToken } from '../../../../lib/notify/ack-token.ts';
import { DEV_NOTIFY_ACK_SECRET } from '../../../../lib/notify/ack-secret.ts';
import { KEYS, auth, makeServices, testConfig } from '../fakes.ts';
// @ts-expect-error plain JS build script (scripts/*.mjs), no types
import { buildConsole } from '../../../../scripts/build-console.mjs';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const fakeConsole: ConsoleService = {
  async fleet(limit) {
    return assembleFleet({
      devices: [{ device: 'GPU-aaa', tags: { host: 'node-01', model: 'H100' }, lastSeen: new Date(NOW).toISOString() }],
      health: new Map([['GPU-aaa', { class: 'critical', score: Number.NaN, reasons: 'xid 79', time: '' }]]),
      utilGpuPct: new Map(),
      alerts: [],
      ackAt: new Map(),
      pointsPerSecond: null,
      now: NOW,
      limit,
    });
  },
  async history({ device, fields, from, to }) {
    return { device, everySeconds: 6, from, to, series: fields.map((field) => ({ field, points: [{ time: from, value: 1 }] })) };
  },
  async deviceHealth({ device }) {
    return { device, segments: [], latest: null, signals: [{ field: 'xid', value: 79, time: '2026-01-01T00:00:00Z' }] };
  },
  async pipeline() {
    return { partitions: [], stream: { messages: 1, bytes: 2 }, dlq: null, workers: [], pointsWritten: 0, pointsPerSecond: null, temporalUi: null, generatedAt: new Date(NOW).toISOString() };
  },
  workflowUrl: (id) => `http://ui.test/namespaces/telemetry/workflows/${id}`,
};

let app: FastifyInstance;
let services: ReturnType<typeof makeServices>;
let built: string;

before(async () => {
  built = mkdtempSync(join(tmpdir(), 'console-build-'));
  await buildConsole({ out: built, force: true });
  services = makeServices();
  app = await buildApp({ cfg: testConfig({ CONSOLE_DIR: built }), services: { ...services, console: fakeConsole }, logger: false });
  await app.ready();
});
after(async () => {
  await app?.close();
  rmSync(built, { recursive: true, force: true });
});

describe('console routes', () => {
  test('session: name, identity and whether the key may acknowledge', async () => {
    const ro = await app.inject({ url: '/v1/console/session', headers: auth(KEYS.read) });
    assert.equal(ro.statusCode, 200);
    assert.equal(ro.json().canAck, false);
    assert.deepEqual(ro.json().scopes, ['read']);
    const admin = await app.inject({ url: '/v1/console/session', headers: auth(KEYS.admin) });
    assert.equal(admin.json().canAck, true);
    assert.equal((await app.inject({ url: '/v1/console/session' })).statusCode, 401);
  });
  test('fleet answers its schema (a NaN score becomes null)', async () => {
    const r = await app.inject({ url: '/v1/console/fleet', headers: auth(KEYS.read) });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().rows[0].score, null);
    assert.equal(r.json().counts.critical, 1);
    assert.equal((await app.inject({ url: '/v1/console/fleet?limit=0', headers: auth(KEYS.read) })).statusCode, 400);
  });
  test('history validates fields and the range', async () => {
    const ok = await app.inject({ url: '/v1/console/devices/GPU-aaa/history?fields=temperature_c,power_w', headers: auth(KEYS.read) });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json().series.map((s: { field: string }) => s.field), ['temperature_c', 'power_w']);
    const bad = await app.inject({ url: '/v1/console/devices/GPU-aaa/history?fields=temp;drop', headers: auth(KEYS.read) });
    assert.equal(bad.statusCode, 400);
    const nine = await app.inject({ url: `/v1/console/devices/GPU-aaa/history?fields=${Array.from({ length: 9 }, (_, i) => `f${i}`).join(',')}`, headers: auth(KEYS.read) });
    assert.equal(nine.statusCode, 400, 'more than MAX_HISTORY_FIELDS');
    assert.match(nine.json().message, /at most 8/);
    // A backwards window holds nothing ("from before to" is not a rule the document can state): empty, not 400.
    const backwards = await app.inject({ url: '/v1/console/devices/GPU-aaa/history?fields=power_w&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', headers: auth(KEYS.read) });
    assert.equal(backwards.statusCode, 200, backwards.body);
    assert.deepEqual(backwards.json().series, [{ field: 'power_w', points: [] }]);
    for (const from of ['2020', '0.5', 'yesterday', '2026-01-01T00:00:00'])
      assert.equal((await app.inject({ url: `/v1/console/devices/GPU-aaa/history?fields=power_w&from=${from}`, headers: auth(KEYS.read) })).statusCode, 400, `not RFC 3339 with offset: ${from}`);
    // No stored id holds a control character: "nothing", without asking the store.
    const ctl = await app.inject({ url: '/v1/console/devices/GPU%01/health', headers: auth(KEYS.read) });
    assert.equal(ctl.statusCode, 200, ctl.body);
    assert.deepEqual(ctl.json(), { device: 'GPU\u0001', segments: [], latest: null, signals: [] });
    const ctlHistory = await app.inject({ url: '/v1/console/devices/GPU%0A/history?fields=power_w', headers: auth(KEYS.read) });
    assert.deepEqual(ctlHistory.json().series, [{ field: 'power_w', points: [] }]);
  });
  test('history: `fields` is documented as a comma-separated array of at most 8 (maxItems), with a 400', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json();
    const op = doc.paths['/v1/console/devices/{id}/history'].get;
    const fields = op.parameters.find((p: { name: string }) => p.name === 'fields');
    assert.equal(fields.schema.type, 'array');
    assert.equal(fields.schema.maxItems, 8);
    assert.equal(fields.explode, false, 'fields=a,b — what the console sends');
    assert.ok(op.responses['400'], 'the 400 is declared');
    const from = op.parameters.find((p: { name: string }) => p.name === 'from');
    assert.equal(from.schema.format, 'date-time');
    const incidents = doc.paths['/v1/console/incidents'].get.parameters.find((p: { name: string }) => p.name === 'device');
    assert.equal(incidents.schema.pattern, undefined, 'no pattern schemathesis cannot generate from');
  });
  test('incidents: a device with a control character is a valid question answered "none"', async () => {
    const r = await app.inject({ url: '/v1/console/incidents?device=GPU%00x', headers: auth(KEYS.read) });
    assert.equal(r.statusCode, 200, r.body);
  });
  test('incident timeline: 404 for an unknown alert, the timeline for a known one', async () => {
    assert.equal((await app.inject({ url: '/v1/console/incidents/nope/timeline', headers: auth(KEYS.read) })).statusCode, 404);
    services.alerts.add('alert-1', 'firing');
    const st = services.alerts.alerts.get('alert-1')!.state;
    Object.assign(st, { alert: { alertId: 'alert-1', device: 'GPU-aaa', rule: 'temp', severity: 'critical', summary: 'hot', values: {}, firedAt: '2026-01-01T00:00:00Z' }, history: [{ at: '2026-01-01T00:00:00Z', event: 'raised: hot' }] });
    const r = await app.inject({ url: '/v1/console/incidents/alert-1/timeline', headers: auth(KEYS.read) });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().entries[0].kind, 'raised');
    assert.equal(r.json().temporalUrl, 'http://ui.test/namespaces/telemetry/workflows/alert-1');
  });
  test("snooze: refused to a read-only key, recorded as the key's identity otherwise", async () => {
    services.alerts.add('alert-2', 'firing');
    const ro = await app.inject({ method: 'POST', url: '/v1/alerts/alert-2/snooze', headers: auth(KEYS.read), payload: { duration: '1h' } });
    assert.equal(ro.statusCode, 403);
    assert.equal(services.alerts.snoozeCalls.length, 0);
    const bad = await app.inject({ method: 'POST', url: '/v1/alerts/alert-2/snooze', headers: auth(KEYS.ack), payload: { duration: 'forever' } });
    assert.equal(bad.statusCode, 400);
    const ok = await app.inject({ method: 'POST', url: '/v1/alerts/alert-2/snooze', headers: auth(KEYS.ack), payload: { duration: '30m' } });
    assert.equal(ok.statusCode, 202, ok.body);
    assert.deepEqual(services.alerts.snoozeCalls, [{ id: 'alert-2', by: ok.json().by, duration: '30m' }]);
    assert.match(ok.json().by, /^key:/);
  });
  test('signed link: the incident for a valid token; 401 forged, 410 expired', async () => {
    services.alerts.add('alert-3', 'firing');
    Object.assign(services.alerts.alerts.get('alert-3')!.state, { alert: { alertId: 'alert-3', device: 'GPU-aaa', rule: 'temp', severity: 'critical', summary: 'hot', values: {}, firedAt: '2026-01-01T00:00:00Z' } });
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = signAckToken(DEV_NOTIFY_ACK_SECRET, { alertId: 'alert-3', via: 'email', target: 'oncall@example.test', expiresAtS: exp });
    const ok = await app.inject({ url: `/v1/console/link?token=${encodeURIComponent(token)}` });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().incident.id, 'alert-3');
    assert.equal(ok.json().target, 'oncall@example.test');
    const forged = signAckToken('another-key-000000000000000000000000', { alertId: 'alert-3', via: 'email', target: 'x', expiresAtS: exp });
    const counted = async () => (await register.getSingleMetric('telemetry_notify_ack_rejected_total')!.get()).values.find((v) => v.labels.problem === 'bad_signature')?.value ?? 0;
    const before = await counted();
    assert.equal((await app.inject({ url: `/v1/console/link?token=${encodeURIComponent(forged)}` })).statusCode, 401);
    assert.equal(await counted(), before + 1, 'a refused link is counted');
    const old = signAckToken(DEV_NOTIFY_ACK_SECRET, { alertId: 'alert-3', via: 'email', target: 'x', expiresAtS: 1_000 });
    assert.equal((await app.inject({ url: `/v1/console/link?token=${encodeURIComponent(old)}` })).statusCode, 410);
  });
  test(`incidents: open first, who is paged for the open ones, bounded at MAX_PAGED_LOOKUPS (${MAX_PAGED_LOOKUPS})`, async () => {
    const before = new Set(services.alerts.alerts.keys());
    for (let i = 0; i < MAX_PAGED_LOOKUPS + 5; i++) {
      const id = `storm-${i}`;
      services.alerts.add(id, 'firing');
      Object.assign(services.alerts.alerts.get(id)!.state, {
        alert: { alertId: id, device: 'GPU-aaa', rule: 'temp', severity: 'critical', summary: 'hot', values: {}, firedAt: '2026-01-01T00:00:00Z' },
        slack: { channel: 'C0ALERTS', ts: '1.2' },
      });
    }
    services.alerts.add('closed-1', 'resolved');
    services.alerts.alerts.get('closed-1')!.summary.workflowStatus = 'COMPLETED';
    const r = await app.inject({ url: '/v1/console/incidents?limit=500', headers: auth(KEYS.read) });
    assert.equal(r.statusCode, 200, r.body);
    const rows = r.json().incidents as { id: string; open: boolean; paged: string[] | null }[];
    assert.equal(r.json().openLookedUp, MAX_PAGED_LOOKUPS);
    assert.equal(rows.at(-1)!.id, 'closed-1', 'closed last');
    const storm = rows.filter((x) => x.id.startsWith('storm-'));
    assert.equal(storm.filter((x) => x.paged !== null).length, MAX_PAGED_LOOKUPS - [...before].filter((id) => rows.find((x) => x.id === id)?.open).length);
    assert.deepEqual(storm.find((x) => x.paged)!.paged, ['slack:C0ALERTS']);
    for (const id of services.alerts.alerts.keys()) if (!before.has(id)) services.alerts.alerts.delete(id);
  });
  test('the OpenAPI document lists the console routes with response schemas', async () => {
    const doc = (await app.inject({ url: '/docs/json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    for (const p of ['/v1/console/incidents', '/v1/console/fleet', '/v1/console/pipeline', '/v1/console/session', '/v1/console/devices/{id}/history', '/v1/console/incidents/{id}/timeline'])
      assert.ok(doc.paths[p]?.get?.responses['200'], `${p} documents its 200 answer`);
    assert.equal(doc.paths['/'], undefined, 'static files are not API routes');
  });
});

describe('static console', () => {
  test('index at / with a same-origin CSP; hashed assets pre-compressed and cached', async () => {
    const index = await app.inject({ url: '/' });
    assert.equal(index.statusCode, 200);
    assert.match(index.headers['content-type'] as string, /text\/html/);
    assert.equal(index.headers['content-security-policy'], CONSOLE_CSP);
    assert.equal(index.headers['cache-control'], 'no-cache');
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(index.body)![1]!;
    const asset = await app.inject({ url: js, headers: { 'accept-encoding': 'br, gzip' } });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['content-encoding'], 'br');
    assert.match(asset.headers['cache-control'] as string, /immutable/);
    assert.equal((await app.inject({ url: '/v1/nothing-here', headers: auth(KEYS.read) })).statusCode, 404, 'unknown API paths stay 404');
  });
  test('without a build, / says how to build it (503)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'console-none-'));
    const bare = await buildApp({ cfg: testConfig({ CONSOLE_DIR: empty }), services: makeServices(), logger: false });
    try {
      const r = await bare.inject({ url: '/' });
      assert.equal(r.statusCode, 503);
      assert.match(r.body, /build-console\.mjs/);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

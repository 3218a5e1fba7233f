/**
 * The collector's per-device state on a real nats-server: one KV record per
 * device, loaded per partition, written with compare-and-set, pruned and
 * bounded. (The end-to-end fleet test is fleet-scale.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { ensureTopology, STATE_BUCKET } from '../../../lib/stream/jetstream.ts';
import { CollectorStateStore, StateConflictError, deviceKey, partitionKey } from '../../../activities/collect/collector-state.ts';
import { createRuleEngine, parseAlertRules } from '../../../lib/alerts/rules.ts';
import { newBaseline } from '../../../activities/health/features.ts';
import { msToNs } from '../../../lib/point.ts';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';

let s: TestStack;
let nc: NatsConnection;
const T0 = Date.UTC(2026, 0, 1);

before(async () => {
  s = await startTestStack({ components: ['nats'] });
  nc = await connect({ servers: s.stack.endpoints.nats!.url });
  await ensureTopology(await nc.jetstreamManager(), s.cfg);
});
after(async () => {
  await nc?.close();
  await s?.stop();
});

const engine = createRuleEngine(
  parseAlertRules({
    rules: [
      { name: 'hot', kind: 'threshold', severity: 'warning', field: 'temperature_c', op: '>', value: 85, for: '10s' },
      { name: 'rise', kind: 'rate', severity: 'warning', field: 'temperature_c', op: '>', value: 5, window: '2m' },
      { name: 'no-data', kind: 'absence', severity: 'critical', for: '2m' },
    ],
  }),
);

function batch(devices: string[], sec: number) {
  return devices.map((device) => ({ point: { device, ts: msToNs(T0 + sec * 1_000), tags: { host: 'h1', model: 'NVIDIA H100 80GB HBM3' }, fields: { temperature_c: 60 + (sec % 7) } }, arrivedMs: T0 + sec * 1_000 }));
}

test('one record per device, reloaded by a fresh process exactly as written; any string is a device id', async () => {
  const devices = ['GPU-aaaa', '__proto__', 'host a/0 ünïcode', 'x'.repeat(400)];
  const a = new CollectorStateStore(nc.jetstream(), () => true);
  const st = await a.get(1);
  assert.equal(st.size, 0);
  const out = engine.apply(st.rules, batch(devices, 0), T0);
  for (const d of out.touched) st.markDirty(d);
  for (const d of devices) {
    st.baselines.set(d, { ...newBaseline(), n: 1, tempMean: 60 });
    st.markDirty(d);
  }
  st.markPartitionDirty();
  const w = await st.flush(await a.kv());
  assert.equal(w.written, devices.length + 1);

  const b = new CollectorStateStore(nc.jetstream(), () => true);
  const again = await b.get(1);
  assert.equal(again.size, devices.length);
  for (const d of devices) {
    assert.deepEqual(again.rules.devices.get(d), st.rules.devices.get(d), d);
    assert.equal(again.baselines.get(d)?.tempMean, 60);
  }
  assert.equal((await b.get(2)).size, 0, 'partition 2 sees none of partition 1');
  const kv = await nc.jetstream().views.kv(STATE_BUCKET);
  assert.ok(await kv.get(partitionKey(1)));
  // Keys are KV-safe whatever the id; a long id is hashed, and the record still names its device.
  const long = await kv.get(deviceKey(1, 'x'.repeat(400)));
  assert.match(deviceKey(1, 'x'.repeat(400)), /^d\.1\.=[0-9a-f]{64}$/);
  assert.equal(long!.json<{ device: string }>().device, 'x'.repeat(400));
});

test('compare-and-set: a stale writer cannot overwrite newer state', async () => {
  const a = new CollectorStateStore(nc.jetstream(), () => true);
  const b = new CollectorStateStore(nc.jetstream(), () => true);
  const sa = await a.get(3);
  engine.apply(sa.rules, batch(['GPU-cas'], 0), T0);
  sa.markDirty('GPU-cas');
  await sa.flush(await a.kv());

  // Both load revision r1; b writes first (the newer attempt); a's write must fail, not win.
  const sa2 = await new CollectorStateStore(nc.jetstream(), () => true).get(3);
  const sb = await b.get(3);
  engine.apply(sb.rules, batch(['GPU-cas'], 10), T0 + 10_000);
  sb.markDirty('GPU-cas');
  await sb.flush(await b.kv());
  engine.apply(sa2.rules, batch(['GPU-cas'], 5), T0 + 5_000);
  sa2.markDirty('GPU-cas');
  await assert.rejects(sa2.flush(await a.kv()), (e) => e instanceof StateConflictError && e.partition === 3);

  const fresh = await new CollectorStateStore(nc.jetstream(), () => true).get(3);
  assert.equal(fresh.rules.devices.get('GPU-cas')!.lastUs, (T0 + 10_000) * 1_000, 'the newer write survived');
});

test('bounded: devices silent past the retention are pruned, and at most maxDevices are kept (the longest-silent go first)', async () => {
  const store = new CollectorStateStore(nc.jetstream(), () => true);
  const st = await store.get(4);
  const kv = await store.kv();
  const old = Array.from({ length: 50 }, (_, i) => `old-${i}`);
  const live = Array.from({ length: 300 }, (_, i) => `live-${i}`);
  for (const d of engine.apply(st.rules, batch(old, 0), T0).touched) st.markDirty(d);
  for (const d of engine.apply(st.rules, batch(live.slice(0, 100), 3_000), T0 + 3_000_000).touched) st.markDirty(d);
  for (const d of engine.apply(st.rules, batch(live.slice(100), 3_600), T0 + 3_600_000).touched) st.markDirty(d);
  await st.flush(kv);
  assert.equal(st.size, 350);

  // Retention 30 min at stream time 1 h: the 50 "old" devices go; the bound (250) then evicts the 50 longest-silent live ones.
  const gone = st.pruneCandidates(T0 + 3_600_000, { pruneAfterMs: 1_800_000, maxDevices: 250 });
  assert.equal(gone.length, 100);
  assert.deepEqual(new Set(gone.filter((d) => d.startsWith('old-'))), new Set(old));
  assert.equal(gone.filter((d) => d.startsWith('live-')).length, 50);
  assert.ok(gone.filter((d) => d.startsWith('live-')).every((d) => Number(d.slice(5)) < 100), 'the longest-silent live devices are evicted first');
  await st.remove(kv, gone);
  assert.equal(st.size, 250);
  const reloaded = await new CollectorStateStore(nc.jetstream(), () => true).get(4);
  assert.equal(reloaded.size, 250, 'pruned records are gone from KV too');
  assert.equal(reloaded.rules.devices.has('old-0'), false);
  assert.ok(st.totalBytes > 0 && st.totalBytes / st.size < 1_024, `≈ ${Math.round(st.totalBytes / st.size)} B per device record`);
});

test('a retired device recovers its firing alerts', () => {
  const state = engine.initialState();
  const hot = Array.from({ length: 12 }, (_, i) => ({ point: { device: 'GPU-hot', ts: msToNs(T0 + i * 1_000), tags: {}, fields: { temperature_c: 95 } } }));
  const fired = engine.apply(state, hot, T0 + 12_000);
  assert.deepEqual(fired.events.map((e) => e.type), ['firing']);
  const ev = engine.retire('GPU-hot', state.devices.get('GPU-hot')!, 'pruned');
  assert.deepEqual(ev.map((e) => [e.type, e.alert.rule, e.alert.device]), [['recovered', 'hot', 'GPU-hot']]);
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { msToNs, type Point } from '../../../lib/point.ts';
import {
  AlertRulesError,
  evaluateRules,
  initialRuleEngineState,
  parseAlertRules,
  createRuleEngine,
  type AlertRule,
  type RuleBatchItem,
  type RuleEngineState,
  type RuleEvent,
  type HealthInfo,
  ruleStateToJson,
  ruleStateFromJson,
} from '../../../lib/alerts/rules.ts';

const T0 = Date.UTC(2024, 0, 31, 12, 0, 0);
const L4 = { host: 'node-1', model: 'NVIDIA L4' };
const A100 = { host: 'node-2', model: 'NVIDIA A100' };

function item(device: string, sec: number, fields: Record<string, number>, tags: Record<string, string> = L4, health?: HealthInfo): RuleBatchItem {
  const point: Point = { device, ts: msToNs(T0 + sec * 1_000), tags, fields };
  return health ? { point, health } : { point };
}

function rules(...raw: unknown[]): AlertRule[] {
  return parseAlertRules({ rules: raw });
}

/** Feeds one batch per step; wall clock = data time unless given. Returns events tagged with the step's time. */
function run(
  rs: AlertRule[],
  steps: { batch: RuleBatchItem[]; nowSec?: number }[],
  state: RuleEngineState = initialRuleEngineState(),
): { state: RuleEngineState; events: (RuleEvent & { sec: number })[] } {
  const events: (RuleEvent & { sec: number })[] = [];
  for (const step of steps) {
    const sec = step.nowSec ?? Math.max(...step.batch.map((b) => (Number(BigInt(b.point.ts) / 1_000_000n) - T0) / 1_000));
    const out = evaluateRules(rs, state, step.batch, T0 + sec * 1_000);
    state = out.state;
    for (const e of out.events) events.push({ ...e, sec });
  }
  return { state, events };
}

/** One point per second per step, value from fn(sec). */
function series(device: string, from: number, to: number, fn: (sec: number) => Record<string, number>, tags = L4) {
  const steps: { batch: RuleBatchItem[] }[] = [];
  for (let s = from; s <= to; s++) steps.push({ batch: [item(device, s, fn(s), tags)] });
  return steps;
}

const hot = {
  name: 'gpu-temp-high',
  kind: 'threshold',
  severity: 'warning',
  field: 'temperature_c',
  op: '>',
  value: 85,
  for: '30s',
};

describe('rules schema', () => {
  test('errors name the rule and the field', () => {
    const bad = [
      { ...hot, name: 'bad-op', op: '=>' },
      { ...hot, name: 'bad-for', for: '3 parsecs' },
      { ...hot, name: 'bad-clear', clear: 90 },
      { name: 'bad-kind', kind: 'magic', severity: 'warning' },
      { ...hot, name: 'no-field', field: undefined },
      { name: 'abs', kind: 'absence', severity: 'critical', for: '0s' },
      { ...hot, name: 'bad-scope', scope: { group: {} } },
      { ...hot, name: 'gpu-temp-high' },
      { ...hot, name: 'gpu-temp-high' },
    ];
    try {
      parseAlertRules({ rules: bad });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof AlertRulesError);
      assert.equal(err.name, 'AlertRulesError');
      const text = err.issues.join('\n');
      assert.match(text, /rule "bad-op" \(rules\[0\]\) field "op"/);
      assert.match(text, /rule "bad-for" \(rules\[1\]\) field "for"/);
      assert.match(text, /rule "bad-clear" \(rules\[2\]\) field "clear": clear 90 must be on the recovered side of > 85/);
      assert.match(text, /rule "bad-kind" \(rules\[3\]\) field "kind"/);
      assert.match(text, /rule "no-field" \(rules\[4\]\) field "field"/);
      assert.match(text, /rule "abs" \(rules\[5\]\) field "for"/);
      assert.match(text, /rule "bad-scope" \(rules\[6\]\) field "scope/);
      assert.match(text, /rule "gpu-temp-high" \(rules\[8\]\) field "name": duplicate of rules\[7\]/);
    }
    assert.throws(() => parseAlertRules({ rulez: [] }), /field "(rules|\(root\))"/);
  });

  test('the shipped example rules file is valid', () => {
    const json = JSON.parse(readFileSync(new URL('../../../infra/config/alert-rules.example.json', import.meta.url), 'utf8'));
    const rs = parseAlertRules(json);
    const names = rs.map((r) => r.name);
    for (const n of ['gpu-temp-high', 'gpu-temp-critical', 'gpu-thermal-slowdown', 'gpu-xid', 'gpu-ecc-dbe-increase', 'gpu-power-capped-clocks-dropping', 'gpu-health-critical', 'gpu-no-data']) {
      assert.ok(names.includes(n), n);
    }
    // XID any → critical fires on the first point carrying a non-zero xid.
    const { events } = run(rs, [{ batch: [item('g', 0, { xid: 0 })] }, { batch: [item('g', 1, { xid: 79 })] }]);
    assert.deepEqual(events.map((e) => [e.type, e.alert.rule, e.alert.severity, e.sec]), [['firing', 'gpu-xid', 'critical', 1]]);
  });
});

describe('threshold with for:', () => {
  test('fires at exactly the duration, once, with the start as firedAt', () => {
    const { events } = run(rules(hot), series('gpu-0', 0, 120, () => ({ temperature_c: 88 })));
    assert.equal(events.length, 1);
    const [e] = events;
    assert.equal(e!.type, 'firing');
    assert.equal(e!.sec, 30, 'not at 29 s, not later than 30 s');
    assert.equal(e!.alert.firedAt, new Date(T0).toISOString());
    assert.equal(e!.alert.alertId, 'alert-gpu-0-gpu-temp-high');
    assert.equal(e!.alert.model, 'NVIDIA L4');
    assert.equal(e!.alert.host, 'node-1');
    assert.deepEqual(e!.alert.values, { temperature_c: 88 });
    assert.match(e!.alert.summary, /temperature_c 88 > 85 for 30s/);
  });

  test('flapping inside for: opens nothing', () => {
    // true for 25 s, one cool point, true for 25 s, … never 30 s in a row.
    const { events } = run(rules(hot), series('gpu-0', 0, 300, (s) => ({ temperature_c: s % 26 === 25 ? 80 : 90 })));
    assert.deepEqual(events, []);
  });

  test('one firing per transition, one recovery, and a new episode after recovery', () => {
    const temp = (s: number) => (s < 200 ? 90 : s < 300 ? 70 : 95);
    const { events } = run(rules(hot), series('gpu-0', 0, 400, (s) => ({ temperature_c: temp(s) })));
    assert.deepEqual(
      events.map((e) => [e.type, e.sec]),
      [
        ['firing', 30],
        ['recovered', 200],
        ['firing', 330],
      ],
    );
    assert.match(events[1]!.alert.summary, /^recovered: /);
    assert.equal(events[1]!.alert.firedAt, new Date(T0).toISOString());
  });

  test('hysteresis: stays firing above clear, recovers at clear', () => {
    const temps = [90, 90, 83, 81, 84, 80, 86];
    const { events } = run(
      rules({ ...hot, for: '0s', clear: 80 }),
      temps.map((t, i) => ({ batch: [item('gpu-0', i, { temperature_c: t })] })),
    );
    assert.deepEqual(events.map((e) => [e.type, e.sec]), [['firing', 0], ['recovered', 5], ['firing', 6]]);
  });

  test('compared against another field with extra AND conditions', () => {
    const rule = {
      name: 'power-capped',
      kind: 'threshold',
      severity: 'warning',
      field: 'power_w',
      op: '>=',
      value: { field: 'power_limit_w', factor: 0.97 },
      and: [{ field: 'sm_clock_mhz', op: '<', value: { field: 'sm_clock_max_mhz', factor: 0.7 } }],
      for: '5s',
    };
    const capped = { power_w: 71, power_limit_w: 72, sm_clock_mhz: 1000, sm_clock_max_mhz: 2040 };
    const fine = { ...capped, sm_clock_mhz: 1900 };
    assert.deepEqual(run(rules(rule), series('g', 0, 20, () => fine)).events, []);
    const { events } = run(rules(rule), series('g', 0, 20, () => capped));
    assert.deepEqual(events.map((e) => [e.type, e.sec]), [['firing', 5]]);
    assert.equal(events[0]!.alert.values.power_limit_w, 72);
  });

  test('a point without the field is no evidence; a gap longer than maxGap restarts the pending clock', () => {
    const steps = [
      { batch: [item('g', 0, { temperature_c: 90 })] },
      { batch: [item('g', 10, { power_w: 50 })] }, // no temperature: skipped, not a reset
      { batch: [item('g', 30, { temperature_c: 90 })] },
    ];
    assert.deepEqual(run(rules(hot), steps).events.map((e) => e.sec), [30]);
    const gap = [
      { batch: [item('g', 0, { temperature_c: 90 })] },
      { batch: [item('g', 400, { temperature_c: 90 })] }, // 400 s > default maxGap 5m: restart at 400
      { batch: [item('g', 420, { temperature_c: 90 })] },
      { batch: [item('g', 430, { temperature_c: 90 })] },
    ];
    assert.deepEqual(run(rules(hot), gap).events.map((e) => e.sec), [430]);
    assert.deepEqual(run(rules({ ...hot, maxGap: '10m' }), gap).events.map((e) => e.sec), [400]);
  });

  test('out-of-order and duplicate points are ignored; a batch is sorted per device', () => {
    const rs = rules({ ...hot, for: '10s' });
    // One unsorted batch: sorted it is 0..10 all hot → fires at 10.
    const batch = [10, 3, 0, 7, 5, 1, 2, 4, 6, 8, 9].map((s) => item('g', s, { temperature_c: 90 }));
    const first = run(rs, [{ batch }]);
    assert.deepEqual(first.events.map((e) => e.type), ['firing']);
    // A late cold point (ts 4) and a duplicate of ts 10 must neither recover nor re-open.
    const late = run(rs, [{ batch: [item('g', 4, { temperature_c: 20 }), item('g', 10, { temperature_c: 20 })], nowSec: 12 }], first.state);
    assert.deepEqual(late.events, []);
    assert.deepEqual(ruleStateToJson(late.state), ruleStateToJson(first.state));
    const next = run(rs, [{ batch: [item('g', 11, { temperature_c: 20 })] }], late.state);
    assert.deepEqual(next.events.map((e) => e.type), ['recovered']);
  });
});

describe('rate, health, absence, scope', () => {
  const rising = {
    name: 'temp-rising',
    kind: 'rate',
    severity: 'warning',
    field: 'temperature_c',
    op: '>',
    value: 2,
    per: 'minute',
    window: '2m',
  };

  test('rate fires when the field rises faster than the limit over the window', () => {
    // +3 °C/min from t = 0; needs half the window (60 s) of data before a rate exists.
    const { events, state } = run(rules(rising), series('g', 0, 180, (s) => ({ temperature_c: 50 + (3 * s) / 60 })));
    assert.deepEqual(events.map((e) => [e.type, e.sec]), [['firing', 60]]);
    assert.ok(Math.abs(events[0]!.alert.values.temperature_c_rate_per_min! - 3) < 0.01);
    assert.ok(state.devices.get('g')!.series!['temp-rising']!.samples!.length <= 10, 'rate state stays bounded');
    const slow = run(rules(rising), series('g', 0, 300, (s) => ({ temperature_c: 50 + s / 60 })));
    assert.deepEqual(slow.events, []);
    // Rises then plateaus: recovers once the window no longer sees a fast climb.
    const plateau = run(rules(rising), series('g', 0, 400, (s) => ({ temperature_c: 50 + (3 * Math.min(s, 150)) / 60 })));
    assert.deepEqual(plateau.events.map((e) => e.type), ['firing', 'recovered']);
  });

  test('health ≥ class for a duration', () => {
    const rule = { name: 'health-crit', kind: 'health', severity: 'critical', atLeast: 'critical', for: '10s' };
    const crit: HealthInfo = { class: 'critical', score: 0.97, reasons: ['xid 79'] };
    const deg: HealthInfo = { class: 'degraded', score: 0.6, reasons: ['hot'] };
    const steps = (h: HealthInfo | undefined) =>
      Array.from({ length: 30 }, (_, s) => ({ batch: [item('g', s, { temperature_c: 60 }, L4, h)] }));
    const fired = run(rules(rule), steps(crit)).events;
    assert.deepEqual(fired.map((e) => [e.type, e.sec]), [['firing', 10]]);
    assert.deepEqual(fired[0]!.alert.health, crit);
    assert.deepEqual(run(rules(rule), steps(deg)).events, []);
    assert.deepEqual(run(rules(rule), steps(undefined)).events, []);
    assert.deepEqual(run(rules({ ...rule, atLeast: 'degraded' }), steps(deg)).events.map((e) => e.sec), [10]);
  });

  test('dead-man: a replayed backlog pages nobody (stream clock), though data time moves on', () => {
    const rule = { name: 'no-data', kind: 'absence', severity: 'critical', for: '2m' };
    const steps = [];
    for (let s = 0; s <= 200; s += 10) {
      const batch = [item('a', s, { temperature_c: 50 })];
      if (s <= 10) batch.push(item('b', s, { temperature_c: 50 }));
      // Replay: the stream clock barely moves (0.1 s per batch) while data time covers 200 s.
      steps.push({ batch, nowSec: s / 100 });
    }
    assert.deepEqual(run(rules(rule), steps).events, []);
  });

  test('dead-man: a stalled collector (stream clock frozen) pages nobody; silence counts once the backlog is read', () => {
    const rule = rules({ name: 'no-data', kind: 'absence', severity: 'critical', for: '2m' });
    let state = initialRuleEngineState();
    const at = (sec: number, streamSec: number, batch: RuleBatchItem[]) => {
      const out = evaluateRules(rule, state, batch, { nowMs: T0 + sec * 1_000, streamMs: T0 + streamSec * 1_000 });
      state = out.state;
      return out.events;
    };
    assert.deepEqual(at(0, 0, [item('a', 0, { t: 1 }), item('b', 0, { t: 1 })]), []);
    // 10 minutes of wall time pass while the collector is stuck at stream time 1 s.
    assert.deepEqual(at(600, 1, []), []);
    // The backlog drains: a and b both report in the queued messages (published at 10..600 s).
    const backlog: RuleBatchItem[] = [];
    for (let s = 10; s <= 600; s += 10) backlog.push({ ...item('a', s, { t: 1 }), arrivedMs: T0 + s * 1_000 }, { ...item('b', s, { t: 1 }), arrivedMs: T0 + s * 1_000 });
    assert.deepEqual(at(601, 600, backlog), []);
    // Caught up (stream clock = now): b stops, a goes on → only b pages, two minutes after its last data arrived.
    assert.deepEqual(at(700, 700, [{ ...item('a', 700, { t: 1 }), arrivedMs: T0 + 700_000 }]), []);
    const ev = at(721, 721, [{ ...item('a', 721, { t: 1 }), arrivedMs: T0 + 721_000 }]);
    assert.deepEqual(ev.map((e) => [e.type, e.alert.device, e.alert.values.silent_s]), [['firing', 'b', 121]]);
  });

  test('dead-man: historical data (older than the window when it arrives) never arms; live data does', () => {
    const rule = rules({ name: 'no-data', kind: 'absence', severity: 'critical', for: '2m' });
    let state = initialRuleEngineState();
    const monthsAgo = -90 * 86_400;
    const old: RuleBatchItem[] = [];
    for (let s = 0; s < 600; s++) old.push({ ...item('hist', monthsAgo + s, { t: 1 }), arrivedMs: T0 });
    let out = evaluateRules(rule, state, old, T0);
    state = out.state;
    assert.deepEqual(out.events, []);
    out = evaluateRules(rule, state, [], T0 + 3_600_000);
    assert.deepEqual(out.events, [], 'an hour later: still no page for the backfilled device');
    state = out.state;
    // The same device then reports live, and stops: paged.
    state = evaluateRules(rule, state, [{ ...item('hist', 3_600, { t: 1 }), arrivedMs: T0 + 3_600_000 }], T0 + 3_600_000).state;
    out = evaluateRules(rule, state, [], T0 + 3_600_000 + 121_000);
    assert.deepEqual(out.events.map((e) => [e.type, e.alert.device]), [['firing', 'hist']]);
  });

  test('dead-man fires via the wall-clock tick, once, and recovers when data returns', () => {
    const rule = { name: 'no-data', kind: 'absence', severity: 'critical', for: '2m' };
    const rs = rules(rule);
    const steps = [
      { batch: [item('g', 0, { temperature_c: 50 })], nowSec: 0 },
      { batch: [], nowSec: 60 },
      { batch: [], nowSec: 119 },
      { batch: [], nowSec: 120 },
      { batch: [], nowSec: 180 },
      { batch: [item('g', 181, { temperature_c: 50 })], nowSec: 181 },
      { batch: [], nowSec: 200 },
    ];
    const { events } = run(rs, steps);
    assert.deepEqual(events.map((e) => [e.type, e.sec]), [['firing', 120], ['recovered', 181]]);
    assert.equal(events[0]!.alert.alertId, 'alert-g-no-data');
  });

  test('dead-man expects listed devices from the first evaluation; group absence is one alert', () => {
    const listed = rules({ name: 'no-data', kind: 'absence', severity: 'critical', for: '2m', scope: { devices: ['gpu-x', 'gpu-y'] } });
    const { events } = run(listed, [
      { batch: [item('gpu-x', 0, { temperature_c: 50 })], nowSec: 0 },
      { batch: [item('gpu-x', 130, { temperature_c: 50 })], nowSec: 130 },
    ]);
    assert.deepEqual(events.map((e) => [e.type, e.alert.device, e.sec]), [['firing', 'gpu-y', 130]]);

    const group = rules({ name: 'l4-silent', kind: 'absence', severity: 'critical', for: '1m', per: 'group', scope: { group: { model: 'NVIDIA L4' } } });
    const g = run(group, [
      { batch: [item('l4-a', 0, { t: 1 }), item('l4-b', 0, { t: 1 }, L4), item('a100', 0, { t: 1 }, A100)], nowSec: 0 },
      { batch: [item('l4-a', 30, { t: 1 })], nowSec: 30 },
      { batch: [item('a100', 95, { t: 1 }, A100)], nowSec: 95 },
    ]);
    assert.deepEqual(g.events.map((e) => [e.type, e.alert.device, e.sec]), [['firing', 'group(model=NVIDIA L4)', 95]]);
  });

  test('group scope matches tags', () => {
    const rule = { ...hot, for: '0s', scope: { group: { model: 'NVIDIA L4' } } };
    const { events } = run(rules(rule), [{ batch: [item('a100', 0, { temperature_c: 95 }, A100), item('l4', 0, { temperature_c: 95 }, L4)] }]);
    assert.deepEqual(events.map((e) => e.alert.device), ['l4']);
    const byList = run(rules({ ...hot, for: '0s', scope: { devices: ['a100'] } }), [
      { batch: [item('a100', 0, { temperature_c: 95 }, A100), item('l4', 0, { temperature_c: 95 }, L4)] },
    ]);
    assert.deepEqual(byList.events.map((e) => e.alert.device), ['a100']);
  });
});

describe('rule state', () => {
  const allRules = rules(
    { ...hot, for: '5s', clear: 80 },
    { name: 'rise', kind: 'rate', severity: 'warning', field: 'temperature_c', op: '>', value: 30, per: 'minute', window: '20s' },
    { name: 'hc', kind: 'health', severity: 'critical', atLeast: 'degraded', for: '3s' },
    { name: 'dead', kind: 'absence', severity: 'critical', for: '15s' },
  );

  test('evaluate does not mutate its input state', () => {
    const { state } = run(allRules, series('g', 0, 10, () => ({ temperature_c: 90 })));
    const frozen = JSON.stringify(ruleStateToJson(state));
    evaluateRules(allRules, state, [item('g', 11, { temperature_c: 10 })], T0 + 11_000);
    assert.equal(JSON.stringify(ruleStateToJson(state)), frozen);
  });

  test('JSON round-trip of the state mid-episode gives the same result as an uninterrupted run (property)', () => {
    const pointArb = fc.record({
      device: fc.constantFrom('g0', 'g1', 'g2'),
      dt: fc.integer({ min: -3, max: 12 }), // negative: out of order
      temp: fc.integer({ min: 60, max: 100 }),
      health: fc.option(fc.constantFrom('healthy', 'degraded', 'critical') as fc.Arbitrary<HealthInfo['class']>, { nil: undefined }),
      tick: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(pointArb, { minLength: 1, maxLength: 80 }), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 30 }), (pts, cuts) => {
        let t = 0;
        const items = pts.map((p) => {
          t = Math.max(0, t + p.dt);
          const h = p.health ? { class: p.health, score: 0.5, reasons: [] } : undefined;
          return { it: item(p.device, t, { temperature_c: p.temp }, L4, h), tick: p.tick, t };
        });
        // Cut the stream into batches of random sizes; some batches are followed by a wall-clock tick.
        const steps: { batch: RuleBatchItem[]; nowSec: number }[] = [];
        let i = 0;
        let c = 0;
        while (i < items.length) {
          const size = cuts[c++ % cuts.length]!;
          const chunk = items.slice(i, i + size);
          i += size;
          const wall = Math.max(...chunk.map((x) => x.t));
          steps.push({ batch: chunk.map((x) => x.it), nowSec: wall });
          if (chunk.at(-1)!.tick) steps.push({ batch: [], nowSec: wall + 20 });
        }
        const engine = createRuleEngine(allRules);
        let a = engine.initialState();
        let b = engine.initialState();
        const evA: RuleEvent[] = [];
        const evB: RuleEvent[] = [];
        for (const step of steps) {
          const ra = engine.evaluate(a, step.batch, T0 + step.nowSec * 1_000);
          a = ra.state;
          evA.push(...ra.events);
          // "Worker restart": the state goes through JSON (workflow history) before every batch.
          const restored = ruleStateFromJson(JSON.parse(JSON.stringify(ruleStateToJson(b))));
          const rb = engine.evaluate(restored, step.batch, T0 + step.nowSec * 1_000);
          b = rb.state;
          evB.push(...rb.events);
        }
        assert.deepEqual(evB, evA);
        assert.deepEqual(JSON.parse(JSON.stringify(ruleStateToJson(b))), JSON.parse(JSON.stringify(ruleStateToJson(a))));
        // Firing and recovery alternate per device × rule.
        const open = new Map<string, boolean>();
        for (const e of evA) {
          const key = e.alert.alertId;
          assert.equal(open.get(key) ?? false, e.type === 'recovered', `${e.type} twice in a row for ${key}`);
          open.set(key, e.type === 'firing');
        }
      }),
      { numRuns: 200 },
    );
  });

  test('state of rules removed from the file is dropped', () => {
    const { state } = run(allRules, series('g', 0, 10, () => ({ temperature_c: 90 })));
    assert.ok(state.devices.get('g')!.series!['gpu-temp-high']);
    const out = evaluateRules(allRules.filter((r) => r.name !== 'gpu-temp-high'), state, [item('g', 11, { temperature_c: 90 })], T0 + 11_000);
    assert.equal(out.state.devices.get('g')!.series!['gpu-temp-high'], undefined);
    assert.ok(out.touched.has('g'), 'the changed record is reported for persisting');
  });
});

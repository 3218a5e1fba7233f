/**
 * On-call resolution: rotations hand off at the local wall time (across DST),
 * restrictions (RRULE-style windows, overnight too), layer precedence,
 * overrides, schedule targets → concrete recipients, file reload on change
 * (the last good version stays when an edit is bad), and the bounds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register } from 'prom-client';
import { parseScheduleFile, parseRRule, ScheduleFileError, SCHEDULE_LIMITS, type ScheduleFile } from '../../../lib/oncall/schedule-schema.ts';
import { whoIsOnCall, UnknownScheduleError } from '../../../lib/oncall/resolve.ts';
import { resolveTargets } from '../../../lib/oncall/targets.ts';
import { ScheduleStore } from '../../../lib/oncall/schedule-store.ts';
import { zonedToUtcMs, zonedFields } from '../../../lib/oncall/zoned-time.ts';

const EXAMPLE = new URL('../../../infra/config/oncall-schedules.example.json', import.meta.url);
const example = (): ScheduleFile => parseScheduleFile(JSON.parse(readFileSync(EXAMPLE, 'utf8')));
const at = (iso: string) => Date.parse(iso);
const who = (f: ScheduleFile, s: string, iso: string) => whoIsOnCall(f, s, at(iso)).person?.id ?? null;

function file(schedule: object, people = ['a', 'b', 'c']): unknown {
  return { people: Object.fromEntries(people.map((p) => [p, { name: p.toUpperCase(), contacts: { slack: `U0${p.toUpperCase()}XX` } }])), schedules: { s: schedule } };
}

describe('zoned time', () => {
  test('local wall time → instant, both sides of the Berlin DST change', () => {
    assert.equal(new Date(zonedToUtcMs({ year: 2026, month: 3, day: 28, hour: 9, minute: 0 }, 'Europe/Berlin')).toISOString(), '2026-03-28T08:00:00.000Z');
    assert.equal(new Date(zonedToUtcMs({ year: 2026, month: 3, day: 30, hour: 9, minute: 0 }, 'Europe/Berlin')).toISOString(), '2026-03-30T07:00:00.000Z');
    // 02:30 does not exist on 2026-03-29 in Berlin: the instant after the gap.
    assert.equal(new Date(zonedToUtcMs({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, 'Europe/Berlin')).toISOString(), '2026-03-29T01:30:00.000Z');
    assert.equal(zonedFields(at('2026-03-30T07:00:00Z'), 'Europe/Berlin').weekday, 0, 'a Monday');
  });
});

describe('schedule resolution', () => {
  test('the example: weekly rotation, day-team layer on top in business hours, holiday override', () => {
    const f = example();
    // Week of 2026-01-05 09:00 Berlin: alice; the next week: bob.
    assert.equal(who(f, 'gpu-primary', '2026-01-06T20:00:00+01:00'), 'alice');
    assert.equal(who(f, 'gpu-primary', '2026-01-12T08:59:00+01:00'), 'alice', 'before the Monday 09:00 handoff');
    assert.equal(who(f, 'gpu-primary', '2026-01-12T09:00:00+01:00'), 'carol', 'day team covers Monday 09:00-17:00');
    assert.equal(who(f, 'gpu-primary', '2026-01-12T17:00:00+01:00'), 'bob', 'after business hours: the weekly layer');
    assert.equal(who(f, 'gpu-primary', '2026-01-17T12:00:00+01:00'), 'bob', 'Saturday: no day team');
    const o = whoIsOnCall(f, 'gpu-primary', at('2026-12-25T12:00:00+01:00'));
    assert.equal(o.person?.id, 'dave');
    assert.equal(o.source, 'override');
    assert.equal(o.override?.reason, 'holiday swap with alice');
    assert.equal(who(f, 'gpu-primary', '2026-12-27T09:00:00+01:00'), 'alice', 'override ends (week 51 from the start is alice)');
    assert.equal(who(f, 'gpu-primary', '2026-01-05T08:00:00+01:00'), null, 'before the rotation starts nobody is on call');
  });

  test('daily handoff stays at 09:00 local across DST (shift of 23 h / 25 h)', () => {
    const f = parseScheduleFile(file({ timeZone: 'Europe/Berlin', layers: [{ name: 'd', rotation: { members: ['a', 'b'], start: '2026-03-27T09:00', shift: '1d' } }] }));
    assert.equal(who(f, 's', '2026-03-29T08:59:00+02:00'), 'b', 'Sat 09:00 → Sun 09:00 (CEST) is b');
    assert.equal(who(f, 's', '2026-03-29T09:00:00+02:00'), 'a', 'handoff at 09:00 CEST, 23 h after the last one');
    // 212 local days later (an even count: a again), the day after the 25 h night.
    assert.equal(who(f, 's', '2026-10-25T08:59:00+01:00'), 'b');
    assert.equal(who(f, 's', '2026-10-25T09:00:00+01:00'), 'a', 'handoff at 09:00 CET after the 25 h day');
  });

  test('hour-based shifts count real hours', () => {
    const f = parseScheduleFile(file({ timeZone: 'UTC', layers: [{ name: 'h', rotation: { members: ['a', 'b', 'c'], start: '2026-01-01T00:00', shift: '12h' } }] }));
    assert.deepEqual(['00', '11', '12', '23', '24', '36'].map((h) => who(f, 's', new Date(at('2026-01-01T00:00:00Z') + Number(h) * 3_600_000).toISOString())), ['a', 'a', 'b', 'b', 'c', 'a']);
  });

  test('overnight restriction belongs to the day it starts', () => {
    const f = parseScheduleFile(
      file({
        timeZone: 'UTC',
        layers: [
          { name: 'base', rotation: { members: ['a'], start: '2026-01-01T00:00', shift: '1w' } },
          { name: 'nights', rotation: { members: ['b'], start: '2026-01-01T00:00', shift: '1w' }, restrictions: [{ rrule: 'FREQ=WEEKLY;BYDAY=FR', from: '22:00', to: '06:00' }] },
        ],
      }),
    );
    assert.equal(who(f, 's', '2026-01-02T21:59:00Z'), 'a', 'Friday before 22:00');
    assert.equal(who(f, 's', '2026-01-02T23:00:00Z'), 'b', 'Friday night');
    assert.equal(who(f, 's', '2026-01-03T05:59:00Z'), 'b', 'Saturday early morning: still Friday’s window');
    assert.equal(who(f, 's', '2026-01-03T23:00:00Z'), 'a', 'Saturday night: no window');
  });

  test('the last listed active override wins', () => {
    const f = parseScheduleFile(
      file({
        timeZone: 'UTC',
        layers: [{ name: 'base', rotation: { members: ['a'], start: '2026-01-01T00:00', shift: '1w' } }],
        overrides: [
          { person: 'b', from: '2026-01-02T00:00:00Z', to: '2026-01-04T00:00:00Z' },
          { person: 'c', from: '2026-01-03T00:00', to: '2026-01-03T12:00', reason: 'covering a doctor visit' },
        ],
      }),
    );
    assert.equal(who(f, 's', '2026-01-02T12:00:00Z'), 'b');
    assert.equal(who(f, 's', '2026-01-03T06:00:00Z'), 'c');
    assert.equal(who(f, 's', '2026-01-03T12:00:00Z'), 'b', 'end is exclusive');
    assert.equal(who(f, 's', '2026-01-04T00:00:00Z'), 'a');
  });

  test('bad files are rejected with every bad path named', () => {
    assert.throws(
      () => parseScheduleFile(file({ timeZone: 'Mars/Olympus', layers: [{ name: 'x', rotation: { members: ['zed'], start: '2026-01-01 09:00', shift: '0s' } }] })),
      (err: unknown) => {
        assert.ok(err instanceof ScheduleFileError);
        for (const part of ['schedules.s.timeZone', 'unknown IANA', 'rotation.start', 'rotation.shift', 'unknown person "zed"']) assert.match(err.message, new RegExp(part.replace(/\./g, '\\.')), part);
        return true;
      },
    );
    assert.throws(() => parseRRule('FREQ=MONTHLY'), /FREQ=MONTHLY is not supported/);
    assert.throws(() => parseRRule('FREQ=WEEKLY;BYDAY=XX'), /BYDAY value "XX"/);
    assert.throws(() => parseRRule('FREQ=DAILY;INTERVAL=2'), /INTERVAL=2" is not supported/);
    assert.throws(() => whoIsOnCall(example(), 'nope', 0), UnknownScheduleError);
  });

  test(`bounds: ${SCHEDULE_LIMITS.overridesPerSchedule} overrides resolve; one more is refused`, () => {
    const overrides = Array.from({ length: SCHEDULE_LIMITS.overridesPerSchedule }, (_, i) => ({
      person: i % 2 ? 'b' : 'c',
      from: new Date(at('2026-01-01T00:00:00Z') + i * 3_600_000).toISOString(),
      to: new Date(at('2026-01-01T00:00:00Z') + (i + 1) * 3_600_000).toISOString(),
    }));
    const base = { timeZone: 'UTC', layers: [{ name: 'base', rotation: { members: ['a'], start: '2026-01-01T00:00', shift: '1w' } }] };
    const f = parseScheduleFile(file({ ...base, overrides }));
    assert.equal(who(f, 's', '2026-01-01T01:30:00Z'), 'b');
    assert.equal(who(f, 's', new Date(at('2026-01-01T00:00:00Z') + SCHEDULE_LIMITS.overridesPerSchedule * 3_600_000).toISOString()), 'a');
    assert.throws(() => parseScheduleFile(file({ ...base, overrides: [...overrides, overrides[0]] })), /overrides: Too big|overrides.*1000/i);
    const members = Array.from({ length: SCHEDULE_LIMITS.membersPerRotation + 1 }, (_, i) => `p${i}`);
    assert.throws(() => parseScheduleFile(file({ timeZone: 'UTC', layers: [{ name: 'x', rotation: { members, start: '2026-01-01T00:00', shift: '1d' } }] }, members)), /members/);
  });
});

describe('resolveTargets (the level contract)', () => {
  test('schedule targets become the on-call person’s contact for that channel; fixed ones pass through, deduplicated', () => {
    const f = example();
    const when = at('2026-01-06T20:00:00+01:00'); // alice on gpu-primary; day 1 of gpu-secondary (New York) is carol
    const r = resolveTargets(
      {
        targets: [
          { channel: 'slack', target: 'C0GPUALERTS' },
          { channel: 'slack', target: { schedule: 'gpu-primary' } },
          { channel: 'email', target: { schedule: 'gpu-primary' } },
          { channel: 'slack', target: 'U0ALICE01' },
          { channel: 'ntfy', target: { schedule: 'gpu-secondary' } },
          { channel: 'webhook' },
          { channel: 'slack', target: { schedule: 'missing' } },
        ],
      },
      when,
      f,
    );
    assert.deepEqual(
      r.targets.map((t) => [t.channel, t.target ?? null, t.oncall?.person ?? null]),
      [
        ['slack', 'C0GPUALERTS', null],
        ['slack', 'U0ALICE01', 'alice'],
        ['email', 'alice@example.com', 'alice'],
        ['webhook', null, null],
      ],
    );
    assert.deepEqual(r.oncall.map((o) => [o.schedule, o.person]), [['gpu-primary', 'alice'], ['gpu-secondary', 'carol']]);
    assert.equal(r.unresolved.length, 2);
    assert.match(r.unresolved[0]!.reason, /carol \(on call for "gpu-secondary"\) has no "ntfy" contact/);
    assert.match(r.unresolved[1]!.reason, /unknown on-call schedule "missing"/);
  });
});

describe('ScheduleStore', () => {
  test('an edit changes the next answer without a restart; a bad edit keeps the last good version and is counted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oncall-'));
    const path = join(dir, 'schedules.json');
    const write = (members: string[], stampS: number) => {
      writeFileSync(path, JSON.stringify(file({ timeZone: 'UTC', layers: [{ name: 'x', rotation: { members, start: '2026-01-01T00:00', shift: '1w' } }] })));
      utimesSync(path, stampS, stampS); // distinct mtimes even within one clock tick
    };
    write(['a'], 1_000);
    const store = new ScheduleStore(path);
    const t = at('2026-01-02T00:00:00Z');
    assert.equal(store.who('s', t).person?.id, 'a');
    write(['b'], 2_000);
    assert.equal(store.who('s', t).person?.id, 'b', 'the edit is seen at once');
    const before = (await register.getSingleMetricAsString('oncall_schedule_reload_errors_total')).match(/ (\d+)$/m)?.[1];
    writeFileSync(path, '{"people": {}, "schedules": {"s": {"timeZone": "UTC", "layers": []}}}');
    utimesSync(path, 3_000, 3_000);
    assert.equal(store.who('s', t).person?.id, 'b', 'a bad edit keeps the last good version');
    assert.match(store.status().lastError ?? '', /a schedule needs at least one layer/);
    const after = (await register.getSingleMetricAsString('oncall_schedule_reload_errors_total')).match(/ (\d+)$/m)?.[1];
    assert.equal(Number(after), Number(before) + 1);
    assert.throws(() => new ScheduleStore(join(dir, 'absent.json')).schedules(), ScheduleFileError);
  });
});

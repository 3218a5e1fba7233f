/**
 * Issue 7: timestamps outside the sane range (INGEST_MIN_TIME … now +
 * INGEST_MAX_FUTURE_S, never past int64 ns) are named rejections at the edge;
 * the other rows of the file still go through.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError, loadConfig } from '../../../lib/config.ts';
import { parseText, TimeRange, timeRangeFromConfig } from '../../../lib/parse/index.ts';
import { MAX_INFLUX_NS } from '../../../lib/parse/time-range.ts';

const NOW = Date.UTC(2026, 0, 15, 12);
const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);

describe('TimeRange', () => {
  const r = new TimeRange({}, NOW);

  test('default range: 1970-01-01 … now + 1 day', () => {
    assert.equal(r.check('0'), undefined);
    assert.equal(r.check(ns(NOW)), undefined);
    assert.equal(r.check(ns(NOW + 86_400_000)), undefined);
    assert.match(r.check(ns(NOW + 86_400_001))!, /^timestamp 2026-01-16T12:00:00.001Z is after the accepted maximum 2026-01-16T12:00:00.000Z \(now \+ 86400 s \(INGEST_MAX_FUTURE_S\)\)$/);
    assert.match(r.check(ns(Date.UTC(2300, 0, 1)))!, /2300-01-01T00:00:00.000Z is after/);
    assert.match(r.check('-1000000000')!, /^timestamp 1969-12-31T23:59:59.000Z is before the accepted minimum 1970-01-01T00:00:00.000Z \(INGEST_MIN_TIME\)$/);
  });

  test('values past int64 ns and zero-padded strings are judged by value', () => {
    assert.match(r.check('9223372036854775807')!, /after the accepted maximum/);
    assert.match(r.check('99999999999999999999999')!, /after the accepted maximum/);
    assert.equal(r.check(`000${ns(NOW)}`), undefined);
  });

  test('the upper bound is clamped to the largest InfluxDB timestamp', () => {
    const wide = new TimeRange({ maxFutureMs: 400 * 365 * 86_400_000 }, NOW);
    assert.equal(wide.maxNs, MAX_INFLUX_NS.toString());
    assert.equal(wide.check(MAX_INFLUX_NS.toString()), undefined);
    assert.match(wide.check((MAX_INFLUX_NS + 1n).toString())!, /the largest InfluxDB timestamp/);
  });

  test('a configured minimum', () => {
    const c = new TimeRange(timeRangeFromConfig({ INGEST_MIN_TIME: '2020-01-01T00:00:00Z', INGEST_MAX_FUTURE_S: 60 }), NOW);
    assert.match(c.check(ns(Date.UTC(2019, 11, 31)))!, /before the accepted minimum 2020-01-01T00:00:00.000Z/);
    assert.equal(c.check(ns(NOW + 60_000)), undefined);
    assert.ok(c.check(ns(NOW + 61_000)));
  });
});

describe('config INGEST_MIN_TIME / INGEST_MAX_FUTURE_S', () => {
  test('defaults', () => {
    const c = loadConfig({});
    assert.equal(c.INGEST_MIN_TIME, '1970-01-01T00:00:00Z');
    assert.equal(c.INGEST_MAX_FUTURE_S, 86_400);
    assert.deepEqual(timeRangeFromConfig(c), { minTimeMs: 0, maxFutureMs: 86_400_000 });
  });

  test('bad values are rejected naming the variable', () => {
    for (const [k, v] of [
      ['INGEST_MIN_TIME', 'yesterday'],
      ['INGEST_MIN_TIME', '2020-01-01T00:00:00'],
      ['INGEST_MIN_TIME', '1960-01-01T00:00:00Z'],
      ['INGEST_MAX_FUTURE_S', '-1'],
      ['INGEST_MAX_FUTURE_S', 'a day'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [k]: v }),
        (err: unknown) => err instanceof ConfigError && err.issues.length === 1 && err.issues[0]!.variable === k,
        `${k}=${v} must be rejected`,
      );
    }
  });
});

describe('parsing rejects rows with out-of-range timestamps, keeps the others', () => {
  test('nvidia-smi CSV: a year-2300 row and a pre-1970 row are named rejections; the valid rows go through', () => {
    const file = 'range.csv';
    const text = [
      'timestamp, index, temperature.gpu',
      '2025/01/31 12:00:00.000, 0, 40',
      '2300/01/01 00:00:00.000, 0, 41',
      '1969-12-31T23:59:59Z, 0, 42',
      '2025/01/31 12:00:01.000, 0, 43',
    ].join('\n');
    const { points, summary } = parseText(text, { fileName: file });
    assert.deepEqual(points.map((p) => p.fields.temperature_c), [40, 43]);
    assert.equal(summary.rows, 4);
    assert.equal(summary.rejected, 2);
    assert.equal(summary.rejectedRows, 2);
    assert.equal(summary.rejections.length, 2);
    const [a, b] = summary.rejections as [(typeof summary.rejections)[0], (typeof summary.rejections)[0]];
    assert.equal(a.file, file);
    assert.equal(a.line, 3);
    assert.equal(a.column, 'timestamp');
    assert.match(a.reason, /^timestamp 2300-01-01T00:00:00.000Z is after the accepted maximum .*: "2300\/01\/01 00:00:00.000"$/);
    assert.equal(b.line, 4);
    assert.equal(b.column, 'timestamp');
    assert.match(b.reason, /^timestamp 1969-12-31T23:59:59.000Z is before the accepted minimum 1970-01-01T00:00:00.000Z/);
    assert.ok(summary.warnings.some((w) => /^2 rows rejected: timestamp outside the accepted range 1970-01-01T00:00:00.000Z … /.test(w)), summary.warnings.join('\n'));
  });

  test('generic CSV: epoch ns past int64 is rejected, not sent', () => {
    const text = 'timestamp,device,power_w\n1738324800000000000,d1,10\n9999999999999999999,d1,11\n';
    const { points, summary } = parseText(text, { fileName: 'g.csv' });
    assert.deepEqual(points.map((p) => p.ts), ['1738324800000000000']);
    assert.equal(summary.rejections[0]!.line, 3);
    assert.match(summary.rejections[0]!.reason, /after the accepted maximum/);
  });

  test('minTimeMs / maxFutureMs options narrow the range', () => {
    const text = 'timestamp,device,power_w\n2019-06-01T00:00:00Z,d1,1\n2021-06-01T00:00:00Z,d1,2\n';
    const { points, summary } = parseText(text, { fileName: 'g.csv', minTimeMs: Date.UTC(2020, 0, 1) });
    assert.deepEqual(points.map((p) => p.fields.power_w), [2]);
    assert.match(summary.rejections[0]!.reason, /before the accepted minimum 2020-01-01T00:00:00.000Z/);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const f = parseText(`timestamp,device,power_w\n${future},d1,1\n`, { fileName: 'g.csv', maxFutureMs: 60_000 });
    assert.equal(f.points.length, 0);
    assert.match(f.summary.rejections[0]!.reason, /now \+ 60 s/);
  });

  test('dmon -o DT: the date column is named', () => {
    const text = '# Date Time gpu pwr gtemp\n# YYYYMMDD HH:MM:SS Idx W C\n 20250131 12:00:00 0 98 45\n 23000131 12:00:00 0 99 46\n';
    const { points, summary } = parseText(text, { fileName: 'd.txt', format: 'dmon' });
    assert.equal(points.length, 1);
    assert.deepEqual(summary.rejections.map((r) => [r.line, r.column]), [[4, 'Date']]);
  });

  test('derived timestamps from a base time past the range are rejected, column-less, saying why', () => {
    const text = '# gpu pwr gtemp\n# Idx W C\n 0 98 45\n 1 60 40\n';
    const { points, summary } = parseText(text, { fileName: 'd.txt', format: 'dmon', baseTimeMs: Date.UTC(2300, 0, 1) });
    assert.equal(points.length, 0);
    assert.equal(summary.rejected, 2);
    assert.equal(summary.rejections[0]!.column, undefined);
    assert.match(summary.rejections[0]!.reason, /^derived timestamp 2300-01-01T00:00:00.000Z is after .*\(base time 2300-01-01T00:00:00.000Z \+ 1000 ms per round\)$/);
  });

  test('DCGM: a sample with an out-of-range timestamp is rejected under its metric name', () => {
    const far = Date.UTC(2300, 0, 1);
    const text = [
      `DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-a"} 45 ${Date.UTC(2025, 0, 31)}`,
      `DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-a"} 46 ${far}`,
      `DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a"} 300 99999999999999999999999`,
    ].join('\n');
    const { points, summary } = parseText(text, { fileName: 'm.prom', format: 'dcgm' });
    assert.equal(points.length, 1);
    assert.deepEqual(
      summary.rejections.map((r) => [r.line, r.column]),
      [
        [2, 'DCGM_FI_DEV_GPU_TEMP'],
        [3, 'DCGM_FI_DEV_POWER_USAGE'],
      ],
    );
  });

  test('property: no emitted point is outside the range or past int64 ns', () => {
    const range = new TimeRange();
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 10n ** 21n }), { minLength: 1, maxLength: 20 }), (values) => {
        const text = 'timestamp,device,power_w\n' + values.map((v, i) => `${v},d${i},1`).join('\n');
        const { points, summary } = parseText(text, { fileName: 'p.csv' });
        for (const p of points) {
          assert.equal(range.check(p.ts), undefined, p.ts);
          assert.ok(BigInt(p.ts) <= MAX_INFLUX_NS);
        }
        assert.equal(points.length + summary.rejectedRows, values.length);
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * Issue 7: `--base-time` and the configured time range reach the parser the
 * same way for `parse` and `ingest`; `parse` uses the file's mtime like
 * `ingest`, so both print the timestamps that will be stored.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../lib/config.ts';
import { CliOptionError, parseBaseTime, parseOptionsFrom, runParse } from '../../../cli/ingest-commands.ts';

const cfg = loadConfig({});

describe('--base-time', () => {
  test('ISO 8601 with offset or epoch ms', () => {
    assert.equal(parseBaseTime('2024-01-31T12:00:00Z'), Date.UTC(2024, 0, 31, 12));
    assert.equal(parseBaseTime('2024-01-31T13:00:00.250+01:00'), Date.UTC(2024, 0, 31, 12, 0, 0, 250));
    assert.equal(parseBaseTime('1706702400000'), 1_706_702_400_000);
  });

  test('ambiguous or malformed values are refused naming the option', () => {
    for (const bad of ['2024-01-31T12:00:00', '1706702400', 'yesterday', '2024-13-45T99:00:00Z', '']) {
      assert.throws(() => parseBaseTime(bad), (err: unknown) => err instanceof CliOptionError && err.message.startsWith('--base-time'), bad);
    }
  });

  test('parseOptionsFrom carries the base time and the configured range; a base time outside it is refused', () => {
    const o = parseOptionsFrom(loadConfig({ INGEST_MIN_TIME: '2020-01-01T00:00:00Z', INGEST_MAX_FUTURE_S: '3600' }), { baseTime: '2024-01-31T12:00:00Z' });
    assert.equal(o.baseTimeMs, Date.UTC(2024, 0, 31, 12));
    assert.equal(o.minTimeMs, Date.UTC(2020, 0, 1));
    assert.equal(o.maxFutureMs, 3_600_000);
    assert.throws(() => parseOptionsFrom(cfg, { baseTime: '2300-01-01T00:00:00Z' }), /--base-time 2300-01-01T00:00:00Z: outside the accepted range/);
  });
});

describe('parse uses the same base-time rule as ingest', () => {
  let dir: string;
  let file: string;
  const mtime = Date.UTC(2025, 5, 1, 8, 30);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cli-parse-'));
    file = join(dir, 'dmon.txt');
    writeFileSync(file, '# gpu pwr gtemp\n# Idx W C\n 0 98 45\n 1 60 40\n 0 99 46\n');
    utimesSync(file, mtime / 1000, mtime / 1000);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const tsOf = async (o: Parameters<typeof runParse>[2]) => {
    const lines: string[] = [];
    const s = await runParse(cfg, file, { ...o, points: true }, (l) => lines.push(l));
    return { s, ts: lines.map((l) => (JSON.parse(l) as { ts: string }).ts) };
  };

  test('without --base-time: the file mtime, the same on every run', async () => {
    const a = await tsOf({});
    const b = await tsOf({});
    assert.deepEqual(a.ts, [`${mtime}000000`, `${mtime}000000`, `${mtime + 1000}000000`]);
    assert.deepEqual(b.ts, a.ts);
    assert.deepEqual(a.s.baseTime, { time: '2025-06-01T08:30:00.000Z', source: 'file mtime' });
    assert.equal(a.s.fingerprint, b.s.fingerprint);
    assert.deepEqual(a.s.warnings, []);
  });

  test('--base-time wins and changes the fingerprint', async () => {
    const a = await tsOf({});
    const r = await tsOf({ baseTime: '2024-01-31T12:00:00Z', interval: '500' });
    assert.deepEqual(r.ts, [`${Date.UTC(2024, 0, 31, 12)}000000`, `${Date.UTC(2024, 0, 31, 12)}000000`, `${Date.UTC(2024, 0, 31, 12) + 500}000000`]);
    assert.equal(r.s.baseTime.source, 'option');
    assert.notEqual(r.s.fingerprint, a.s.fingerprint);
  });
});

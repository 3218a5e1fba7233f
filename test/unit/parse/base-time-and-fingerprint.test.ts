/**
 * Issue 7: one base-time rule for formats without absolute time (explicit,
 * else the file's mtime, else now with a warning), and the options
 * fingerprint that keys re-ingestion.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optionsFingerprint, parseFile, parseStream, pointOptions, resolveBaseTime, type ParseOptions, type ParseSummary } from '../../../lib/parse/index.ts';
import type { Point } from '../../../lib/point.ts';

const DMON = '# gpu pwr gtemp\n# Idx W C\n 0 98 45\n 1 60 40\n 0 99 46\n 1 61 41\n';
const MTIME = Date.UTC(2025, 5, 1, 8, 30);

async function streamAll(text: string, opts: ParseOptions): Promise<{ points: Point[]; summary: ParseSummary }> {
  const gen = parseStream(
    (async function* () {
      yield Buffer.from(text);
    })(),
    opts,
  );
  const points: Point[] = [];
  for (;;) {
    const r = await gen.next();
    if (r.done) return { points, summary: r.value };
    points.push(...r.value.points);
  }
}

describe('base time rule', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'base-time-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('resolveBaseTime: explicit, else mtime, else now', () => {
    assert.deepEqual(resolveBaseTime(5_000, MTIME), { ms: 5_000, source: 'option' });
    assert.deepEqual(resolveBaseTime(undefined, MTIME + 0.75), { ms: MTIME, source: 'file mtime' });
    const now = resolveBaseTime(undefined, undefined);
    assert.equal(now.source, 'now');
    assert.ok(Math.abs(now.ms - Date.now()) < 5_000);
  });

  test('parseFile: a dmon file without time columns gets the same timestamps every time (the mtime)', async () => {
    const f = join(dir, 'dmon.txt');
    await writeFile(f, DMON);
    await utimes(f, MTIME / 1000, MTIME / 1000);
    const a = await parseFile(f);
    await new Promise((r) => setTimeout(r, 20));
    const b = await parseFile(f);
    assert.deepEqual(a.points.map((p) => p.ts), [MTIME, MTIME, MTIME + 1000, MTIME + 1000].map((ms) => `${ms}000000`));
    assert.deepEqual(b.points, a.points);
    assert.ok(a.summary.notes.includes('base time source: file mtime'));
    assert.deepEqual(a.summary.warnings, []);
  });

  test('parseStream says where the base time came from; "now" is warned about', async () => {
    const mtime = await streamAll(DMON, { fileName: 'd.txt', baseTimeMs: MTIME, baseTimeSource: 'file mtime' });
    assert.ok(mtime.summary.notes.includes('base time source: file mtime'));
    assert.deepEqual(mtime.summary.warnings, []);
    const now = await streamAll(DMON, { fileName: 'stdin', baseTimeMs: Date.now(), baseTimeSource: 'now' });
    assert.ok(now.summary.warnings.some((w) => /derived from the current time .*--base-time/.test(w)), now.summary.warnings.join('\n'));
    // A file with timestamp columns never warns, whatever the base time source.
    const csv = await streamAll('timestamp, index, temperature.gpu\n2025/01/31 12:00:00.000, 0, 40\n', { fileName: 'stdin', baseTimeSource: 'now' });
    assert.deepEqual(csv.summary.warnings, []);
  });

  test('an invalid base time is a ParseError, not a crash', async () => {
    await assert.rejects(streamAll(DMON, { fileName: 'd.txt', baseTimeMs: Number.NaN }), { name: 'ParseError', message: /baseTimeMs must be epoch ms/ });
  });
});

describe('options fingerprint', () => {
  const base: ParseOptions = { fileName: 'gpu.csv', baseTimeMs: MTIME };
  const fp = (o: Partial<ParseOptions>) => optionsFingerprint({ ...base, ...o });

  test('12 hex digits, stable for the same options', () => {
    assert.match(fp({}), /^[0-9a-f]{12}$/);
    assert.equal(fp({}), fp({}));
  });

  test('every option that changes the points changes it', () => {
    const variants: Partial<ParseOptions>[] = [
      { timeZone: 'Europe/Paris' },
      { device: 'rig-7' },
      { host: 'node-07' },
      { columns: ['timestamp', 'index', 'temperature.gpu'] },
      { format: 'nvidia-smi-csv' },
      { intervalMs: 500 },
      { baseTimeMs: MTIME + 1 },
      { fileName: 'other.csv' },
      { minTimeMs: Date.UTC(2020, 0, 1) },
      { maxFutureMs: 0 },
    ];
    const seen = new Set([fp({})]);
    for (const v of variants) {
      const f = fp(v);
      assert.ok(!seen.has(f), `${JSON.stringify(v)} must change the fingerprint`);
      seen.add(f);
    }
  });

  test('equivalent spellings and options that do not shape points leave it unchanged', () => {
    const utc = fp({});
    for (const tz of ['UTC', 'utc', 'Etc/UTC', 'GMT']) assert.equal(fp({ timeZone: tz }), utc, tz);
    assert.equal(fp({ timeZone: 'europe/paris' }), fp({ timeZone: 'Europe/Paris' }));
    assert.equal(fp({ host: '' }), utc);
    assert.equal(fp({ intervalMs: 1000 }), utc);
    assert.equal(fp({ fileName: '/some/dir/gpu.csv' }), utc, 'only the base name is an identity input');
    assert.equal(fp({ columns: [' timestamp', 'index '] }), fp({ columns: ['timestamp', 'index'] }));
    assert.equal(fp({ chunkSize: 10, resumeAfterLine: 99, baseTimeSource: 'file mtime' }), utc);
    assert.equal(pointOptions({ ...base }).timeZone, 'UTC');
  });
});

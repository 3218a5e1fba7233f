import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseFile, parseStream, parseText, type ParseChunk, type ParseOptions, type ParseSummary } from '../../../lib/parse/index.ts';
import type { Point } from '../../../lib/point.ts';
import { FIXTURES, fixture } from './helpers.ts';

async function collect(input: AsyncIterable<Buffer | string>, opts: ParseOptions) {
  const chunks: ParseChunk[] = [];
  const gen = parseStream(input, opts);
  for (;;) {
    const r = await gen.next();
    if (r.done) return { chunks, points: chunks.flatMap((c) => c.points), summary: r.value as ParseSummary };
    chunks.push(r.value);
  }
}

async function* pieces(buf: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (c <= at || c >= buf.length) continue;
    yield buf.subarray(at, c);
    at = c;
  }
  yield buf.subarray(at);
}

const FILES = ['nvsmi-units-quirks.csv', 'nvsmi-repeated-header.csv', 'generic-epochs.csv', 'dmon-dt.txt', 'dcgm-mig-blanks.prom'];

describe('parseStream', () => {
  test('splitting the input anywhere gives the same points and summary as parseText', async () => {
    for (const name of FILES) {
      const text = fixture(name);
      const buf = Buffer.from(text);
      const opts = { fileName: name, baseTimeMs: 1_700_000_000_000 };
      const expected = parseText(text, opts);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: buf.length - 1 }), { maxLength: 12 }), async (cuts) => {
          const got = await collect(pieces(buf, cuts), opts);
          assert.deepEqual(got.points, expected.points);
          assert.deepEqual(got.summary, expected.summary);
        }),
        { numRuns: 25 },
      );
    }
  });

  test('chunks respect chunkSize, carry increasing endLine, and resumeAfterLine continues after a chunk', async () => {
    const lines = ['timestamp, index, temperature.gpu'];
    for (let i = 0; i < 100; i++) lines.push(`2024/01/31 12:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(3, '0')}, ${i % 4}, ${40 + (i % 10)}`);
    const text = lines.join('\n') + '\n';
    const all = await collect(pieces(Buffer.from(text), [500, 1000, 1500, 2000, 2500, 3000, 3500]), { fileName: 'r.csv', chunkSize: 10 });
    assert.equal(all.points.length, 100);
    assert.ok(all.chunks.length >= 3);
    for (let i = 1; i < all.chunks.length; i++) assert.ok(all.chunks[i]!.endLine > all.chunks[i - 1]!.endLine);
    const first = all.chunks[0]!;
    // endLine = physical line of the last record read: points of lines 2..endLine are in chunk 1 or later ones are not.
    const resumed = await collect(pieces(Buffer.from(text), [700]), { fileName: 'r.csv', resumeAfterLine: first.endLine });
    const alreadyPublished = first.endLine - 1; // header is line 1
    assert.equal(first.points.length, alreadyPublished);
    assert.deepEqual(resumed.points, all.points.slice(alreadyPublished));
    assert.equal(resumed.summary.rows, 100 - alreadyPublished);
  });

  test('UTF-16LE with BOM (PowerShell redirection) parses like UTF-8', async () => {
    const text = fixture('nvsmi-windows-wddm.csv');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const opts = { fileName: 'w.csv', timeZone: 'America/New_York' };
    const got = await collect(pieces(utf16, [3, 101, 250]), opts);
    assert.deepEqual(got.points, parseText(text, opts).points);
    assert.equal(got.points.length, 2);
  });

  test('UTF-8 BOM is ignored', async () => {
    const text = fixture('nvsmi-power-only.csv');
    const got = await collect(pieces(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), []), { fileName: 'p.csv' });
    assert.equal(got.summary.rows, 3);
    assert.equal(got.points[0]!.fields.power_w, 22.89);
  });

  test('empty input yields no points and a warning', async () => {
    const got = await collect(pieces(Buffer.alloc(0), []), { fileName: 'empty.csv' });
    assert.equal(got.points.length, 0);
    assert.equal(got.summary.rows, 0);
    assert.deepEqual(got.summary.warnings, ['empty input: no header and no rows']);
  });
});

describe('parseFile', () => {
  test('re-parsing the same file gives identical ts and device (dmon derived time uses the file mtime)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parse-file-'));
    try {
      const path = join(dir, 'gpu.dmon');
      await writeFile(path, fixture('real/dcgm-exporter__nvml-go-sample-dmon-2gpu.txt'));
      const mtime = new Date(Date.UTC(2024, 0, 31, 12, 0, 0));
      await utimes(path, mtime, mtime);
      const a = await parseFile(path);
      const b = await parseFile(path);
      const key = (ps: Point[]) => ps.map((p) => `${p.device}@${p.ts}`);
      assert.deepEqual(key(a.points), ['gpu0@1706702400000000000', 'gpu1@1706702400000000000']);
      assert.deepEqual(key(b.points), key(a.points));
      assert.equal(a.summary.format, 'dmon');
      assert.ok(a.summary.notes.includes('base time source: file mtime'));
      assert.deepEqual(a.summary.warnings, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('fileName defaults to the path; the device falls back to its basename', async () => {
    const { summary, points } = await parseFile(FIXTURES + 'nvsmi-power-only.csv');
    assert.equal(summary.file, FIXTURES + 'nvsmi-power-only.csv');
    assert.equal(points[0]!.device, 'nvsmi-power-only');
  });
});

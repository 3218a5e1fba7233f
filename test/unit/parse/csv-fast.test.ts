/**
 * The quote-free CSV fast path (lib/parse/csv-fast.ts) against csv-parse:
 * the same records, line numbers, syntax errors and record timing per write,
 * then the same points, chunks and summaries through the whole parser.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { CsvRecordReader } from '../../../lib/parse/csv.ts';
import { QuoteFreeTokenizer } from '../../../lib/parse/csv-fast.ts';
import { parseStreamWith, parseTextWith, type ParseInternals } from '../../../lib/parse/parse.ts';
import type { ParseChunk, ParseOptions, ParseSummary } from '../../../lib/parse/index.ts';
import { sampleLines, SAMPLE_HEADER } from '../../../lib/sample/generate-sample.ts';
import { FIXTURES, fixture } from './helpers.ts';

type Event = ['record', number, string[]] | ['syntax', number | undefined, string] | ['write'] | ['error', string];

function handler(events: Event[]) {
  return {
    record: (cells: string[], line: number) => void events.push(['record', line, [...cells]]),
    syntaxError: (line: number | undefined, message: string) => void events.push(['syntax', line, message]),
  };
}

function readAll(text: string, fastPath: boolean): Event[] {
  const events: Event[] = [];
  new CsvRecordReader(handler(events), fastPath).all(text);
  return events;
}

async function readStream(bytes: Buffer, cuts: number[], fastPath: boolean): Promise<Event[]> {
  const events: Event[] = [];
  const reader = new CsvRecordReader(handler(events), fastPath);
  for (const piece of split(bytes, cuts)) {
    reader.write(piece);
    events.push(['write']);
  }
  await reader.end();
  return events;
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (c <= at || c >= buf.length) continue;
    out.push(buf.subarray(at, c));
    at = c;
  }
  if (at < buf.length || out.length === 0) out.push(buf.subarray(at));
  return out;
}

/** Mostly nvidia-smi-like cells, with the characters that matter to a CSV reader mixed in. */
const cell = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('12', ' 45 %', ' 300.25 W', ' [N/A]', '', ' 2024/01/31 12:34:56.789', ' NVIDIA A100', 'x') },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.constantFrom('a', '1', ' ', '\t', '"', '\r', '\n', 'é', '€', '\u00a0', '\u2028', '\ufeff', '\x01', ';'), { maxLength: 6 })
      .map((cs) => cs.join('')),
  },
);
const lineEnd = fc.constantFrom('\n', '\n', '\r\n', '\r\n', '\r', '');
const csvText = fc
  .array(fc.tuple(fc.array(cell, { minLength: 1, maxLength: 5 }), lineEnd), { maxLength: 12 })
  .map((lines) => lines.map(([cells, end]) => cells.join(',') + end).join(''));
/** Byte input: the text, sometimes with invalid or split UTF-8 inserted. */
const csvBytes = fc.tuple(csvText, fc.array(fc.tuple(fc.nat(), fc.constantFrom(0xff, 0xc3, 0xe2, 0x80)), { maxLength: 2 })).map(([text, junk]) => {
  const bytes = [...Buffer.from(text)];
  for (const [at, b] of junk) bytes.splice(bytes.length === 0 ? 0 : at % (bytes.length + 1), 0, b);
  return Buffer.from(bytes);
});

describe('quote-free CSV fast path vs csv-parse: records', () => {
  test('whole text: same records, lines and syntax errors (random input, lone surrogates included)', () => {
    fc.assert(
      fc.property(csvText, fc.boolean(), (text, surrogate) => {
        const t = surrogate ? text.slice(0, text.length >> 1) + '\ud800' + text.slice(text.length >> 1) : text;
        assert.deepEqual(readAll(t, true), readAll(t, false));
      }),
      { numRuns: 20_000 },
    );
  });

  test('stream: same records, lines and errors after the same write, for any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(csvBytes, fc.array(fc.nat(), { maxLength: 8 }), async (bytes, rawCuts) => {
        const cuts = rawCuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length));
        assert.deepEqual(await readStream(bytes, cuts, true), await readStream(bytes, cuts, false));
      }),
      { numRuns: 20_000 },
    );
  });

  test('byte-by-byte streaming of LF, CRLF and mixed files', async () => {
    const texts = [
      'a, b\n1, 2\n\n3, 4,\n',
      'a, b\r\n1, 2\r\n\r\n3, 4\r\n5',
      'a\n1\r\n2\n',
      'a\r\n1\n2\r\n',
      'a,b\n1,"x\ny"\n2,3\n',
      'a\r1\r2',
      '\n\n\na\n',
    ];
    for (const text of texts) {
      const bytes = Buffer.from(text);
      const cuts = Array.from({ length: bytes.length }, (_, i) => i);
      assert.deepEqual(await readStream(bytes, cuts, true), await readStream(bytes, cuts, false), JSON.stringify(text));
      assert.deepEqual(readAll(text, true), readAll(text, false), JSON.stringify(text));
    }
  });

  test('hand-over after many lines (blank-line prefix in several blocks) and a line longer than the pending limit', async () => {
    const long = 'h1,h2\r\n' + '1,2\r\n'.repeat(600_000) + '3,"a\r\nb"\r\n4,5\r\n';
    const bytes = Buffer.from(long);
    const cuts = Array.from({ length: 20 }, (_, i) => Math.floor((i * bytes.length) / 20) + 1);
    const [fast, ref] = [await readStream(bytes, cuts, true), await readStream(bytes, cuts, false)];
    assert.deepEqual(fast.slice(-6), ref.slice(-6));
    assert.equal(fast.length, ref.length);
    // csv-parse counts the CR and the LF inside the quoted cell as two lines; so must we.
    assert.deepEqual(fast.filter((e) => e[0] === 'record').slice(-2), [
      ['record', 600_004, ['3', 'a\r\nb']],
      ['record', 600_005, ['4', '5']],
    ]);
    assert.deepEqual(readAll(long, true).slice(-2), readAll(long, false).slice(-2));
    const huge = Buffer.from('a,b\n' + 'x'.repeat(3 << 20) + ',y\n1,2\n');
    const hugeCuts = Array.from({ length: 60 }, (_, i) => i * 65_536 + 7);
    assert.deepEqual(await readStream(huge, hugeCuts, true), await readStream(huge, hugeCuts, false));
  });

  test('the fast path reads a clean nvidia-smi file itself and hands over at the first quote', () => {
    const seen: number[] = [];
    const fast = new QuoteFreeTokenizer((_cells, line) => seen.push(line));
    const text = 'a, b\r\n1, 2\r\n3, "4"\r\n5, 6\r\n';
    const at = fast.all(text);
    assert.equal(text.slice(at), '3, "4"\r\n5, 6\r\n');
    assert.deepEqual(seen, [1, 2]);
    assert.equal(fast.delimiter, 'crlf');
    const clean = new QuoteFreeTokenizer(() => {});
    const sample = [...sampleLines({ gpus: 2, samples: 50, startMs: Date.UTC(2025, 0, 1), seed: 3 })].join('\n') + '\n';
    assert.equal(clean.all(sample), sample.length);
    assert.equal(clean.lines, 101);
  });
});

async function streamChunks(bytes: Buffer, cuts: number[], opts: ParseOptions, internals: ParseInternals) {
  async function* input() {
    for (const piece of split(bytes, cuts)) yield piece;
  }
  const chunks: ParseChunk[] = [];
  const gen = parseStreamWith(input(), opts, 'option', internals);
  for (;;) {
    const r = await gen.next();
    if (r.done) return { chunks, summary: r.value as ParseSummary };
    chunks.push(r.value);
  }
}

/** parseText and parseStream (several chunkings) agree between the fast path and csv-parse; errors too. */
async function assertSameParse(text: string, opts: ParseOptions, label: string): Promise<void> {
  const run = <T>(f: () => T): T | { error: string } => {
    try {
      return f();
    } catch (err) {
      return { error: String(err) };
    }
  };
  const runAsync = async <T>(f: () => Promise<T>): Promise<T | { error: string }> => {
    try {
      return await f();
    } catch (err) {
      return { error: String(err) };
    }
  };
  assert.deepEqual(
    run(() => parseTextWith(text, opts)),
    run(() => parseTextWith(text, opts, { csvFastPath: false })),
    `${label}: parseText`,
  );
  const bytes = Buffer.from(text);
  const n = bytes.length;
  for (const cuts of [[], [1, 2, 3], [Math.floor(n / 3), Math.floor((2 * n) / 3)], Array.from({ length: 40 }, (_, i) => Math.floor((i * n) / 40) + (i % 3))]) {
    const o = { ...opts, chunkSize: 7 };
    assert.deepEqual(
      await runAsync(() => streamChunks(bytes, cuts, o, {})),
      await runAsync(() => streamChunks(bytes, cuts, o, { csvFastPath: false })),
      `${label}: parseStream cuts ${cuts.length}`,
    );
  }
}

describe('quote-free CSV fast path vs csv-parse: points and rejections', () => {
  test('every fixture under test/fixtures/parse (CSV read as nvidia-smi and as generic CSV)', async () => {
    const names = [...readdirSync(FIXTURES).filter((f) => /\.(csv|txt|prom)$/.test(f)), ...readdirSync(FIXTURES + 'real').map((f) => `real/${f}`)];
    assert.ok(names.length >= 18);
    for (const name of names) {
      const text = fixture(name);
      const base = { fileName: name, baseTimeMs: 1_700_000_000_000, maxFutureMs: 1e13 };
      await assertSameParse(text, base, name);
      if (name.endsWith('.csv')) {
        await assertSameParse(text, { ...base, format: 'generic-csv' }, `${name} generic`);
        await assertSameParse(text.replace(/\n/g, '\r\n'), base, `${name} CRLF`);
      }
    }
    // noheader with --columns
    const noheader = fixture('nvsmi-noheader.csv');
    await assertSameParse(noheader, { fileName: 'n.csv', columns: ['timestamp', 'index', 'temperature.gpu', 'utilization.gpu [%]'], maxFutureMs: 1e13 }, 'noheader');
  });

  test('a generated file with bad rows, quotes, CRLF, blank lines, trailing commas and repeated headers', async () => {
    const lines = [...sampleLines({ gpus: 4, samples: 60, startMs: Date.UTC(2025, 5, 1), seed: 7 })];
    const bad = [...lines];
    bad.splice(10, 0, '2025/06/01 00:00:01.000, NVIDIA A100-SXM4-40GB, 00000000:10:00.0'); // short row
    bad.splice(20, 0, 'not a time, NVIDIA A100, 00000000:10:00.0, GPU-x, 0, 40, 1 W, 2 W, 3 %, 4 %, 5 MiB, 6 MiB, 7 MHz, 8 MHz, 9 %, 0x0'); // bad timestamp
    bad[30] = bad[30]!.replace(/, \d+ %, /, ', lots %, '); // unknown unit
    bad[31] = bad[31]!.replace(/ W,/, ' MHz,'); // wrong dimension
    bad[32] = bad[32]!.replace(/0x[0-9a-f]+$/, '0xZZ'); // bad bitmask
    bad[33] = bad[33]! + ',,'; // trailing commas
    bad.splice(40, 0, '', '   ', SAMPLE_HEADER); // blank lines, repeated header
    bad.splice(50, 0, '2300/01/01 00:00:00.000, NVIDIA A100, 00000000:10:00.0, GPU-y, 0, 40, 1 W, 2 W, 3 %, 4 %, 5 MiB, 6 MiB, 7 MHz, 8 MHz, 9 %, 0x0'); // out of range
    const clean = bad.join('\n') + '\n';
    const quoted = [...bad];
    quoted[120] = quoted[120]!.replace('NVIDIA A100-SXM4-40GB', '"NVIDIA A100-SXM4-40GB"');
    quoted[150] = quoted[150]!.replace('NVIDIA A100-SXM4-40GB', '"NVIDIA, A100"');
    quoted[180] = quoted[180]!.replace('NVIDIA A100-SXM4-40GB', '"unclosed');
    const variants: Record<string, string> = {
      clean,
      crlf: clean.replace(/\n/g, '\r\n'),
      'no final newline': clean.slice(0, -1),
      quoted: quoted.join('\n') + '\n',
      'quoted crlf': quoted.join('\r\n'),
      'stray cr': clean.replace(bad[100]! + '\n', bad[100]! + '\r\n'),
      'lone lf in crlf': clean.replace(/\n/g, '\r\n').replace(bad[90]! + '\r\n', bad[90]! + '\n'),
    };
    for (const [label, text] of Object.entries(variants)) {
      const opts = { fileName: 'gen.csv', maxFutureMs: 1e13 };
      await assertSameParse(text, opts, label);
      const r = parseTextWith(text, opts);
      assert.ok(r.summary.rejected >= 6, `${label}: ${r.summary.rejected} rejections`);
    }
    const r = parseTextWith(variants.clean!, { fileName: 'gen.csv', maxFutureMs: 1e13 });
    assert.deepEqual(
      r.summary.rejections.map((x) => x.line),
      [11, 21, 31, 32, 33, 51],
    );
  });
});

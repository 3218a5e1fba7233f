/**
 * Parse throughput benchmark (not a test), one process, one parsing thread:
 * writes the 16-column nvidia-smi sample (`writeSample`, 8 GPUs, units in
 * cells) and the 212-column capture (`wideCaptureLines`) to a temp dir, then
 * streams each through parseStream (parseFile's path, 256 KiB reads) `--runs`
 * times and reports the median. Points are counted and dropped, as a
 * publisher would. Prints a table, then one JSON object on the last line.
 *
 *   npx tsx test/bench/parse-bench.ts [--rows16 1000000] [--rows212 100000] [--runs 3] [--csv-parse]
 *
 * rows/s is wall time; rows/cpu-s divides by the process's CPU time (GC
 * helper threads included), which other load on the machine disturbs less.
 * `--csv-parse` also measures the csv-parse-only reference path (the CSV
 * fast path off) in the same process.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseStreamWith, type ParseInternals } from '../../lib/parse/parse.ts';
import { writeLines, writeSample } from '../../lib/sample/generate-sample.ts';
import { WIDE_COLUMNS, wideCaptureLines } from '../../lib/sample/wide-capture.ts';

const { values: args } = parseArgs({
  options: {
    rows16: { type: 'string', default: '1000000' },
    rows212: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    'csv-parse': { type: 'boolean', default: false },
  },
});
const ROWS16 = Number(args.rows16);
const ROWS212 = Number(args.rows212);
const RUNS = Math.max(1, Number(args.runs));
const GPUS = 8;

interface FileResult {
  file: string;
  columns: number;
  path: 'fast' | 'csv-parse';
  rows: number;
  points: number;
  rejected: number;
  bytes: number;
  rows_per_s: number;
  rows_per_cpu_s: number;
  mb_per_s: number;
  peak_rss_mib: number;
  runs_rows_per_s: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;


async function measure(name: string, columns: number, path: string, internals: ParseInternals): Promise<FileResult> {
  const bytes = (await stat(path)).size;
  const rates: number[] = [];
  const cpuRates: number[] = [];
  let peakRss = process.memoryUsage().rss;
  let last = { rows: 0, points: 0, rejected: 0 };
  for (let run = 0; run < RUNS; run++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let points = 0;
    const gen = parseStreamWith(createReadStream(path, { highWaterMark: 256 * 1024 }), { fileName: path, maxFutureMs: 1e13 }, 'option', internals);
    let r = await gen.next();
    while (!r.done) {
      points += r.value.points.length;
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      r = await gen.next();
    }
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    last = { rows: r.value.rows, points, rejected: r.value.rejected };
    rates.push(Math.round(r.value.rows / secs));
    cpuRates.push(Math.round(r.value.rows / ((cpu.user + cpu.system) / 1e6)));
  }
  const rowsPerS = median(rates);
  return {
    file: name,
    columns,
    path: internals.csvFastPath === false ? 'csv-parse' : 'fast',
    ...last,
    bytes,
    rows_per_s: rowsPerS,
    rows_per_cpu_s: median(cpuRates),
    mb_per_s: Number(((rowsPerS * bytes) / last.rows / 1e6).toFixed(1)),
    peak_rss_mib: Math.round(peakRss / 1024 / 1024),
    runs_rows_per_s: rates,
  };
}

const dir = await mkdtemp(join(tmpdir(), 'parse-bench-'));
try {
  const f16 = join(dir, 'nvidia-smi-16.csv');
  const f212 = join(dir, 'nvidia-smi-212.csv');
  const g0 = performance.now();
  await writeSample(f16, { gpus: GPUS, samples: Math.ceil(ROWS16 / GPUS), startMs: Date.UTC(2025, 5, 1), seed: 1 });
  await writeLines(f212, wideCaptureLines(ROWS212, GPUS));
  console.log(`generated ${f16} and ${f212} in ${((performance.now() - g0) / 1000).toFixed(1)} s; ${RUNS} runs each, median`);

  const results: FileResult[] = [];
  for (const internals of args['csv-parse'] ? [{}, { csvFastPath: false }] : [{}]) {
    results.push(await measure('nvidia-smi 16 columns', 16, f16, internals));
    results.push(await measure(`nvidia-smi ${WIDE_COLUMNS} columns`, WIDE_COLUMNS, f212, internals));
  }
  const row = (cells: (string | number)[]) => cells.map((c, i) => String(c)[i < 2 ? 'padEnd' : 'padStart'](i === 0 ? 22 : 10)).join('  ');
  console.log(row(['file', 'path', 'rows', 'MB', 'rows/s', 'rows/cpu-s', 'MB/s', 'peak RSS', 'runs rows/s']));
  for (const r of results) {
    console.log(
      row([
        r.file,
        r.path,
        r.rows.toLocaleString('en'),
        (r.bytes / 1e6).toFixed(1),
        r.rows_per_s.toLocaleString('en'),
        r.rows_per_cpu_s.toLocaleString('en'),
        r.mb_per_s,
        `${r.peak_rss_mib} MiB`,
        r.runs_rows_per_s.map((x) => x.toLocaleString('en')).join(' / '),
      ]),
    );
  }
  console.log(JSON.stringify({ runs: RUNS, node: process.version, files: results }));
} finally {
  await rm(dir, { recursive: true, force: true });
}

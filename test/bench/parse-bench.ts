/**
 * Parse throughput benchmark (not a test): generates a 1M-row, 8-GPU
 * nvidia-smi CSV (8 columns, units in cells, as `--query-gpu … --format=csv`
 * writes it) in a temp dir, streams it through parseFile's streaming path and
 * prints rows/s and peak RSS.
 *
 *   npx tsx test/bench/parse-bench.ts [rows]
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser } from 'csv-parse';
import { parseStream } from '../../lib/parse/index.ts';

/** csv-parse alone with the same options and record hand-off: the ceiling for parseStream on this machine. */
async function csvParseOnly(file: string): Promise<number> {
  let n = 0;
  class Counting extends Parser {
    override push(chunk: unknown, encoding?: BufferEncoding): boolean {
      if (chunk === null) return super.push(chunk, encoding);
      n++;
      return true;
    }
  }
  const p = new Counting({ relax_column_count: true, relax_quotes: true, skip_records_with_error: true });
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) p.write(chunk);
  await new Promise<void>((resolve) => {
    p.once('end', resolve);
    p.resume();
    p.end();
  });
  return n;
}

const rows = Number(process.argv[2] ?? 1_000_000);
const gpus = 8;

async function generate(path: string): Promise<void> {
  const fh = await open(path, 'w');
  const header =
    'timestamp, index, pci.bus_id, temperature.gpu, power.draw [W], utilization.gpu [%], memory.used [MiB], clocks.sm [MHz]\n';
  let buf = header;
  const t0 = Date.UTC(2024, 0, 31, 12, 0, 0);
  let seed = 42;
  const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) & 0x7fff_ffff) / 0x7fff_ffff);
  for (let i = 0; i < rows; i++) {
    const g = i % gpus;
    const t = new Date(t0 + Math.floor(i / gpus) * 1000 + g);
    const ts = `${t.getUTCFullYear()}/${String(t.getUTCMonth() + 1).padStart(2, '0')}/${String(t.getUTCDate()).padStart(2, '0')} ${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}:${String(t.getUTCSeconds()).padStart(2, '0')}.${String(t.getUTCMilliseconds()).padStart(3, '0')}`;
    buf += `${ts}, ${g}, 00000000:${(0x18 + g * 0x10).toString(16).toUpperCase()}:00.0, ${40 + Math.floor(rnd() * 40)}, ${(100 + rnd() * 300).toFixed(2)} W, ${Math.floor(rnd() * 100)} %, ${Math.floor(rnd() * 80_000)} MiB, ${1000 + Math.floor(rnd() * 1000)} MHz\n`;
    if (buf.length > 1 << 20) {
      await fh.write(buf);
      buf = '';
    }
  }
  await fh.write(buf);
  await fh.close();
}

const dir = await mkdtemp(join(tmpdir(), 'parse-bench-'));
try {
  const file = join(dir, 'bench-8gpu.csv');
  const g0 = performance.now();
  await generate(file);
  const size = (await stat(file)).size;
  console.log(`generated ${rows.toLocaleString('en')} rows, ${(size / 1e6).toFixed(1)} MB in ${((performance.now() - g0) / 1000).toFixed(1)} s`);

  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const t0 = performance.now();
  let points = 0;
  let chunks = 0;
  const gen = parseStream(createReadStream(file, { highWaterMark: 256 * 1024 }), { fileName: file });
  let r = await gen.next();
  while (!r.done) {
    points += r.value.points.length; // points are dropped after counting, as a publisher would
    chunks++;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    r = await gen.next();
  }
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const s = r.value;
  console.log(`parsed rows=${s.rows} points=${points} rejected=${s.rejected} chunks=${chunks} in ${secs.toFixed(2)} s`);
  console.log(`throughput: ${Math.round(s.rows / secs).toLocaleString('en')} rows/s, ${(size / 1e6 / secs).toFixed(1)} MB/s`);
  console.log(`peak RSS: ${(peakRss / 1024 / 1024).toFixed(0)} MiB`);
  const b0 = performance.now();
  const records = await csvParseOnly(file);
  const bsecs = (performance.now() - b0) / 1000;
  console.log(
    `baseline csv-parse alone: ${Math.round(records / bsecs).toLocaleString('en')} records/s (parseStream reaches ${((s.rows / secs / (records / bsecs)) * 100).toFixed(0)} % of it)`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

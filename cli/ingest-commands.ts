/** `ingest` and `parse`: thin shells over lib/stream/ingest and lib/parse. */
import { existsSync, statSync, createReadStream, readdirSync, openSync, readSync, closeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import type { Config } from '../lib/config.ts';
import { parseStream, type ParseOptions, type ParseSummary } from '../lib/parse/index.ts';
import { ingestFile, type IngestSummary, type IngestTarget } from '../lib/stream/ingest.ts';
import type { JetStreamClient } from 'nats';
import { connectNats, ensureTopology } from '../lib/stream/jetstream.ts';
import { resolveEndpoints } from '../infra/stack/endpoints.ts';

export interface ParseCliOptions {
  host?: string;
  device?: string;
  format?: ParseOptions['format'];
  tz?: string;
  columns?: string;
  interval?: string;
}

export function parseOptionsFrom(cfg: Config, o: ParseCliOptions): Partial<ParseOptions> {
  return {
    host: o.host,
    device: o.device,
    format: o.format,
    timeZone: o.tz ?? cfg.INGEST_TIMEZONE,
    columns: o.columns?.split(',').map((s) => s.trim()),
    intervalMs: o.interval ? Number(o.interval) : undefined,
  };
}

/** Expands simple globs (`*`, `?` in the last path segment) without a shell; `-` = stdin. */
export function expandInputs(patterns: string[]): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    if (p === '-' || !/[*?]/.test(p)) {
      out.push(p);
      continue;
    }
    const dir = dirname(p);
    const re = new RegExp(`^${basename(p).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    const matches = existsSync(dir) ? readdirSync(dir).filter((f) => re.test(f)).sort() : [];
    if (!matches.length) throw new Error(`no file matches ${p}`);
    out.push(...matches.map((f) => join(dir, f)));
  }
  return out;
}

/**
 * Where and how file-like sources (files, stdin, scrapes) publish: batches per
 * partition, PUBLISH_ATTEMPTS_FILE with backoff, and waiting while the stream is full.
 */
function fileTarget(cfg: Config, js: JetStreamClient): Omit<IngestTarget, 'checkpointDir'> {
  return {
    js,
    subjectPrefix: cfg.SUBJECT_PREFIX,
    partitions: cfg.PARTITIONS_PER_TOPIC,
    batchPoints: cfg.BATCH_POINTS,
    policy: {
      attempts: cfg.PUBLISH_ATTEMPTS_FILE,
      backoffFactor: cfg.BACKOFF_FACTOR,
      initialDelayMs: cfg.RETRY_INITIAL_MS,
      maxDelayMs: cfg.RETRY_MAX_MS,
      waitWhenFull: true,
      onRetry: ({ full, delayMs, error }) => {
        if (!full) console.error(`publish retry in ${delayMs} ms: ${error.message}`);
      },
    },
  };
}

/** Line count estimated from the first 64 KiB (for the progress bar only). */
function estimateLines(path: string, size: number): number {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, 65_536));
    const n = readSync(fd, buf, 0, buf.length, 0);
    const lines = buf.subarray(0, n).toString('utf8').split('\n').length - 1;
    return Math.max(1, Math.round(lines ? (size / n) * lines : 1));
  } finally {
    closeSync(fd);
  }
}

/** stdin is spooled to a temp file: ingestion needs a digest (dedup) and a re-readable source (resume). */
async function spoolStdin(): Promise<string> {
  const path = join(tmpdir(), `telemetry-stdin-${process.pid}.csv`);
  await pipeline(process.stdin, createWriteStream(path));
  return path;
}

export interface IngestTotals {
  rows: number;
  points: number;
  rejected: number;
  rejections: IngestSummary['rejections'];
  duplicates: number;
  elapsed_s: number;
  points_per_s: number;
  files: IngestSummary[];
}

export async function runIngest(cfg: Config, inputs: string[], o: ParseCliOptions & { progress?: boolean }): Promise<IngestTotals> {
  const ep = resolveEndpoints(cfg);
  const nc = await connectNats(ep.nats.url, 'telemetry-ingest');
  const started = performance.now();
  const files: IngestSummary[] = [];
  try {
    const jsm = await nc.jetstreamManager();
    await ensureTopology(jsm, cfg);
    const js = nc.jetstream();
    for (const input of expandInputs(inputs)) {
      const path = input === '-' ? await spoolStdin() : resolve(input);
      const size = statSync(path).size;
      const totalLines = estimateLines(path, size);
      const bar =
        o.progress !== false && process.stderr.isTTY
          ? new cliProgress.SingleBar(
              { format: `${basename(path)} [{bar}] {percentage}% | {points} points | {rate} pts/s`, stream: process.stderr },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      bar?.start(totalLines, 0, { points: 0, rate: 0 });
      const t0 = performance.now();
      const summary = await ingestFile(
        path,
        {
          ...fileTarget(cfg, js),
          checkpointDir: join(resolve(cfg.DATA_DIR), 'ingest'),
        },
        { ...parseOptionsFrom(cfg, o), fileName: input === '-' ? 'stdin' : basename(path) },
        bar
          ? (p) => {
              const secs = (performance.now() - t0) / 1_000;
              bar.update(Math.min(totalLines, p.rows), { points: p.points, rate: Math.round(p.points / Math.max(secs, 0.001)) });
            }
          : undefined,
      );
      bar?.update(totalLines);
      bar?.stop();
      files.push(summary);
    }
  } finally {
    await nc.drain().catch(() => {});
  }
  const elapsed = (performance.now() - started) / 1_000;
  const points = files.reduce((s, f) => s + f.points, 0);
  return {
    rows: files.reduce((s, f) => s + f.rows, 0),
    points,
    rejected: files.reduce((s, f) => s + f.rejected, 0),
    rejections: files.flatMap((f) => f.rejections),
    duplicates: files.reduce((s, f) => s + f.duplicates, 0),
    elapsed_s: Number(elapsed.toFixed(3)),
    points_per_s: Math.round(points / Math.max(elapsed, 1e-6)),
    files,
  };
}

/** `parse`: the same parse as ingest, without servers. */
export async function runParse(
  cfg: Config,
  input: string,
  o: ParseCliOptions & { points?: boolean },
  writePoint: (line: string) => void,
): Promise<ParseSummary & { elapsed_s: number; points_per_s: number; duplicates: number }> {
  const t0 = performance.now();
  const path = input === '-' ? await spoolStdin() : resolve(input);
  const gen = parseStream(createReadStream(path), { ...parseOptionsFrom(cfg, o), fileName: input === '-' ? 'stdin' : basename(path) });
  let summary: ParseSummary;
  for (;;) {
    const n = await gen.next();
    if (n.done) {
      summary = n.value;
      break;
    }
    if (o.points) for (const p of n.value.points) writePoint(JSON.stringify(p));
  }
  const elapsed = (performance.now() - t0) / 1_000;
  return { ...summary, duplicates: 0, elapsed_s: Number(elapsed.toFixed(3)), points_per_s: Math.round(summary.points / Math.max(elapsed, 1e-6)) };
}

/**
 * `scrape`: polls a DCGM-exporter /metrics URL and publishes each scrape.
 * Origin = URL digest + scrape time, so a retried publish is deduplicated.
 */
export async function runScrape(
  cfg: Config,
  url: string,
  o: { intervalMs: number; count?: number; host?: string },
  onScrape: (s: { at: string; points: number; error?: string }) => void,
): Promise<{ scrapes: number; points: number; errors: number }> {
  const { pollDcgm } = await import('../lib/parse/index.ts');
  const { publishPoints } = await import('../lib/stream/ingest.ts');
  const { createHash } = await import('node:crypto');
  const ep = resolveEndpoints(cfg);
  const nc = await connectNats(ep.nats.url, 'telemetry-scrape');
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  const tag = createHash('sha256').update(url).digest('hex').slice(0, 12);
  const totals = { scrapes: 0, points: 0, errors: 0 };
  try {
    await ensureTopology(await nc.jetstreamManager(), cfg);
    const js = nc.jetstream();
    for await (const r of pollDcgm(url, o.intervalMs, stop.signal, { host: o.host })) {
      totals.scrapes++;
      if (r.error || !r.result) {
        totals.errors++;
        onScrape({ at: new Date(r.at).toISOString(), points: 0, error: r.error?.message ?? 'no result' });
      } else {
        await publishPoints(
          fileTarget(cfg, js),
          `s:${tag}:${r.at}`,
          r.result.points,
        );
        totals.points += r.result.points.length;
        onScrape({ at: new Date(r.at).toISOString(), points: r.result.points.length });
      }
      if (o.count && totals.scrapes >= o.count) break;
    }
  } finally {
    await nc.drain().catch(() => {});
  }
  return totals;
}

/** `ingest` and `parse`: thin shells over lib/stream/ingest and lib/parse. */
import { existsSync, statSync, createReadStream, readdirSync, openSync, readSync, closeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import type { Config } from '../lib/config.ts';
import {
  optionsFingerprint,
  parseStream,
  resolveBaseTime,
  TimeRange,
  timeRangeFromConfig,
  type BaseTimeSource,
  type ParseOptions,
  type ParseSummary,
} from '../lib/parse/index.ts';
import { ingestFile, type IngestSummary, type IngestTarget } from '../lib/stream/ingest.ts';
import type { JetStreamClient } from 'nats';
import { connectNats, ensureTopology, messageByteLimit } from '../lib/stream/jetstream.ts';
import { resolveEndpoints } from '../infra/stack/endpoints.ts';

export interface ParseCliOptions {
  host?: string;
  device?: string;
  format?: ParseOptions['format'];
  tz?: string;
  columns?: string;
  interval?: string;
  /** `--base-time`: ISO 8601 with offset or epoch ms, for formats without absolute time. */
  baseTime?: string;
}

/** A bad command-line option value: the message names the option. */
export class CliOptionError extends Error {
  override name = 'CliOptionError';
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * `--base-time`: ISO 8601 with a zone (`2024-01-31T12:00:00Z`, `…+01:00`) or
 * epoch milliseconds. A zone-less time would be read in the machine's local
 * zone, and 10-digit epoch seconds as a date in January 1970: both are refused.
 */
export function parseBaseTime(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    if (t.length < 12) throw new CliOptionError(`--base-time ${text}: looks like epoch seconds; give epoch milliseconds or an ISO 8601 time with offset`);
    return Number(t);
  }
  const ms = ISO_WITH_OFFSET.test(t) ? Date.parse(t) : Number.NaN;
  if (!Number.isFinite(ms)) throw new CliOptionError(`--base-time ${text}: expected an ISO 8601 time with offset (2024-01-31T12:00:00Z) or epoch milliseconds`);
  return ms;
}

export function parseOptionsFrom(cfg: Config, o: ParseCliOptions): Partial<ParseOptions> {
  const range = timeRangeFromConfig(cfg);
  let baseTimeMs: number | undefined;
  if (o.baseTime !== undefined) {
    baseTimeMs = parseBaseTime(o.baseTime);
    const r = new TimeRange(range);
    if (baseTimeMs < r.minMs || baseTimeMs > r.maxMs) throw new CliOptionError(`--base-time ${o.baseTime}: outside the accepted range ${r.describe()}`);
  }
  return {
    host: o.host,
    device: o.device,
    format: o.format,
    timeZone: o.tz ?? cfg.INGEST_TIMEZONE,
    columns: o.columns?.split(',').map((s) => s.trim()),
    intervalMs: o.interval ? Number(o.interval) : undefined,
    baseTimeMs,
    minTimeMs: range.minTimeMs,
    maxFutureMs: range.maxFutureMs,
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
 * partition (bounded by points and by the server's max message size, from
 * its INFO), PUBLISH_ATTEMPTS_FILE with backoff, and waiting while the stream is full.
 */
function fileTarget(cfg: Config, js: JetStreamClient, maxMessageBytes: number): Omit<IngestTarget, 'checkpointDir'> {
  return {
    js,
    subjectPrefix: cfg.SUBJECT_PREFIX,
    partitions: cfg.PARTITIONS_PER_TOPIC,
    batchPoints: cfg.BATCH_POINTS,
    maxMessageBytes,
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
  /** Points stored as new by JetStream in this run. */
  published: number;
  /** Every file was already ingested with the same options: nothing was published. */
  alreadyIngested: boolean;
  elapsed_s: number;
  points_per_s: number;
  files: IngestSummary[];
}

export async function runIngest(
  cfg: Config,
  inputs: string[],
  o: ParseCliOptions & { progress?: boolean; force?: boolean },
): Promise<IngestTotals> {
  // Bad option values fail before any connection is made.
  const parseOpts = parseOptionsFrom(cfg, o);
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
          ...fileTarget(cfg, js, messageByteLimit(nc)),
          checkpointDir: join(resolve(cfg.DATA_DIR), 'ingest'),
        },
        { ...parseOpts, fileName: input === '-' ? 'stdin' : basename(path) },
        bar
          ? (p) => {
              const secs = (performance.now() - t0) / 1_000;
              bar.update(Math.min(totalLines, p.rows), { points: p.points, rate: Math.round(p.points / Math.max(secs, 0.001)) });
            }
          : undefined,
        // The spool file's mtime is the spool time: not a stable base time (stdin needs --base-time to be reproducible).
        { force: o.force === true, stableMtime: input !== '-' },
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
    published: files.reduce((s, f) => s + f.published, 0),
    alreadyIngested: files.length > 0 && files.every((f) => f.alreadyIngested),
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
): Promise<
  ParseSummary & { elapsed_s: number; points_per_s: number; duplicates: number; fingerprint: string; baseTime: { time: string; source: BaseTimeSource } }
> {
  const t0 = performance.now();
  const parseOpts = parseOptionsFrom(cfg, o);
  const path = input === '-' ? await spoolStdin() : resolve(input);
  // The same base-time rule as `ingest`: --base-time, else the file's mtime, else (stdin) now, warned.
  const base = resolveBaseTime(parseOpts.baseTimeMs, input === '-' ? undefined : statSync(path).mtimeMs);
  const full: ParseOptions = { ...parseOpts, fileName: input === '-' ? 'stdin' : basename(path), baseTimeMs: base.ms, baseTimeSource: base.source };
  const gen = parseStream(createReadStream(path), full);
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
  return {
    ...summary,
    duplicates: 0,
    fingerprint: optionsFingerprint(full),
    baseTime: { time: new Date(base.ms).toISOString(), source: base.source },
    elapsed_s: Number(elapsed.toFixed(3)),
    points_per_s: Math.round(summary.points / Math.max(elapsed, 1e-6)),
  };
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
    for await (const r of pollDcgm(url, o.intervalMs, stop.signal, { host: o.host, range: timeRangeFromConfig(cfg) })) {
      totals.scrapes++;
      if (r.error || !r.result) {
        totals.errors++;
        onScrape({ at: new Date(r.at).toISOString(), points: 0, error: r.error?.message ?? 'no result' });
      } else {
        await publishPoints(
          fileTarget(cfg, js, messageByteLimit(nc)),
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

/**
 * One-shot and periodic scraping of a DCGM-exporter `/metrics` endpoint.
 * Uses the global fetch with a timeout; scrape time is the timestamp of
 * samples that carry none.
 */
import { parseText } from './parse.ts';
import type { TimeRangeOptions } from './time-range.ts';
import type { ParseResult } from './types.ts';

export interface ScrapeOptions {
  /** Request timeout, ms. Default 5000. */
  timeoutMs?: number;
  host?: string;
  /** fileName used in the summary/rejections (default: the URL). */
  fileName?: string;
  signal?: AbortSignal;
  /** Clock, for tests. */
  now?: () => number;
  /** Accepted sample timestamps (INGEST_MIN_TIME, INGEST_MAX_FUTURE_S); default 1970 … now + 1 day. */
  range?: TimeRangeOptions;
}

export class ScrapeError extends Error {
  override name = 'ScrapeError';
  readonly url: string;
  readonly status: number | undefined;
  constructor(url: string, message: string, status?: number, options?: { cause?: unknown }) {
    super(`scrape ${url}: ${message}`, options);
    this.url = url;
    this.status = status;
  }
}

export async function scrapeDcgm(url: string, opts: ScrapeOptions = {}): Promise<ParseResult> {
  const now = opts.now ?? Date.now;
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 5000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const at = now();
  let text: string;
  try {
    const res = await fetch(url, { signal, headers: { accept: 'text/plain' } });
    if (!res.ok) throw new ScrapeError(url, `HTTP ${res.status}`, res.status);
    text = await res.text();
  } catch (err) {
    if (err instanceof ScrapeError) throw err;
    throw new ScrapeError(url, err instanceof Error ? err.message : String(err), undefined, { cause: err });
  }
  const parseOpts: Parameters<typeof parseText>[1] = { fileName: opts.fileName ?? url, format: 'dcgm', baseTimeMs: at };
  if (opts.host !== undefined) parseOpts.host = opts.host;
  if (opts.range?.minTimeMs !== undefined) parseOpts.minTimeMs = opts.range.minTimeMs;
  if (opts.range?.maxFutureMs !== undefined) parseOpts.maxFutureMs = opts.range.maxFutureMs;
  return parseText(text, parseOpts);
}

export interface PollResult {
  /** Scrape start, epoch ms. */
  at: number;
  result?: ParseResult;
  /** Set when this scrape failed; polling continues. */
  error?: Error;
}

/**
 * Scrapes every `intervalMs` (on a fixed schedule, skipping missed ticks)
 * until `signal` aborts. A failed scrape yields `{ error }` and polling goes on.
 */
export async function* pollDcgm(
  url: string,
  intervalMs: number,
  signal?: AbortSignal,
  opts: Omit<ScrapeOptions, 'signal'> = {},
): AsyncGenerator<PollResult, void> {
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${intervalMs}`);
  const now = opts.now ?? Date.now;
  const start = now();
  let tick = 0;
  while (!signal?.aborted) {
    const at = now();
    try {
      const scrapeOpts: ScrapeOptions = { ...opts, timeoutMs: opts.timeoutMs ?? Math.min(5000, intervalMs) };
      if (signal !== undefined) scrapeOpts.signal = signal;
      yield { at, result: await scrapeDcgm(url, scrapeOpts) };
    } catch (err) {
      if (signal?.aborted) return;
      yield { at, error: err instanceof Error ? err : new Error(String(err)) };
    }
    tick = Math.max(tick + 1, Math.floor((now() - start) / intervalMs) + 1);
    const wait = start + tick * intervalMs - now();
    if (wait > 0) await sleep(wait, signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Entry points: streaming (`parseStream`), whole text (`parseText`) and file
 * (`parseFile`). Every format parser writes into a Collector; this module
 * only wires input, detection and chunking.
 */
import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';
import { stat } from 'node:fs/promises';
import type { Point } from '../point.ts';
import { Collector } from './collector.ts';
import { CsvFormat } from './csv.ts';
import { DcgmFormat } from './dcgm.ts';
import { detectFormat } from './detect.ts';
import { DmonFormat } from './dmon.ts';
import { IdentityResolver } from './identity.ts';
import { TimeRange } from './time-range.ts';
import { TimeZoneResolver } from './timestamp.ts';
import {
  FORMATS,
  ParseError,
  type BaseTimeSource,
  type Format,
  type ParseChunk,
  type ParseOptions,
  type ParseResult,
  type ParseSummary,
} from './types.ts';

const DEFAULT_CHUNK = 5000;
const DETECT_BYTES = 16_384;

interface Driver {
  write(chunk: Buffer | string): void;
  end(): void | Promise<void>;
  /** Whole-text synchronous path. */
  all(text: string): void;
}

interface Context {
  collector: Collector;
  identity: IdentityResolver;
  driver: Driver;
}

/** Largest |epoch ms| a Date can hold. */
const MAX_DATE_MS = 8.64e15;

/**
 * The one rule for formats without absolute time (dmon without time columns,
 * DCGM text without sample timestamps): an explicit base time wins, else the
 * file's mtime (stable across re-runs, so re-ingestion gives the same
 * timestamps), else — no stable source, e.g. stdin — the current time, which
 * the summary warns about.
 */
export function resolveBaseTime(explicitMs: number | undefined, mtimeMs: number | undefined): { ms: number; source: BaseTimeSource } {
  if (explicitMs !== undefined) return { ms: explicitMs, source: 'option' };
  if (mtimeMs !== undefined) return { ms: Math.floor(mtimeMs), source: 'file mtime' };
  return { ms: Date.now(), source: 'now' };
}

/** Test hooks, not part of the API: `csvFastPath: false` reads CSV with csv-parse only (the reference for the fast path). */
export interface ParseInternals {
  csvFastPath?: boolean;
}

function createContext(opts: ParseOptions, format: Format, baseSource: BaseTimeSource, internals: ParseInternals = {}): Context {
  if (!FORMATS.includes(format)) throw new ParseError(opts.fileName, `unknown format "${String(format)}"`);
  let tz: TimeZoneResolver;
  try {
    tz = new TimeZoneResolver(opts.timeZone ?? 'UTC');
  } catch (cause) {
    throw new ParseError(opts.fileName, `unknown time zone "${opts.timeZone}" (expected an IANA name such as Europe/Paris)`, { cause });
  }
  const intervalMs = opts.intervalMs ?? 1000;
  if (!(intervalMs > 0)) throw new ParseError(opts.fileName, `intervalMs must be > 0, got ${opts.intervalMs}`);
  const baseTimeMs = opts.baseTimeMs ?? Date.now();
  if (!Number.isFinite(baseTimeMs) || Math.abs(baseTimeMs) > MAX_DATE_MS) {
    throw new ParseError(opts.fileName, `baseTimeMs must be epoch ms, got ${opts.baseTimeMs}`);
  }
  let range: TimeRange;
  try {
    range = new TimeRange({ minTimeMs: opts.minTimeMs, maxFutureMs: opts.maxFutureMs });
  } catch (cause) {
    throw new ParseError(opts.fileName, (cause as Error).message, { cause });
  }
  const collector = new Collector(opts, format);
  collector.rangeText = range.describe();
  const identity = new IdentityResolver({ host: opts.host, device: opts.device, fileName: opts.fileName });
  let driver: Driver;
  const tableOpts = { flavor: format as 'nvidia-smi-csv' | 'generic-csv' | 'dmon', tz, identity, baseTimeMs, intervalMs, range };
  if (format === 'dcgm') {
    const d = new DcgmFormat(collector, identity, baseTimeMs, intervalMs, range);
    driver = { write: (b) => d.write(b), end: () => d.end(), all: (t) => (d.write(t), d.end()) };
  } else if (format === 'dmon') {
    const d = new DmonFormat(collector, tableOpts);
    driver = { write: (b) => d.write(b), end: () => d.end(), all: (t) => (d.write(t), d.end()) };
  } else {
    const d = new CsvFormat(collector, tableOpts, opts.columns, tz, internals.csvFastPath ?? true);
    driver = { write: (b) => d.write(typeof b === 'string' ? Buffer.from(b) : b), end: () => d.end(), all: (t) => d.parseAll(t) };
  }
  const finishNotes = () => {
    if (collector.timeSource !== 'column') {
      collector.note(`base time source: ${baseSource}`);
      if (baseSource === 'now') {
        collector.warn(
          'timestamps derived from the current time (no --base-time and no stable file mtime, e.g. stdin): re-parsing gives different timestamps; pass --base-time (baseTimeMs) for reproducible ingestion',
        );
      }
    }
  };
  const end = driver.end;
  const all = driver.all;
  driver.end = () => {
    const r = end();
    if (r instanceof Promise) return r.then(finishNotes);
    finishNotes();
  };
  driver.all = (t) => {
    all(t);
    finishNotes();
  };
  return { collector, identity, driver };
}

function baseSourceOf(opts: ParseOptions): BaseTimeSource {
  return opts.baseTimeSource ?? (opts.baseTimeMs !== undefined ? 'option' : 'now');
}

/** Input → UTF-8 Buffers. UTF-16 (PowerShell `>` redirection on Windows writes UTF-16LE with a BOM) is transcoded. */
async function* utf8Chunks(input: NodeJS.ReadableStream | AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let decoder: TextDecoder | undefined;
  let first = true;
  for await (const raw of input as AsyncIterable<Buffer | string>) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    if (first) {
      first = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      else if (chunk.length >= 2 && chunk[0] === 0xff && chunk[1] === 0xfe) decoder = new TextDecoder('utf-16le');
      else if (chunk.length >= 2 && chunk[0] === 0xfe && chunk[1] === 0xff) decoder = new TextDecoder('utf-16be');
    }
    if (decoder !== undefined) chunk = Buffer.from(decoder.decode(chunk, { stream: true }), 'utf8');
    if (chunk.length > 0) yield chunk;
  }
  if (decoder !== undefined) {
    const tail = decoder.decode();
    if (tail.length > 0) yield Buffer.from(tail, 'utf8');
  }
}

/**
 * Streams points in file order, in chunks of about `chunkSize` points. Each
 * chunk's `endLine` is a resume token (pass it back as `resumeAfterLine`).
 * The generator's return value is the summary.
 */
export async function* parseStream(
  input: NodeJS.ReadableStream | AsyncIterable<Buffer | string>,
  opts: ParseOptions,
): AsyncGenerator<ParseChunk, ParseSummary> {
  return yield* parseStreamWith(input, opts, baseSourceOf(opts));
}

/** parseStream with an explicit base-time source (parseFile) and test hooks. */
export async function* parseStreamWith(
  input: NodeJS.ReadableStream | AsyncIterable<Buffer | string>,
  opts: ParseOptions,
  baseSource: BaseTimeSource,
  internals: ParseInternals = {},
): AsyncGenerator<ParseChunk, ParseSummary> {
  const chunkSize = Math.max(1, opts.chunkSize ?? DEFAULT_CHUNK);
  const it = utf8Chunks(input)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let format = opts.format;
  if (format === undefined) {
    let size = 0;
    while (size < DETECT_BYTES) {
      const r = await it.next();
      if (r.done) break;
      head.push(r.value);
      size += r.value.length;
    }
    format = detectFormat(Buffer.concat(head).subarray(0, DETECT_BYTES).toString('utf8'), opts.fileName);
  }
  const { collector, identity, driver } = createContext(opts, format, baseSource, internals);
  for (const b of head) {
    driver.write(b);
    if (collector.pending.length >= chunkSize) yield { points: collector.take(), endLine: collector.lastLine };
  }
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    driver.write(r.value);
    if (collector.pending.length >= chunkSize) yield { points: collector.take(), endLine: collector.lastLine };
  }
  await driver.end();
  if (collector.pending.length > 0) yield { points: collector.take(), endLine: collector.lastLine };
  return collector.summary(identity.fallbackSource);
}

/** Whole text, synchronously. */
export function parseText(text: string, opts: ParseOptions): ParseResult {
  return parseTextWith(text, opts);
}

/** parseText with test hooks. */
export function parseTextWith(text: string, opts: ParseOptions, internals: ParseInternals = {}): ParseResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const format = opts.format ?? detectFormat(body.slice(0, DETECT_BYTES), opts.fileName);
  const { collector, identity, driver } = createContext(opts, format, baseSourceOf(opts), internals);
  driver.all(body);
  const points: Point[] = collector.take();
  return { points, summary: collector.summary(identity.fallbackSource) };
}

/**
 * A file, streamed. Derived timestamps (dmon without time columns, DCGM
 * without sample timestamps) default to the file's mtime so re-parsing the
 * same file gives the same timestamps.
 */
export async function parseFile(path: string, opts: Partial<ParseOptions> = {}): Promise<ParseResult> {
  const st = await stat(path);
  const full: ParseOptions = { ...opts, fileName: opts.fileName ?? path };
  const base = resolveBaseTime(full.baseTimeMs, st.mtimeMs);
  full.baseTimeMs = base.ms;
  full.baseTimeSource = full.baseTimeSource ?? base.source;
  const points: Point[] = [];
  const gen = parseStreamWith(createReadStream(path, { highWaterMark: 256 * 1024 }), full, full.baseTimeSource);
  for (;;) {
    const r = await gen.next();
    if (r.done) return { points, summary: r.value };
    for (const p of r.value.points) points.push(p);
  }
}

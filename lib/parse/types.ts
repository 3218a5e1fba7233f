/**
 * Public types of the parsing layer. The streamer, the CLI and the HTTP
 * endpoint depend on these shapes: extend them, never rename fields.
 */
import type { Point } from '../point.ts';

export type Format = 'nvidia-smi-csv' | 'dmon' | 'dcgm' | 'generic-csv';

export const FORMATS: readonly Format[] = ['nvidia-smi-csv', 'dmon', 'dcgm', 'generic-csv'];

/**
 * Where a point's `device` came from, in order of preference.
 * `device_column` is an extension: a generic CSV's explicit `device` column.
 */
export type IdentitySource =
  | 'gpu_uuid'
  | 'pci_bus_id'
  | 'gpu_index'
  | 'model'
  | 'option'
  | 'file_name'
  | 'device_column'
  // Combinations with an explicit option (lib/parse/identity.ts): `<device>/<per-GPU id>`, `<host>/<file name>`.
  | 'option+gpu_uuid'
  | 'option+pci_bus_id'
  | 'option+gpu_index'
  | 'option+device_column'
  | 'host+file_name';

/** Where the base time of derived timestamps came from (lib/parse/README.md "Timestamps"). */
export type BaseTimeSource = 'option' | 'file mtime' | 'now';

export interface ParseOptions {
  /** Used in rejections, in the summary and as the last-resort device id (basename without extension). */
  fileName: string;
  /** Skip content detection. */
  format?: Format;
  /**
   * Host qualifier for device ids (`<host>/<bus id|gpuN|model|file name>`) and always the `host` tag;
   * wins over a Hostname label / hostname column.
   */
  host?: string;
  /**
   * Device id: names the device when a row has no per-GPU identity (uuid, bus id, index, device column),
   * and prefixes it when it has one (`<device>/<per-GPU id>`), so GPUs are never collapsed.
   */
  device?: string;
  /** IANA zone for timestamps without an offset (nvidia-smi local time, dmon date/time). Default `UTC`. */
  timeZone?: string;
  /** Column names for `--format=csv,noheader` files. */
  columns?: string[];
  /** Base time (epoch ms) for formats without timestamps (dmon without -o T, DCGM without sample timestamps). */
  baseTimeMs?: number;
  /** Where `baseTimeMs` came from, said in the summary notes. Default `option` when set, else `now` (warned). */
  baseTimeSource?: BaseTimeSource;
  /** Earliest accepted timestamp (epoch ms, default 0 = 1970-01-01): earlier rows are rejected. */
  minTimeMs?: number;
  /** Latest accepted timestamp as ms after the parse starts (default one day): later rows are rejected. */
  maxFutureMs?: number;
  /** Sample interval (ms) between rounds when timestamps are derived. Default 1000. */
  intervalMs?: number;
  /** Points per yielded chunk in `parseStream` (approximate: a chunk ends on an input-chunk boundary). Default 5000. */
  chunkSize?: number;
  /**
   * Resume support: records ending on a line <= this are parsed for state (headers, rounds)
   * but produce no points, rows or rejections. Pass the `endLine` of the last published chunk.
   */
  resumeAfterLine?: number;
}

export interface Rejection {
  file: string;
  /** 1-based physical line number in the file. */
  line: number;
  /** Header name of the offending column, when one column is at fault. */
  column?: string;
  reason: string;
}

export interface ParseSummary {
  file: string;
  format: Format;
  /** Data rows read (CSV records / dmon rows / Prometheus samples); headers, comments and blank lines not counted. */
  rows: number;
  points: number;
  /** Number of rejection entries (whole rows and single values), all counted even beyond the stored cap. */
  rejected: number;
  /** Rows that produced no point because of a rejection (a subset of `rejected`). */
  rejectedRows: number;
  /** The first REJECTION_CAP rejections. */
  rejections: Rejection[];
  /** Identity source of the first point (see `identities` for the full breakdown). */
  identity: IdentitySource;
  /** Points per identity source. */
  identities: Partial<Record<IdentitySource, number>>;
  /** 'column': from the file; 'derived': base time + interval per sample round; 'scrape': DCGM scrape/base time. */
  timeSource: 'column' | 'derived' | 'scrape';
  /** Problems the user should look at (e.g. indistinguishable interleaved GPUs). */
  warnings: string[];
  /** Informational: how timestamps/identities were derived. */
  notes: string[];
  /** Text columns that carry no telemetry and were dropped (identity columns go to tags and are not listed). */
  droppedTextColumns: string[];
}

export interface ParseChunk {
  points: Point[];
  /** Last physical line whose content is reflected in this and earlier chunks (resume token). */
  endLine: number;
}

export interface ParseResult {
  points: Point[];
  summary: ParseSummary;
}

/** At most this many rejections are stored in the summary; all are counted. */
export const REJECTION_CAP = 1000;

/** Input problems that stop the whole file (not one row): missing header for noheader CSV, bad option, … */
export class ParseError extends Error {
  override name = 'ParseError';
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

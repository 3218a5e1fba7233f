/**
 * The options fingerprint: a short hash of the normalised parse options that
 * change the points a file produces (device ids, tags, timestamps, which rows
 * are kept). File ingestion puts it in every `Nats-Msg-Id` and in the
 * checkpoint key, so re-ingesting the same file with corrected options
 * (`--tz`, `--device`, `--host`, `--columns`, `--format`, `--interval`,
 * `--base-time`) publishes the new points instead of being skipped as a
 * duplicate.
 *
 * Invariant: two option sets with the same fingerprint give the same points
 * for the same file content. Options that cannot change the points
 * (`chunkSize`, `resumeAfterLine`, where the base time came from) are left
 * out; spellings that mean the same (`utc`/`Etc/UTC`, `europe/paris`,
 * defaults spelled out or not) normalise to one value.
 */
import { createHash } from 'node:crypto';
import { fileBaseName } from './identity.ts';
import { DEFAULT_MAX_FUTURE_MS, DEFAULT_MIN_TIME_MS } from './time-range.ts';
import type { Format, ParseOptions } from './types.ts';

/** Bump when the meaning of a field below changes: every fingerprint changes with it. */
const FINGERPRINT_VERSION = 1;

export interface PointOptions {
  v: number;
  /** Detected formats are `auto`: detection is a function of the content, which the digest covers. */
  format: Format | 'auto';
  host: string | null;
  device: string | null;
  timeZone: string;
  columns: string[] | null;
  intervalMs: number;
  baseTimeMs: number | null;
  /** The file's base name: the last-resort device id. */
  fileBase: string;
  minTimeMs: number;
  maxFutureMs: number;
}

function canonicalZone(zone: string | undefined): string {
  if (zone === undefined || /^(utc|etc\/utc|gmt|etc\/gmt|z)$/i.test(zone)) return 'UTC';
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return zone; // the parser rejects it with a ParseError
  }
}

/** The options that shape the points, with defaults filled in and equivalent spellings merged. */
export function pointOptions(opts: ParseOptions): PointOptions {
  const columns = opts.columns?.map((c) => c.trim());
  return {
    v: FINGERPRINT_VERSION,
    format: opts.format ?? 'auto',
    // The identity resolver treats '' as unset.
    host: opts.host || null,
    device: opts.device || null,
    timeZone: canonicalZone(opts.timeZone),
    columns: columns && columns.length > 0 ? columns : null,
    intervalMs: opts.intervalMs ?? 1000,
    baseTimeMs: opts.baseTimeMs ?? null,
    fileBase: fileBaseName(opts.fileName),
    minTimeMs: opts.minTimeMs ?? DEFAULT_MIN_TIME_MS,
    maxFutureMs: opts.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS,
  };
}

/** 12 hex digits (48 bits) of sha256 over the normalised options. */
export function optionsFingerprint(opts: ParseOptions): string {
  return createHash('sha256').update(JSON.stringify(pointOptions(opts))).digest('hex').slice(0, 12);
}

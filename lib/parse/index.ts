/**
 * Parsing and normalisation layer: nvidia-smi CSV, dmon, DCGM exporter text
 * and generic CSV → Point. See lib/parse/README.md for formats, field mapping
 * and rejection rules.
 */
export { parseStream, parseText, parseFile, resolveBaseTime } from './parse.ts';
export { optionsFingerprint, pointOptions, type PointOptions } from './fingerprint.ts';
export { TimeRange, timeRangeFromConfig, DEFAULT_MIN_TIME_MS, DEFAULT_MAX_FUTURE_MS, type TimeRangeOptions } from './time-range.ts';
export { detectFormat } from './detect.ts';
export { scrapeDcgm, pollDcgm, ScrapeError, type ScrapeOptions, type PollResult } from './scrape.ts';
export {
  ParseError,
  REJECTION_CAP,
  FORMATS,
  type Format,
  type IdentitySource,
  type BaseTimeSource,
  type ParseOptions,
  type ParseSummary,
  type Rejection,
  type ParseChunk,
  type ParseResult,
} from './types.ts';
export { NVSMI_FIELDS, DCGM_FIELDS, DMON_FIELDS, THROTTLE_BITS } from './fields.ts';

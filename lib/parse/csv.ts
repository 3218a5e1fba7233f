/**
 * CSV formats (nvidia-smi `--query-gpu` and generic `timestamp,device,…`):
 * the quote-free fast path (csv-fast.ts) tokenises what nvidia-smi writes,
 * csv-parse reads the rest of a file from the first line the fast path cannot
 * prove it reads identically (a quote, a stray CR), the TableEngine maps.
 * csv-parse runs with relaxed column counts so that a short/long row becomes
 * OUR rejection (with its line number) instead of an exception that would
 * stop the file.
 */
import { Parser, type Options } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { QuoteFreeTokenizer, type RecordDelimiter } from './csv-fast.ts';
import { classifyCell, splitHeaderUnit } from './fields.ts';
import type { Collector } from './collector.ts';
import { TableEngine, type TableOptions } from './table.ts';
import { ParseError } from './types.ts';
import { parseTimestamp, type TimeZoneResolver } from './timestamp.ts';

/**
 * Lean options on purpose (each csv-parse option costs per character on 1M-row
 * files): cells are trimmed by us (nvidia-smi writes ", "), the BOM is removed
 * by the input layer, empty lines arrive as [''] and are skipped here. A
 * quoted field must therefore start right after its comma.
 */
const BASE_OPTIONS: Options = {
  relax_column_count: true,
  relax_quotes: true,
  skip_records_with_error: true,
};

/**
 * csv-parse's stream Parser, receiving records synchronously in `push` and
 * reading the live `info.lines` (public `Parser.info`) there: this avoids the
 * per-record info object `on_record`/`info: true` allocate (≈10 % of parse time).
 * Records on lines <= `skipThrough` (the blank lines of a hand-over prefix) are dropped.
 */
class LineAwareParser extends Parser {
  constructor(
    options: Options,
    private readonly skipThrough: number,
    private readonly sink: (record: string[], line: number) => void,
  ) {
    super(options);
  }
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(chunk, encoding);
    const line = this.info.lines;
    if (line > this.skipThrough) this.sink(chunk as string[], line);
    return true;
  }
}

/** Trims cells in place (nvidia-smi's ", " separators; CR of stray line ends). */
function trimCells(cells: string[]): void {
  for (let i = 0; i < cells.length; i++) {
    const s = cells[i]!;
    const a = s.charCodeAt(0);
    const b = s.charCodeAt(s.length - 1);
    if (a === 32 || a === 9 || b === 32 || b === 9 || b === 13) cells[i] = s.trim();
  }
}

/** ES2024 `String#isWellFormed` / `toWellFormed` (Node ≥ 20; the TS lib is ES2023). */
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * The text csv-parse sees after its `Buffer.from(text)`: lone surrogates become
 * U+FFFD, so the fast path must read the same characters.
 */
function asUtf8Text(text: string): string {
  const t = text as unknown as WellFormed;
  return t.isWellFormed() ? text : t.toWellFormed();
}

/** Receives the reader's records (cells trimmed) and CSV syntax errors, with physical line numbers. */
export interface CsvRecordHandler {
  record(cells: string[], line: number): void;
  /** A record csv-parse skipped; `line` undefined when csv-parse did not say. */
  syntaxError(line: number | undefined, message: string): void;
}

/**
 * CSV records from whole text or a byte stream: the quote-free fast path
 * until it hands over, csv-parse for the rest (or throughout, `fastPath`
 * false: the reference the tests compare with). An error thrown by the
 * handler stops the input and is rethrown by all()/write()/end().
 */
export class CsvRecordReader {
  private failure: Error | undefined;
  private parser: Parser | undefined;
  /** Until csv-parse takes over (then undefined); its `lines` is csv-parse's line offset. */
  private fast: QuoteFreeTokenizer | undefined;

  constructor(
    private readonly h: CsvRecordHandler,
    fastPath = true,
  ) {
    this.fast = fastPath ? new QuoteFreeTokenizer((cells, line) => h.record(cells, line)) : undefined;
  }

  /**
   * csv-parse options. After a hand-over csv-parse first reads `skipThrough`
   * blank lines in the discovered delimiter (blankLines), so that its line
   * numbers — in records, errors and error messages — and its record
   * delimiter are those of the whole input; their records are dropped.
   */
  private options(withOnRecord: boolean, skipThrough: number): Options {
    return {
      ...BASE_OPTIONS,
      ...(withOnRecord
        ? {
            on_record: (record: string[], info: { lines: number }) => {
              if (info.lines <= skipThrough) return null;
              trimCells(record);
              this.h.record(record, info.lines);
              return null;
            },
          }
        : {}),
      on_skip: (err) => {
        this.h.syntaxError((err as { lines?: number } | undefined)?.lines, err?.message ?? 'invalid record');
        return undefined;
      },
    };
  }

  /** Whole text at once (parseText). */
  all(text: string): void {
    const fast = this.fast;
    this.fast = undefined;
    let input = text;
    let skip = 0;
    if (fast !== undefined) {
      const body = asUtf8Text(text);
      const at = fast.all(body);
      if (at === body.length) return;
      skip = fast.lines;
      input = eolOf(fast.delimiter).repeat(skip) + body.slice(at);
    }
    try {
      parseSync(input, this.options(true, skip));
    } catch (err) {
      throw this.failure ?? err;
    }
  }

  /** Streaming: synchronous per chunk (records are handled as they are read, nothing is buffered downstream). */
  write(chunk: Buffer): void {
    let bytes: Buffer | undefined = chunk;
    if (this.parser === undefined && this.fast !== undefined) {
      bytes = this.fast.write(chunk);
      if (bytes === undefined) return;
    }
    this.parser ??= this.createParser();
    this.parser.write(bytes);
    if (this.failure) throw this.failure;
  }

  async end(): Promise<void> {
    if (this.parser === undefined && this.fast !== undefined) {
      const rest = this.fast.end();
      if (rest === undefined) return;
      this.parser = this.createParser();
      this.parser.write(rest);
    }
    const parser = (this.parser ??= this.createParser());
    await new Promise<void>((resolve, reject) => {
      parser.once('error', (err) => reject(this.failure ?? err));
      parser.once('end', () => resolve());
      parser.resume();
      parser.end();
    });
    if (this.failure) throw this.failure;
  }

  /** csv-parse for the rest of the stream, from the line the fast path handed over (after its blank-line prefix). */
  private createParser(): Parser {
    const skip = this.fast?.lines ?? 0;
    const delimiter = this.fast?.delimiter ?? 'unknown';
    this.fast = undefined;
    const p = new LineAwareParser(this.options(false, skip), skip, (record, line) => {
      if (this.failure) return;
      trimCells(record);
      try {
        this.h.record(record, line);
      } catch (err) {
        // rethrown by write()/end()
        this.failure = err instanceof Error ? err : new Error(String(err));
      }
    });
    p.on('error', (err) => {
      this.failure ??= err;
    });
    for (const b of blankLines(delimiter, skip)) p.write(b);
    return p;
  }
}

function eolOf(delimiter: RecordDelimiter): string {
  return delimiter === 'crlf' ? '\r\n' : '\n';
}

/** `n` empty lines in the delimiter, in blocks of at most 1 MiB. */
function blankLines(delimiter: RecordDelimiter, n: number): Buffer[] {
  if (n === 0) return [];
  const eol = eolOf(delimiter);
  const per = Math.floor((1 << 20) / eol.length);
  const out: Buffer[] = [];
  for (let left = n; left > 0; left -= per) out.push(Buffer.from(eol.repeat(Math.min(per, left)), 'latin1'));
  return out;
}

export class CsvFormat implements CsvRecordHandler {
  readonly engine: TableEngine;
  private failure: Error | undefined;
  private readonly reader: CsvRecordReader;

  constructor(
    private readonly c: Collector,
    private readonly tableOpts: TableOptions,
    private readonly columns: string[] | undefined,
    private readonly tz: TimeZoneResolver,
    fastPath = true,
  ) {
    this.engine = new TableEngine(c, tableOpts);
    this.reader = new CsvRecordReader(this, fastPath);
  }

  /** Whole text at once (parseText). */
  parseAll(text: string): void {
    this.reader.all(text);
    if (this.failure) throw this.failure;
    this.finish();
  }

  /** Streaming: synchronous per chunk. */
  write(chunk: Buffer): void {
    this.reader.write(chunk);
  }

  async end(): Promise<void> {
    await this.reader.end();
    if (this.failure) throw this.failure;
    this.finish();
  }

  private finish(): void {
    if (!this.engine.hasHeader && this.columns === undefined) {
      this.c.warn('empty input: no header and no rows');
    }
    this.engine.finish();
  }

  syntaxError(at: number | undefined, message: string): void {
    const line = at ?? this.c.lastLine + 1;
    this.c.row(line);
    this.c.reject(line, undefined, `CSV syntax: ${message}`, true);
  }

  record(cells: string[], line: number): void {
    if (this.failure) return;
    // An empty or whitespace-only line: not a row.
    if (cells.length === 1 && cells[0] === '') return;
    try {
      const engine = this.engine;
      if (!engine.hasHeader) {
        if (this.columns !== undefined) {
          engine.setHeader(this.columns, 0);
          if (engine.isRepeatedHeader(cells)) return;
        } else if (looksLikeHeaderRow(cells, this.tz)) {
          engine.setHeader(cells, line);
          return;
        } else {
          throw new ParseError(
            this.c.file,
            `line ${line} is data, not a header: for --format=csv,noheader output pass the column names (columns option)`,
          );
        }
      }
      if (engine.isRepeatedHeader(cells)) return;
      if (engine.looksLikeHeader(cells)) {
        engine.setHeader(cells, line);
        return;
      }
      engine.row(cells, line);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      throw this.failure;
    }
  }
}

/** A first line is a header when no cell is a number, a timestamp or a placeholder. */
export function looksLikeHeaderRow(cells: string[], tz: TimeZoneResolver): boolean {
  return cells.every((cell) => {
    if (cell === '') return true;
    if (cell.startsWith('[') && cell.endsWith(']')) return false;
    if (parseTimestamp(cell, tz) !== undefined) return false;
    return classifyCell(splitHeaderUnit(cell).name) !== 'numeric';
  });
}

/**
 * CSV formats (nvidia-smi `--query-gpu` and generic `timestamp,device,…`):
 * csv-parse tokenises, the TableEngine maps. csv-parse runs with relaxed
 * column counts so that a short/long row becomes OUR rejection (with its line
 * number) instead of an exception that would stop the file.
 */
import { Parser, type Options } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
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
 */
class LineAwareParser extends Parser {
  constructor(
    options: Options,
    private readonly sink: (record: string[], line: number) => void,
  ) {
    super(options);
  }
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(chunk, encoding);
    this.sink(chunk as string[], this.info.lines);
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

export class CsvFormat {
  readonly engine: TableEngine;
  private failure: Error | undefined;
  private parser: Parser | undefined;

  constructor(
    private readonly c: Collector,
    private readonly tableOpts: TableOptions,
    private readonly columns: string[] | undefined,
    private readonly tz: TimeZoneResolver,
  ) {
    this.engine = new TableEngine(c, tableOpts);
  }

  private options(withOnRecord: boolean): Options {
    return {
      ...BASE_OPTIONS,
      ...(withOnRecord
        ? {
            on_record: (record: string[], info: { lines: number }) => {
              this.onRecord(record, info.lines);
              return null;
            },
          }
        : {}),
      on_skip: (err) => {
        const line = (err as { lines?: number } | undefined)?.lines ?? this.c.lastLine + 1;
        this.c.row(line);
        this.c.reject(line, undefined, `CSV syntax: ${err?.message ?? 'invalid record'}`, true);
        return undefined;
      },
    };
  }

  /** Whole text at once (parseText). */
  parseAll(text: string): void {
    try {
      parseSync(text, this.options(true));
    } catch (err) {
      throw this.failure ?? err;
    }
    if (this.failure) throw this.failure;
    this.finish();
  }

  /** Streaming: synchronous per chunk (records are consumed inside on_record, nothing is buffered downstream). */
  write(chunk: Buffer): void {
    this.parser ??= this.createParser();
    this.parser.write(chunk);
    if (this.failure) throw this.failure;
  }

  async end(): Promise<void> {
    const parser = (this.parser ??= this.createParser());
    await new Promise<void>((resolve, reject) => {
      parser.once('error', (err) => reject(this.failure ?? err));
      parser.once('end', () => resolve());
      parser.resume();
      parser.end();
    });
    if (this.failure) throw this.failure;
    this.finish();
  }

  private createParser(): Parser {
    const p = new LineAwareParser(this.options(false), (record, line) => {
      try {
        this.onRecord(record, line);
      } catch {
        // kept in this.failure, rethrown by write()/end()
      }
    });
    p.on('error', (err) => {
      this.failure ??= err;
    });
    return p;
  }

  private finish(): void {
    if (!this.engine.hasHeader && this.columns === undefined) {
      this.c.warn('empty input: no header and no rows');
    }
    this.engine.finish();
  }

  private onRecord(cells: string[], line: number): void {
    if (this.failure) return;
    trimCells(cells);
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

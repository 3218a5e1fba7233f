/**
 * `nvidia-smi dmon` logs: whitespace-separated columns under `#` header lines
 * (`# gpu pwr gtemp …` then `# Idx W C …`), `-` for "no value". dmon reprints
 * the header periodically: repeats are skipped. With `-o DT`/`-o T` the
 * `Date`/`Time` columns give timestamps; otherwise they are derived from the
 * base time + interval per sample round (one row per GPU per round).
 */
import type { Collector } from './collector.ts';
import { LineSplitter } from './lines.ts';
import { TableEngine, type TableOptions } from './table.ts';

const WS = /\s+/;

export class DmonFormat {
  readonly engine: TableEngine;
  private readonly lines: LineSplitter;
  private pendingHeader: { names: string[]; line: number } | undefined;

  constructor(
    private readonly c: Collector,
    tableOpts: TableOptions,
  ) {
    this.engine = new TableEngine(c, tableOpts);
    this.lines = new LineSplitter((text, line) => this.onLine(text, line));
  }

  write(chunk: Buffer | string): void {
    this.lines.write(chunk);
  }

  end(): void {
    this.lines.end();
    this.flushHeader();
    if (!this.engine.hasHeader) this.c.warn('no dmon header line ("# gpu …") found');
    this.engine.finish();
  }

  private flushHeader(units?: string[]): void {
    const h = this.pendingHeader;
    if (h === undefined) return;
    this.pendingHeader = undefined;
    this.engine.setHeader(h.names, h.line, units);
  }

  private onLine(text: string, line: number): void {
    const trimmed = text.trim();
    if (trimmed === '') return;
    if (trimmed.startsWith('#')) {
      const tokens = trimmed.slice(1).trim().split(WS);
      const lower = tokens.map((t) => t.toLowerCase());
      if (lower.includes('gpu') || (lower[0] === 'date' && lower.includes('time'))) {
        this.flushHeader();
        this.pendingHeader = { names: tokens, line };
      } else if (this.pendingHeader !== undefined && tokens.length === this.pendingHeader.names.length) {
        // Second header line: units (Idx W C % … / YYYYMMDD HH:MM:SS Idx …).
        this.flushHeader(tokens);
      }
      // Any other comment (`# $ nvidia-smi dmon -c 5`) is ignored.
      return;
    }
    this.flushHeader();
    if (!this.engine.hasHeader) {
      this.c.row(line);
      this.c.reject(line, undefined, 'data row before any dmon header line', true);
      return;
    }
    this.engine.row(trimmed.split(WS), line);
  }
}

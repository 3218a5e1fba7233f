/**
 * Accumulates points, rejections and summary facts while a format parser runs.
 * Format parsers only call `row()`, `reject()`, `emit()`; the stream driver
 * drains `pending` into chunks.
 */
import type { Point } from '../point.ts';
import { detach } from './strings.ts';
import {
  REJECTION_CAP,
  type Format,
  type IdentitySource,
  type ParseOptions,
  type ParseSummary,
  type Rejection,
} from './types.ts';

export class Collector {
  readonly file: string;
  format: Format;
  pending: Point[] = [];
  /** Last physical line whose record has been handled. */
  lastLine = 0;
  private readonly resumeAfterLine: number;
  private rows = 0;
  private points = 0;
  private rejected = 0;
  private rejectedRows = 0;
  private readonly rejections: Rejection[] = [];
  private firstIdentity: IdentitySource | undefined;
  private readonly identities: Partial<Record<IdentitySource, number>> = {};
  readonly warnings: string[] = [];
  readonly notes: string[] = [];
  private readonly dropped = new Set<string>();
  timeSource: ParseSummary['timeSource'] = 'column';
  /** Rows rejected for a timestamp outside the accepted range, and that range (for the summary warning). */
  private outOfRange = 0;
  rangeText = '';

  constructor(opts: ParseOptions, format: Format) {
    this.file = opts.fileName;
    this.format = format;
    this.resumeAfterLine = opts.resumeAfterLine ?? 0;
  }

  /** True when the record on this line was already published in an earlier run (resume): no output for it. */
  skipped(line: number): boolean {
    return line <= this.resumeAfterLine;
  }

  /** Counts a data row. */
  row(line: number): void {
    this.lastLine = line;
    if (line > this.resumeAfterLine) this.rows++;
  }

  /** A rejection entry; `wholeRow` when the row produced no point. */
  reject(line: number, column: string | undefined, reason: string, wholeRow: boolean): void {
    if (line <= this.resumeAfterLine) return;
    this.rejected++;
    if (wholeRow) this.rejectedRows++;
    if (this.rejections.length < REJECTION_CAP) {
      // Stored until the summary: detached from the input chunk its cells were sliced from.
      const r: Rejection = { file: this.file, line, reason: detach(reason) };
      if (column !== undefined) r.column = detach(column);
      this.rejections.push(r);
    }
  }

  /** A whole-row rejection for a timestamp outside the accepted range (counted for the summary warning). */
  rejectTime(line: number, column: string | undefined, reason: string): void {
    if (line <= this.resumeAfterLine) return;
    this.outOfRange++;
    this.reject(line, column, reason, true);
  }

  emit(point: Point, source: IdentitySource, line: number): void {
    if (line <= this.resumeAfterLine) return;
    this.pending.push(point);
    this.points++;
    this.firstIdentity ??= source;
    this.identities[source] = (this.identities[source] ?? 0) + 1;
  }

  dropColumn(header: string): void {
    if (!this.dropped.has(header)) this.dropped.add(detach(header));
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(detach(message));
  }

  note(message: string): void {
    if (!this.notes.includes(message)) this.notes.push(detach(message));
  }

  take(): Point[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  summary(fallbackIdentity: IdentitySource): ParseSummary {
    if (this.outOfRange > 0) {
      this.warn(
        `${this.outOfRange} rows rejected: timestamp outside the accepted range ${this.rangeText} (INGEST_MIN_TIME, INGEST_MAX_FUTURE_S); check --tz, --base-time and the clock of the machine that wrote the file`,
      );
    }
    const used = Object.keys(this.identities) as IdentitySource[];
    if (used.length > 1) {
      const parts = used.map((k) => `${k}: ${this.identities[k]}`).join(', ');
      this.warn(`device identity differs between rows (${parts}); rows missing an id column value fell back to a weaker id`);
    }
    return {
      file: this.file,
      format: this.format,
      rows: this.rows,
      points: this.points,
      rejected: this.rejected,
      rejectedRows: this.rejectedRows,
      rejections: this.rejections,
      identity: this.firstIdentity ?? fallbackIdentity,
      identities: { ...this.identities },
      timeSource: this.timeSource,
      warnings: [...this.warnings],
      notes: [...this.notes],
      droppedTextColumns: [...this.dropped],
    };
  }
}

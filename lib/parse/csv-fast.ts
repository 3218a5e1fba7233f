/**
 * Quote-free CSV fast path: splits lines and cells with plain string scans
 * for input csv-parse would read without any quoting state (nvidia-smi never
 * quotes), ≈ 5× faster than csv-parse's byte-wise state machine.
 *
 * Invariant: it emits exactly the records, physical line numbers and record
 * timing (which `write` delivers which record) of csv-parse with the options
 * of csv.ts (auto-discovered record delimiter, relaxed column count and
 * quotes). Whatever it cannot prove it reads the same way — a `"`, a record
 * delimiter other than the discovered `\n` / `\r\n`, a stray `\r` or `\n` —
 * it hands back, from the start of that record's line, for csv-parse to read
 * with the discovered delimiter and a line offset. Lines before it are
 * complete records csv-parse would have emitted with fresh state after them,
 * so the hand-over is exact. test/unit/parse/csv-fast.test.ts checks this
 * against csv-parse on random inputs and random chunkings.
 *
 * Cells are trimmed like csv.ts `trimCells` (space/tab at either end or a
 * trailing CR → String#trim).
 */

/** Record delimiter as csv-parse auto-discovers it (`cr` alone is never taken by the fast path). */
export type RecordDelimiter = 'unknown' | 'lf' | 'crlf';

export type RecordSink = (cells: string[], line: number) => void;

const LF = 10;
const CR = 13;
const QUOTE = 34;
/** Unterminated bytes kept at most; beyond, csv-parse (which reads incrementally) takes the rest. */
const MAX_PENDING_BYTES = 1 << 20;

/** One cell [a, b) of `s`, trimmed exactly as csv.ts trimCells would trim it. */
function cellOf(s: string, a: number, b: number): string {
  if (a === b) return '';
  const first = s.charCodeAt(a);
  const last = s.charCodeAt(b - 1);
  if (first !== 32 && first !== 9 && last !== 32 && last !== 9 && last !== CR) return s.slice(a, b);
  let i = a;
  let j = b;
  while (i < j && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9)) i++;
  while (j > i && (s.charCodeAt(j - 1) === 32 || s.charCodeAt(j - 1) === 9)) j--;
  if (i === j) return '';
  const x = s.charCodeAt(i);
  const y = s.charCodeAt(j - 1);
  // Every String#trim whitespace is <= 32 or >= 0xa0: other ends are final.
  if (x <= 32 || x >= 0xa0 || y <= 32 || y >= 0xa0) return s.slice(a, b).trim();
  return s.slice(i, j);
}

/**
 * Cells of the line content [a, b) of `s` (no line end inside). `comma` is
 * the first comma at or after `a` (s.length when none); returns the first
 * comma after the line, so each comma is searched for once (a comma-free
 * line never rescans the rest of the input).
 */
function cellsOf(s: string, a: number, b: number, comma: number, cells: string[]): number {
  let start = a;
  let c = comma;
  while (c < b) {
    cells.push(cellOf(s, start, c));
    start = c + 1;
    c = s.indexOf(',', start);
    if (c < 0) c = s.length;
  }
  cells.push(cellOf(s, start, b));
  return c;
}

export class QuoteFreeTokenizer {
  /** Discovered from the first record read by the fast path. */
  delimiter: RecordDelimiter = 'unknown';
  /** Physical lines consumed so far (= records emitted, blank lines included): csv-parse's line offset after a hand-over. */
  lines = 0;
  /** Unread bytes, always starting at a line start. */
  private rest: Buffer | undefined;

  constructor(private readonly sink: RecordSink) {}

  /**
   * Reads the clean complete lines of `s` from `from`; `final` when `s` ends
   * the input (its last line may be unterminated). Returns the index of the
   * first line it does not read (s.length when all were read).
   */
  scan(s: string, from: number, final: boolean): number {
    const len = s.length;
    let nextQuote = s.indexOf('"', from);
    if (nextQuote < 0) nextQuote = len;
    let nextCr = s.indexOf('\r', from);
    if (nextCr < 0) nextCr = len;
    let comma = s.indexOf(',', from);
    if (comma < 0) comma = len;
    let pos = from;
    while (pos < len) {
      const nl = s.indexOf('\n', pos);
      if (nl < 0) {
        // Unterminated last line: a record at the end of input, unless it holds a quote or a CR.
        if (!final || nextQuote < len || nextCr < len) return pos;
        const cells: string[] = [];
        cellsOf(s, pos, len, comma, cells);
        this.sink(cells, ++this.lines);
        return len;
      }
      if (nextQuote < nl) return pos;
      let end = nl;
      if (this.delimiter === 'lf' || (this.delimiter === 'unknown' && nextCr > nl)) {
        if (nextCr < nl) return pos;
        this.delimiter = 'lf';
      } else {
        // CRLF (discovered, or now: the first line end is CR; only CR LF is taken).
        if (nextCr !== nl - 1 || nl === pos) return pos;
        this.delimiter = 'crlf';
        end = nl - 1;
        nextCr = s.indexOf('\r', nl);
        if (nextCr < 0) nextCr = len;
      }
      const cells: string[] = [];
      comma = cellsOf(s, pos, end, comma, cells);
      this.sink(cells, ++this.lines);
      pos = nl + 1;
    }
    return pos;
  }

  /** Whole input: returns the index where csv-parse must take over (text.length when all was read). */
  all(text: string): number {
    return this.scan(text, 0, true);
  }

  /**
   * Streaming: reads what csv-parse would read of the bytes so far (it keeps
   * the last byte, or two while the record delimiter is unknown, for
   * look-ahead). Returns the bytes for csv-parse from a line start, or
   * undefined when everything was read or kept.
   */
  write(chunk: Buffer): Buffer | undefined {
    const buf = this.rest === undefined || this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = undefined;
    const len = buf.length;
    if (len < 2) return this.keep(buf);
    if (this.delimiter === 'unknown') {
      const lf = buf.indexOf(LF);
      const cr = buf.indexOf(CR);
      const t = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      // csv-parse discovers the delimiter only with two bytes after it.
      if (t < 0 || t > len - 3) return this.keep(buf);
      if (buf[t] === CR && buf[t + 1] !== LF) return this.handOver(buf, 0);
    }
    const cut = buf.lastIndexOf(LF, len - 2) + 1;
    if (cut === 0) return this.keep(buf);
    const before = this.lines;
    const s = buf.toString('utf8', 0, cut);
    if (this.scan(s, 0, false) < s.length) return this.handOver(buf, this.lines - before);
    return this.keep(buf.subarray(cut));
  }

  /** End of input: reads the kept bytes; returns those csv-parse must read, or undefined. */
  end(): Buffer | undefined {
    const buf = this.rest;
    this.rest = undefined;
    if (buf === undefined || buf.length === 0) return undefined;
    const before = this.lines;
    const s = buf.toString('utf8');
    if (this.scan(s, 0, true) < s.length) return this.handOver(buf, this.lines - before);
    return undefined;
  }

  /**
   * Keeps an unread line start. Hands it over instead when it is longer than
   * MAX_PENDING_BYTES (no quadratic re-concatenation), or when the delimiter
   * is unknown and it holds a quote: csv-parse may discover the delimiter by
   * looking past a closing quote, and then reads further than we would.
   */
  private keep(rest: Buffer): Buffer | undefined {
    if (rest.length > MAX_PENDING_BYTES || (this.delimiter === 'unknown' && rest.indexOf(QUOTE) >= 0)) return this.handOver(rest, 0);
    this.rest = rest;
    return undefined;
  }

  /** The bytes of `buf` after its first `linesRead` lines (line ends are LF bytes in both taken delimiters). */
  private handOver(buf: Buffer, linesRead: number): Buffer {
    let at = 0;
    for (let i = 0; i < linesRead; i++) at = buf.indexOf(LF, at) + 1;
    this.rest = undefined;
    return buf.subarray(at);
  }
}

/**
 * Incremental line splitting for the line-oriented formats (dmon, Prometheus
 * text). Tracks 1-based physical line numbers; handles \n and \r\n, and UTF-8
 * sequences split across chunks.
 */
import { StringDecoder } from 'node:string_decoder';

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  private line = 0;
  private first = true;

  constructor(private readonly onLine: (text: string, line: number) => void) {}

  write(chunk: Buffer | string): void {
    let text = this.rest + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    if (this.first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.first = false;
    }
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.onLine(text.slice(start, end), ++this.line);
      start = nl + 1;
    }
    this.rest = text.slice(start);
  }

  end(): void {
    const text = this.rest + this.decoder.end();
    this.rest = '';
    if (text.length > 0) this.onLine(text.endsWith('\r') ? text.slice(0, -1) : text, ++this.line);
  }
}

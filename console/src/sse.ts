/**
 * A Server-Sent Events parser for `fetch` bodies. EventSource cannot send the
 * X-API-Key header, so the console reads /v1/stream with fetch and parses
 * the event stream itself (WHATWG HTML §9.2 field rules: `id`, `event`,
 * `data`, comments start with `:`). Pure; fed chunks of text.
 */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Longest line kept (a bound: a stream that never sends a newline cannot grow memory without end). */
export const MAX_SSE_LINE_CHARS = 4 * 1024 * 1024;

export class SseParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  /** Last event id seen (sent back as Last-Event-ID on reconnect). */
  lastEventId: string | undefined;

  push(chunk: string): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    let nl: number;
    while ((nl = this.buf.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + (this.buf[nl] === '\r' && this.buf[nl + 1] === '\n' ? 2 : 1));
      this.line(line, out);
    }
    if (this.buf.length > MAX_SSE_LINE_CHARS) throw new Error(`SSE line longer than ${MAX_SSE_LINE_CHARS} characters`);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.id !== undefined) this.lastEventId = this.id;
      if (this.data.length) out.push({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
      this.data = [];
      this.event = '';
      this.id = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

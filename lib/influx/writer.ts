/**
 * Writes line protocol to InfluxDB 2 (`POST /api/v2/write`, ns precision,
 * gzip) and classifies every answer. No retry buffer of its own: the
 * collector must know whether a write landed before it acks the JetStream
 * messages, and retries belong to the collector/Temporal where they are visible.
 *
 * The taxonomy (one owner: `classifyInfluxError`), per InfluxDB answer:
 * | answer                               | kind        | the collector…                                         |
 * | 2xx                                  | —           | acks                                                   |
 * | 400 `invalid` (unparsable line), 422 (partial write: type conflict, beyond retention) | `data` | bisects to the offending lines, dead-letters only those |
 * | 413 request too large                | `too-large` | splits the write; a single line that is still too large is `data` |
 * | 401, 403                             | `auth`      | holds the backlog, raises an operational alert, retries |
 * | 404 (bucket or org not found)        | `not-found` | same                                                   |
 * | other 4xx                            | `config`    | same                                                   |
 * | 408, 429, 5xx, timeouts, refused     | `transient` | retries forever with backoff; never dead-letters        |
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';

const gzip = promisify(gzipCb);

export interface InfluxTarget {
  url: string;
  token: string;
  org: string;
  bucket: string;
  timeoutMs?: number;
  /** Where the token came from; re-read after a 401/403 so a rotated token is picked up without a restart. */
  tokenFile?: string;
  /** Compress request bodies (default true). Over loopback it only costs CPU on both sides. */
  gzip?: boolean;
}

/** `auto`: gzip unless InfluxDB is on this machine (loopback), where compression is pure CPU cost on both ends. */
export function gzipFor(mode: 'auto' | 'on' | 'off', url: string): boolean {
  if (mode !== 'auto') return mode === 'on';
  const host = new URL(url).hostname;
  return !(host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host));
}

export const INFLUX_FAILURE_KINDS = ['data', 'too-large', 'auth', 'not-found', 'config', 'transient'] as const;
export type InfluxFailureKind = (typeof INFLUX_FAILURE_KINDS)[number];

/** A failed write, classified. `kind` decides what the collector does (see the table above). */
export class InfluxWriteError extends Error {
  override name = 'InfluxWriteError';
  constructor(
    readonly kind: InfluxFailureKind,
    readonly status: number | undefined,
    readonly body: string,
    options?: { cause?: unknown },
  ) {
    super(`InfluxDB write failed (${status ?? 'no answer'}, ${kind}): ${body}`, options);
  }
  /** About the data itself (only the offending lines may be dead-lettered). */
  get aboutData(): boolean {
    return this.kind === 'data';
  }
}

/** Classifies an HTTP answer (status + body) or a network failure. */
export function classifyInfluxError(status: number | undefined, body: string, cause?: unknown): InfluxWriteError {
  let kind: InfluxFailureKind;
  if (status === undefined) kind = 'transient';
  else if (status === 400 || status === 422) kind = 'data';
  else if (status === 413) kind = 'too-large';
  else if (status === 401 || status === 403) kind = 'auth';
  else if (status === 404) kind = 'not-found';
  else if (status === 408 || status === 429 || status >= 500) kind = 'transient';
  else if (status >= 400) kind = 'config';
  else kind = 'transient';
  return new InfluxWriteError(kind, status, body.slice(0, 2_000), cause === undefined ? undefined : { cause });
}

/** Lines InfluxDB named as unparsable in a 400 body (`unable to parse '<line>': reason`). */
export function namedBadLines(body: string): string[] {
  const out: string[] = [];
  for (const m of body.matchAll(/unable to parse '((?:[^'\\]|\\.)*)': /g)) out.push(m[1]!);
  return out;
}

/** A line of line protocol: text, or its UTF-8 bytes (a view into a decoded batch), without the newline. */
export type Line = string | Uint8Array;

/** The text of a line (bytes are decoded only on error paths: matching the lines InfluxDB names). */
export const lineText = (l: Line): string => (typeof l === 'string' ? l : Buffer.from(l.buffer, l.byteOffset, l.byteLength).toString('utf8'));

/**
 * The request body: the lines joined by newlines. Byte lines are copied as
 * they are; consecutive views that are neighbours in one message (its lines
 * are stored newline-separated) are copied as one range.
 */
export function lineBody(lines: readonly Line[]): Buffer {
  let text = true;
  for (const l of lines) if (typeof l !== 'string') text = false;
  if (text) return Buffer.from((lines as readonly string[]).join('\n'));
  let size = Math.max(0, lines.length - 1);
  for (const l of lines) size += typeof l === 'string' ? Buffer.byteLength(l, 'utf8') : l.byteLength;
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (i > 0) out[off++] = 0x0a;
    if (typeof l === 'string') {
      off += out.write(l, off, 'utf8');
      continue;
    }
    // Extend over following views that continue this one in the same buffer (line \n line \n …).
    let end = l.byteOffset + l.byteLength;
    let j = i;
    for (;;) {
      const nx = lines[j + 1];
      if (nx === undefined || typeof nx === 'string' || nx.buffer !== l.buffer || nx.byteOffset !== end + 1) break;
      end = nx.byteOffset + nx.byteLength;
      j++;
    }
    out.set(new Uint8Array(l.buffer, l.byteOffset, end - l.byteOffset), off);
    off += end - l.byteOffset;
    i = j;
  }
  if (off !== size) throw new Error(`lineBody: ${off} of ${size} bytes`);
  return out;
}

export class InfluxWriter {
  private token: string;
  constructor(
    readonly target: InfluxTarget,
    readonly batchLines = 5_000,
  ) {
    this.token = target.token;
  }

  /** One request: resolves when InfluxDB answered 2xx, else throws InfluxWriteError. */
  async writeRequest(lines: readonly Line[]): Promise<void> {
    const raw = lineBody(lines);
    const zip = this.target.gzip !== false;
    const body = zip ? await gzip(raw, { level: 1 }) : raw;
    const url = `${this.target.url}/api/v2/write?org=${encodeURIComponent(this.target.org)}&bucket=${encodeURIComponent(this.target.bucket)}&precision=ns`;
    let res: { status: number; statusText: string; text: string };
    try {
      res = await post(
        url,
        {
          Authorization: `Token ${this.token}`,
          'Content-Type': 'text/plain; charset=utf-8',
          ...(zip ? { 'Content-Encoding': 'gzip' } : {}),
        },
        body,
        this.target.timeoutMs ?? 30_000,
      );
    } catch (err) {
      throw classifyInfluxError(undefined, (err as Error).message ?? String(err), err);
    }
    if (res.status >= 200 && res.status < 300) return;
    const e = classifyInfluxError(res.status, res.text || res.statusText);
    if (e.kind === 'auth') this.reloadToken();
    throw e;
  }

  /**
   * Writes all lines in chunks of `batchLines`, `concurrency` requests in
   * flight (InfluxDB parses one while the next is on the wire); resolves only
   * when every chunk was accepted. Order between chunks does not matter:
   * points are keyed by series and timestamp.
   */
  async write(lines: readonly Line[], concurrency = 2): Promise<void> {
    const chunks: (readonly Line[])[] = [];
    for (let i = 0; i < lines.length; i += this.batchLines) chunks.push(lines.slice(i, i + this.batchLines));
    let next = 0;
    const run = async () => {
      while (next < chunks.length) await this.writeRequest(chunks[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, run));
  }

  /** True when /health answers pass. */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.target.url}/health`, { signal: AbortSignal.timeout(2_000) });
      return res.ok;
    } catch {
      return false;
    }
  }

  private reloadToken(): void {
    if (!this.target.tokenFile) return;
    try {
      const t = readFileSync(this.target.tokenFile, 'utf8').trim();
      if (t) this.token = t;
    } catch {
      /* keep the old token; the auth error is what the operator sees */
    }
  }
}

/**
 * Keep-alive agents for the writes. node:http rather than fetch: fetch copies
 * every body into a web stream chunk and runs it through the stream machinery,
 * which cost the collector more CPU than the write itself at 5,000-line bodies.
 */
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 16 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 16 }) };

/** POST `body`; resolves with the answer (any status), rejects on a network error or after `timeoutMs`. */
function post(url: string, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<{ status: number; statusText: string; text: string }> {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  if (!tls && u.protocol !== 'http:') return Promise.reject(new Error(`unsupported InfluxDB URL scheme ${u.protocol}`));
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)(
      u,
      { method: 'POST', agent: tls ? agents.https : agents.http, headers: { ...headers, 'Content-Length': String(body.length) }, signal: AbortSignal.timeout(timeoutMs) },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

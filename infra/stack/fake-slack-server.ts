/**
 * A local stand-in for Slack's Web API, wire-compatible enough for the real
 * @slack/web-api WebClient: POST /api/<method> with a form-urlencoded or JSON
 * body and `Authorization: Bearer xoxb-…`, answers `{ ok, … }` JSON.
 * Methods: auth.test, chat.postMessage, chat.update, chat.getPermalink,
 * conversations.history, conversations.replies, conversations.info.
 *
 * It records every call, and can be told to fail the next calls (429 with
 * Retry-After, 500, `{ ok:false, error }`) or to answer late after doing the
 * work (a post that "timed out" but happened). Listens on 127.0.0.1, port 0.
 * Used by the tests (test/support/fake-slack-server.ts adds the signed
 * button click) and by `telemetry-stack bench latency`: it has no rate limit
 * (real Slack allows about one message per second per channel).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  /** Parsed body (form fields; JSON-looking fields such as blocks/metadata decoded). */
  body: Record<string, unknown>;
  auth: string | undefined;
  contentType: string | undefined;
  /** HTTP status answered. */
  status: number;
  /** Slack `ok` of the answer (false for injected and real errors). */
  ok: boolean;
  /** Epoch ms when the request arrived. */
  at: number;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  thread_ts?: string;
  user: string;
  bot_id: string;
  edited?: { ts: string };
}

export type Failure =
  | { kind: 'ratelimit'; retryAfterS?: number }
  | { kind: 'http'; status: number }
  | { kind: 'error'; error: string }
  /** Perform the call, then answer only after `ms` (a client timeout after a successful post). */
  | { kind: 'slow'; ms: number };

export interface FakeSlackOptions {
  /** Accepted bot tokens; default: any token starting with xoxb-. */
  tokens?: string[];
  /** Known channels, id → name. Unknown channel → channel_not_found. Default: any name is auto-created. */
  channels?: Record<string, string>;
  /**
   * Slack's special chat.postMessage limit: about this many messages per second per channel
   * (short bursts tolerated: `postBurst`), beyond → HTTP 429 `ratelimited` + Retry-After. Unset: no limit.
   */
  postRatePerChannel?: number;
  postBurst?: number;
}

export const BOT_USER = 'UBOT00001';
export const BOT_ID = 'BBOT00001';

function channelIdFor(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `C${h.toString(36).toUpperCase().padStart(8, '0')}`;
}

export class FakeSlackServer {
  readonly calls: RecordedCall[] = [];
  /** Every message, in posting order, per channel id. */
  readonly messages = new Map<string, FakeMessage[]>();
  private readonly failures: { method?: string; failure: Failure }[] = [];
  private readonly windows: { method?: string; failure: Failure; from: number; until: number }[] = [];
  private readonly channels = new Map<string, string>(); // id → name
  private readonly strictChannels: boolean;
  private server: Server | undefined;
  private tsCounter = 0;
  private readonly postBuckets = new Map<string, { tokens: number; at: number }>();
  private port = 0;

  constructor(private readonly opts: FakeSlackOptions = {}) {
    this.strictChannels = opts.channels !== undefined;
    for (const [id, name] of Object.entries(opts.channels ?? {})) this.channels.set(id, name);
  }

  /** Start listening on 127.0.0.1 at a free port. */
  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, error: 'fake_server_bug', detail: String(err) }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Base URL for WebClient's slackApiUrl (ends with /api/). */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** Fail the next `times` calls (of `method`, or of any method). */
  failNext(failure: Failure, times = 1, method?: string): void {
    for (let i = 0; i < times; i++) this.failures.push({ method, failure });
  }

  /** Calls of one method (all outcomes). */
  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Successful calls of one method. */
  successesOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && c.ok);
  }

  /** Find a message by channel id and ts. */
  message(channel: string, ts: string): FakeMessage | undefined {
    return this.messages.get(channel)?.find((m) => m.ts === ts);
  }

  /** Add a channel (id → name) at run time. */
  addChannel(id: string, name: string): void {
    this.channels.set(id, name);
  }

  private resolveChannel(ref: unknown): string | undefined {
    if (typeof ref !== 'string' || ref === '') return undefined;
    if (this.channels.has(ref)) return ref;
    const name = ref.replace(/^#/, '');
    for (const [id, n] of this.channels) if (n === name) return id;
    if (this.strictChannels) return undefined;
    const id = /^[CGD][A-Z0-9]{6,}$/.test(ref) ? ref : channelIdFor(name);
    this.channels.set(id, /^[CGD][A-Z0-9]{6,}$/.test(ref) ? ref.toLowerCase() : name);
    return id;
  }

  private nextTs(): string {
    this.tsCounter += 1;
    const sec = Math.floor(Date.now() / 1000);
    return `${sec}.${String(this.tsCounter).padStart(6, '0')}`;
  }

  /** Token bucket per channel (as the client names it) for chat.postMessage: 0 = allowed now (and spent), else ms to wait. */
  private postWaitMs(channel: string): number {
    const rate = this.opts.postRatePerChannel!;
    const burst = this.opts.postBurst ?? 1;
    const now = Date.now();
    const b = this.postBuckets.get(channel) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.postBuckets.set(channel, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return ((1 - b.tokens) / rate) * 1000;
  }

  /**
   * Fail every call (of `method`, or of any method) for the next `ms` milliseconds — an outage by
   * time rather than by count (the chaos suite's "429, then 500, for 30 s"). Windows queue up: each
   * starts when the previous one ends. Counted failures (failNext) are served first.
   */
  failFor(failure: Failure, ms: number, method?: string): void {
    const last = this.windows.at(-1);
    const from = Math.max(Date.now(), last?.until ?? 0);
    this.windows.push({ method, failure, from, until: from + ms });
  }

  /** Drops every failure still to come (counted and windows): Slack is healthy again from now on. */
  clearFailures(): void {
    this.failures.length = 0;
    this.windows.length = 0;
  }

  /** End of the last failure window (epoch ms; 0 = none). */
  get failingUntil(): number {
    return this.windows.at(-1)?.until ?? 0;
  }

  private takeFailure(method: string): Failure | undefined {
    const i = this.failures.findIndex((f) => f.method === undefined || f.method === method);
    if (i >= 0) return this.failures.splice(i, 1)[0]!.failure;
    const now = Date.now();
    return this.windows.find((w) => w.from <= now && now < w.until && (w.method === undefined || w.method === method))?.failure;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const method = url.pathname.replace(/^\/api\//, '');
    const contentType = req.headers['content-type'];
    const body = parseBody(raw, contentType);
    const auth = req.headers.authorization;
    const call: RecordedCall = { method, body, auth, contentType, status: 200, ok: false, at: Date.now() };
    this.calls.push(call);

    const send = (status: number, json: Record<string, unknown>, headers: Record<string, string> = {}) => {
      call.status = status;
      call.ok = status === 200 && json.ok === true;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(json));
    };

    if (req.method !== 'POST' || !url.pathname.startsWith('/api/')) return send(404, { ok: false, error: 'unknown_method' });

    const failure = this.takeFailure(method);
    if (failure?.kind === 'ratelimit') {
      const s = failure.retryAfterS ?? 1;
      return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(s) });
    }
    if (failure?.kind === 'http') return send(failure.status, { ok: false, error: 'http_error' });
    if (failure?.kind === 'error') return send(200, { ok: false, error: failure.error });

    if (method === 'chat.postMessage' && this.opts.postRatePerChannel) {
      const wait = this.postWaitMs(String(body.channel ?? ''));
      if (wait > 0) return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) });
    }
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : (body.token as string | undefined);
    if (!token) return send(200, { ok: false, error: 'not_authed' });
    const tokenOk = this.opts.tokens ? this.opts.tokens.includes(token) : token.startsWith('xoxb-');
    if (!tokenOk) return send(200, { ok: false, error: 'invalid_auth' });

    const result = this.dispatch(method, body);
    if (failure?.kind === 'slow') await new Promise((r) => setTimeout(r, failure.ms));
    if (res.destroyed) {
      // The client gave up; the work is done all the same (that is the hazard being simulated).
      call.status = 200;
      call.ok = result.ok === true;
      return;
    }
    return send(200, result);
  }

  private dispatch(method: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.test/', team: 'Fake', user: 'telemetry-bot', team_id: 'T00000001', user_id: BOT_USER, bot_id: BOT_ID };
      case 'chat.postMessage': {
        const channel = this.resolveChannel(body.channel);
        if (!channel) return { ok: false, error: 'channel_not_found' };
        if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) return { ok: false, error: 'no_text' };
        if (Array.isArray(body.blocks) && body.blocks.length > 50) return { ok: false, error: 'invalid_blocks' };
        if (typeof body.text === 'string' && body.text.length > 40_000) return { ok: false, error: 'msg_too_long' };
        const msg: FakeMessage = {
          channel,
          ts: this.nextTs(),
          text: String(body.text ?? ''),
          user: BOT_USER,
          bot_id: BOT_ID,
          ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
          ...(isMetadata(body.metadata) ? { metadata: body.metadata } : {}),
          ...(typeof body.thread_ts === 'string' ? { thread_ts: body.thread_ts } : {}),
        };
        const list = this.messages.get(channel) ?? [];
        list.push(msg);
        this.messages.set(channel, list);
        return { ok: true, channel, ts: msg.ts, message: publicMessage(msg, true) };
      }
      case 'chat.update': {
        const channel = this.resolveChannel(body.channel);
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const msg = this.message(channel, String(body.ts));
        if (!msg) return { ok: false, error: 'message_not_found' };
        if (typeof body.text === 'string') msg.text = body.text;
        if (Array.isArray(body.blocks)) msg.blocks = body.blocks;
        if (isMetadata(body.metadata)) msg.metadata = body.metadata;
        msg.edited = { ts: this.nextTs() };
        return { ok: true, channel, ts: msg.ts, text: msg.text, message: publicMessage(msg, true) };
      }
      case 'chat.getPermalink': {
        const channel = this.resolveChannel(body.channel);
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const msg = this.message(channel, String(body.message_ts));
        if (!msg) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel, permalink: `https://fake.slack.test/archives/${channel}/p${msg.ts.replace('.', '')}` };
      }
      case 'conversations.info': {
        const id = typeof body.channel === 'string' && this.channels.has(body.channel) ? body.channel : undefined;
        if (!id) return { ok: false, error: 'channel_not_found' };
        return { ok: true, channel: { id, name: this.channels.get(id) } };
      }
      case 'conversations.history':
      case 'conversations.replies': {
        // Like Slack: these take channel ids only, never names.
        const id = typeof body.channel === 'string' && this.channels.has(body.channel) ? body.channel : undefined;
        if (!id) return { ok: false, error: 'channel_not_found' };
        const oldest = Number(body.oldest ?? 0);
        const limit = Math.min(Number(body.limit ?? 100), 999);
        const withMeta = body.include_all_metadata === true || body.include_all_metadata === 'true';
        let list = (this.messages.get(id) ?? []).filter((m) => Number(m.ts) >= oldest);
        if (method === 'conversations.replies') {
          const ts = String(body.ts);
          list = list.filter((m) => m.ts === ts || m.thread_ts === ts);
          // replies: parent first, then replies oldest → newest
          return { ok: true, messages: list.slice(0, limit).map((m) => publicMessage(m, withMeta)), has_more: list.length > limit };
        }
        list = list.filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts).reverse(); // newest first
        return { ok: true, messages: list.slice(0, limit).map((m) => publicMessage(m, withMeta)), has_more: list.length > limit };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

function isMetadata(v: unknown): v is FakeMessage['metadata'] & object {
  return typeof v === 'object' && v !== null && typeof (v as { event_type?: unknown }).event_type === 'string';
}

function publicMessage(m: FakeMessage, withMeta: boolean): Record<string, unknown> {
  const { channel: _c, metadata, ...rest } = m;
  return { type: 'message', ...rest, ...(withMeta && metadata ? { metadata } : {}) };
}

/** Decode a Web API body: form fields whose value is JSON (blocks, metadata) are parsed. */
function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes('application/json')) {
    try {
      return JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    if ((v.startsWith('{') || v.startsWith('[')) && ['blocks', 'metadata', 'attachments'].includes(k)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        /* keep the string */
      }
    }
    out[k] = v;
  }
  return out;
}

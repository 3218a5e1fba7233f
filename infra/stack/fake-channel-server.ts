/**
 * Local stand-ins for the HTTP notification services that have no local
 * server, speaking their wire formats closely enough for the real adapters
 * (activities/notify/*), errors and rate limits included:
 *
 * - `pagerduty`  Events API v2: `POST /v2/enqueue`; validates routing_key,
 *                event_action, dedup_key and the trigger payload (summary,
 *                source, severity); 202 `{ status:"success", message:"Event processed", dedup_key }`,
 *                400 `{ status:"invalid event", message, errors }`.
 * - `opsgenie`   `POST /v2/alerts` (create), `/v2/alerts/:alias/acknowledge|close`;
 *                needs `Authorization: GenieKey …`; 202 `{ result, took, requestId }`.
 * - `teams`      incoming webhook: a `message` with an Adaptive Card attachment; 200 "1".
 * - `googlechat` incoming webhook: `text`/`cardsV2`, `threadKey` query; 200 message resource.
 * - `ntfy`       JSON publish `POST /` with `topic`; 200 message JSON; 400 `{ code, http, error }`.
 * - `generic`    any JSON POST; 200 `{ ok: true }`.
 *
 * Every request is recorded (path, headers, raw body, parsed JSON, answer).
 * `ratePerSec` answers 429 + Retry-After beyond the rate (a token bucket, like
 * the services' own limits); `failNext` injects 429/5xx/4xx answers.
 * Listens on 127.0.0.1, port 0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ChannelFlavour = 'pagerduty' | 'opsgenie' | 'teams' | 'googlechat' | 'ntfy' | 'generic';

export interface ChannelRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  json: any;
  status: number;
  at: number;
}

export type ChannelFailure = { kind: 'ratelimit'; retryAfterS?: number } | { kind: 'http'; status: number; body?: string };

export interface FakeChannelOptions {
  flavour: ChannelFlavour;
  /** Requests per second accepted; beyond → 429 with Retry-After. Unset: no limit. */
  ratePerSec?: number;
}

const PD_ACTIONS = ['trigger', 'acknowledge', 'resolve'];
const PD_SEVERITIES = ['critical', 'error', 'warning', 'info'];

export class FakeChannelServer {
  readonly requests: ChannelRequest[] = [];
  private readonly failures: ChannelFailure[] = [];
  private server: Server | undefined;
  private port = 0;
  private tokens = 1;
  private lastRefill = Date.now();
  private seq = 0;

  constructor(readonly opts: FakeChannelOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'fake_server_bug', detail: String(err) }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  failNext(failure: ChannelFailure, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push(failure);
  }

  /** Requests answered 2xx. */
  accepted(): ChannelRequest[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  private limited(): boolean {
    const rate = this.opts.ratePerSec;
    if (!rate) return false;
    const now = Date.now();
    this.tokens = Math.min(1, this.tokens + ((now - this.lastRefill) / 1000) * rate);
    this.lastRefill = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return false;
    }
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    let json: any;
    try {
      json = raw ? JSON.parse(raw) : undefined;
    } catch {
      json = undefined;
    }
    const rec: ChannelRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: req.headers,
      raw,
      json,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(rec);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      rec.status = status;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
      res.end(text);
    };

    const failure = this.failures.shift();
    if (failure?.kind === 'ratelimit' || (!failure && this.limited())) {
      const retryAfterS = failure?.kind === 'ratelimit' ? (failure.retryAfterS ?? 1) : 1;
      return send(429, this.errorBody(429, 'rate limited'), { 'retry-after': String(retryAfterS) });
    }
    if (failure?.kind === 'http') return send(failure.status, failure.body ?? this.errorBody(failure.status, 'injected failure'));
    if (req.method !== 'POST') return send(405, this.errorBody(405, 'method not allowed'));
    if (json === undefined || typeof json !== 'object') return send(400, this.errorBody(400, 'body is not a JSON object'));
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return send(400, this.errorBody(400, 'expected application/json'));

    switch (this.opts.flavour) {
      case 'pagerduty':
        return this.pagerduty(u.pathname, json, send);
      case 'opsgenie':
        return this.opsgenie(u.pathname, req, json, send);
      case 'teams':
        if (json.type !== 'message' || !Array.isArray(json.attachments) || json.attachments[0]?.contentType !== 'application/vnd.microsoft.card.adaptive')
          return send(400, 'Bad payload: expected a message with an Adaptive Card attachment');
        return send(200, '1');
      case 'googlechat': {
        if (typeof json.text !== 'string' && !Array.isArray(json.cardsV2)) return send(400, { error: { code: 400, message: 'Message needs text or cardsV2', status: 'INVALID_ARGUMENT' } });
        const thread = u.searchParams.get('threadKey') ?? `t${this.seq}`;
        return send(200, { name: `spaces/AAA/messages/m${++this.seq}`, text: json.text, thread: { name: `spaces/AAA/threads/${thread}` } });
      }
      case 'ntfy': {
        if (typeof json.topic !== 'string' || !/^[-_A-Za-z0-9]{1,64}$/.test(json.topic)) return send(400, { code: 40009, http: 400, error: 'invalid request: topic invalid' });
        if (json.priority !== undefined && ![1, 2, 3, 4, 5].includes(json.priority)) return send(400, { code: 40007, http: 400, error: 'invalid priority' });
        if (Array.isArray(json.actions) && json.actions.length > 3) return send(400, { code: 40018, http: 400, error: 'too many actions' });
        const id = `n${++this.seq}`;
        return send(200, { id, time: Math.floor(Date.now() / 1000), event: 'message', topic: json.topic, title: json.title, message: json.message, priority: json.priority, tags: json.tags, actions: json.actions });
      }
      case 'generic':
        return send(200, { ok: true });
    }
  }

  private errorBody(status: number, message: string): unknown {
    if (this.opts.flavour === 'pagerduty') return { status: status === 429 ? 'throttle event' : 'invalid event', message, errors: [message] };
    if (this.opts.flavour === 'ntfy') return { code: status * 100 + 1, http: status, error: message };
    return { message };
  }

  private pagerduty(path: string, json: any, send: (s: number, b: unknown) => void): void {
    if (path !== '/v2/enqueue') return send(404, { status: 'invalid event', message: 'unknown path', errors: [path] });
    const errors: string[] = [];
    if (typeof json.routing_key !== 'string' || json.routing_key.length !== 32) errors.push("'routing_key' must be a 32 character integration key");
    if (!PD_ACTIONS.includes(json.event_action)) errors.push("'event_action' is invalid");
    if (json.event_action !== 'trigger' && typeof json.dedup_key !== 'string') errors.push("'dedup_key' is required for acknowledge/resolve");
    if (json.event_action === 'trigger') {
      const p = json.payload ?? {};
      if (typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024) errors.push("'payload.summary' is missing or longer than 1024");
      if (typeof p.source !== 'string' || p.source.length === 0) errors.push("'payload.source' is missing");
      if (!PD_SEVERITIES.includes(p.severity)) errors.push("'payload.severity' must be critical, error, warning or info");
    }
    if (errors.length) return send(400, { status: 'invalid event', message: 'Event object is invalid', errors });
    send(202, { status: 'success', message: 'Event processed', dedup_key: json.dedup_key ?? `pd-${++this.seq}` });
  }

  private opsgenie(path: string, req: IncomingMessage, json: any, send: (s: number, b: unknown) => void): void {
    if (!/^GenieKey \S+$/.test(String(req.headers.authorization ?? ''))) return send(401, { message: 'Could not authenticate', took: 0, requestId: 'r0' });
    const ok = { result: 'Request will be processed', took: 0.01, requestId: `r${++this.seq}` };
    if (path === '/v2/alerts') {
      if (typeof json.message !== 'string' || json.message.length === 0 || json.message.length > 130) return send(422, { message: 'Message can not be empty or longer than 130', took: 0, requestId: 'r' });
      return send(202, ok);
    }
    if (/^\/v2\/alerts\/[^/]+\/(acknowledge|close)$/.test(path)) return send(202, ok);
    send(404, { message: 'not found', took: 0, requestId: 'r' });
  }
}

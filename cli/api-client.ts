/**
 * The CLI's alert actions (`alerts ack|resolve|snooze`) over the REST API, as
 * the API key the CLI presents.
 *
 * Invariant: the identity recorded (and hashed on chain) is the key's
 * (`key:<name>`), decided by the API — never a command-line string. `--by`
 * becomes the body `by`, which the API refuses (403) unless the key has
 * `act-as`. The key comes from a file or the environment, never from argv:
 * argv lands in shell history and is readable by every user through `ps`.
 */
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { DEV_SECRETS, type Config } from '../lib/config.ts';

/** What went wrong talking to the API, each with its own exit code (documented in cli/README.md). */
export const API_CALL_ERRORS = {
  /** 400: the API rejected the request's input (e.g. a bad snooze duration). */
  bad_request: { status: 400, exitCode: 2 },
  /** 401: no key, or a key the API does not know. */
  unauthorized: { status: 401, exitCode: 3 },
  /** 403: the key lacks the scope (ack, or act-as for `--by`). */
  forbidden: { status: 403, exitCode: 4 },
  /** 404: no such alert. */
  not_found: { status: 404, exitCode: 5 },
  /** 409: the alert is closed or refused the operation. */
  conflict: { status: 409, exitCode: 6 },
  /** 429: this key's rate-limit bucket is empty. */
  rate_limited: { status: 429, exitCode: 7 },
  /** 503, or no answer within TELEMETRY_API_TIMEOUT_MS: a dependency (Temporal, the alerts worker) is down. */
  unavailable: { status: 503, exitCode: 8 },
  /** Connection refused / DNS / TLS: the API itself is not reachable (break glass: `--direct`). */
  unreachable: { status: 0, exitCode: 9 },
  /** Any other answer (5xx, an undocumented status, a body that is not ours). */
  api_error: { status: 0, exitCode: 1 },
} as const;
export type ApiCallErrorCode = keyof typeof API_CALL_ERRORS;

export class ApiCallError extends Error {
  override name = 'ApiCallError';
  readonly exitCode: number;
  /** From the answer's Retry-After (429, 503), seconds. */
  readonly retryAfterS: number | undefined;
  constructor(
    readonly code: ApiCallErrorCode,
    message: string,
    /** The HTTP status, 0 when there was no answer. */
    readonly status: number,
    options?: { cause?: unknown; retryAfterS?: number },
  ) {
    super(message, options);
    this.exitCode = API_CALL_ERRORS[code].exitCode;
    this.retryAfterS = options?.retryAfterS;
  }
}

/** The key could not be found or read: a configuration problem, exit 1. */
export class ApiKeyError extends Error {
  override name = 'ApiKeyError';
}

export interface ApiTarget {
  url: string;
  key: string;
  /** Where the key came from, for messages (never the key itself). */
  keySource: string;
  timeoutMs: number;
}

export interface ApiTargetOptions {
  apiUrl?: string;
  apiKeyFile?: string;
}

type TargetConfig = Pick<Config, 'NODE_ENV' | 'API_HOST' | 'API_PORT' | 'API_KEYS' | 'TELEMETRY_API_URL' | 'TELEMETRY_API_KEY' | 'TELEMETRY_API_KEY_FILE' | 'TELEMETRY_API_TIMEOUT_MS'>;

function keyFromFile(file: string, what: string, nodeEnv: Config['NODE_ENV']): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ApiKeyError(`${what} ${file}: cannot read the API key (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  const key = (text.split(/\r?\n/, 1)[0] ?? '').trim();
  if (key.length < 12) throw new ApiKeyError(`${what} ${file}: expected an API key of at least 12 characters on its first line`);
  if (nodeEnv === 'production' && DEV_SECRETS.some((s) => key.includes(s))) throw new ApiKeyError(`${what} ${file}: holds the development key, not accepted in production`);
  return key;
}

/** A listen address is not a destination: 0.0.0.0 / :: mean "this host". */
function localHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Where the CLI's alert commands go and with which key. Key precedence: `--api-key-file`,
 * TELEMETRY_API_KEY_FILE, TELEMETRY_API_KEY; in development with no API_KEYS, the
 * documented dev key (the one the local API accepts, recorded as `key:dev`).
 */
export function resolveApiTarget(cfg: TargetConfig, opts: ApiTargetOptions = {}): ApiTarget {
  const raw = opts.apiUrl ?? cfg.TELEMETRY_API_URL ?? `http://${localHost(cfg.API_HOST)}:${cfg.API_PORT}`;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch (err) {
    throw new ApiKeyError(`--api-url: expected an http(s) URL, got "${raw}"`, { cause: err });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ApiKeyError(`--api-url: expected an http(s) URL, got "${raw}"`);
  const url = raw.replace(/\/+$/, '');
  const base = { url, timeoutMs: cfg.TELEMETRY_API_TIMEOUT_MS };
  if (opts.apiKeyFile) return { ...base, key: keyFromFile(opts.apiKeyFile, '--api-key-file', cfg.NODE_ENV), keySource: `--api-key-file ${opts.apiKeyFile}` };
  if (cfg.TELEMETRY_API_KEY_FILE)
    return { ...base, key: keyFromFile(cfg.TELEMETRY_API_KEY_FILE, 'TELEMETRY_API_KEY_FILE', cfg.NODE_ENV), keySource: `TELEMETRY_API_KEY_FILE ${cfg.TELEMETRY_API_KEY_FILE}` };
  if (cfg.TELEMETRY_API_KEY) return { ...base, key: cfg.TELEMETRY_API_KEY, keySource: 'TELEMETRY_API_KEY' };
  // The local development API (no API_KEYS) accepts only the documented dev key; production refuses it.
  if (cfg.NODE_ENV === 'development' && !cfg.API_KEYS) return { ...base, key: DEV_SECRETS[0], keySource: 'the development key (API_KEYS unset)' };
  throw new ApiKeyError(
    'no API key for the CLI: put one in a file and set TELEMETRY_API_KEY_FILE (or pass --api-key-file), or set TELEMETRY_API_KEY; the key\'s name is the identity recorded',
  );
}

export type AlertAction =
  | { op: 'ack'; id: string; by?: string }
  | { op: 'resolve'; id: string; by?: string; reason?: string }
  | { op: 'snooze'; id: string; duration: string };

export interface ApiRequest {
  method: 'POST' | 'GET';
  path: string;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** The read-only command that shows whether an unanswered request was applied (named in the timeout message). */
  checkWith?: string;
}

/** The REST call for one alert action: only the fields the caller gave (an absent `by` = the key's own identity). */
export function buildAlertRequest(a: AlertAction): ApiRequest {
  const path = `/v1/alerts/${encodeURIComponent(a.id)}/${a.op}`;
  if (a.op === 'snooze') return { method: 'POST', path, body: { duration: a.duration } };
  const body: Record<string, string> = {};
  if (a.by !== undefined) body.by = a.by;
  if (a.op === 'resolve' && a.reason !== undefined) body.reason = a.reason;
  return { method: 'POST', path, body };
}

/** A silence create or early end (api/routes/oncall.ts). Who silences is the key's identity; `by` is act-as. */
export type SilenceAction =
  | {
      op: 'add';
      matchers: { device?: string; host?: string; rule?: string };
      for: string;
      reason: string;
      startsAt?: string;
      onEnd?: 'resume' | 'resolve';
      by?: string;
    }
  | { op: 'end'; id: string; by?: string; reason?: string };

/** Drops absent fields: the request carries only what the operator gave. */
const given = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/**
 * The REST call for a silence action: only the fields given, so the API's one schema
 * (lib/oncall/silences.ts) names every bad field, and an absent `by` records the key.
 */
export function buildSilenceRequest(a: SilenceAction): ApiRequest {
  const checkWith = 'telemetry-stack silence list';
  if (a.op === 'end') return { method: 'POST', path: `/v1/silences/${encodeURIComponent(a.id)}/end`, body: given({ by: a.by, reason: a.reason }), checkWith };
  return {
    method: 'POST',
    path: '/v1/silences',
    body: given({ matchers: given(a.matchers), for: a.for, reason: a.reason, startsAt: a.startsAt, onEnd: a.onEnd, by: a.by }),
    checkWith,
  };
}

const CODE_BY_STATUS = new Map<number, ApiCallErrorCode>(
  (Object.entries(API_CALL_ERRORS) as [ApiCallErrorCode, { status: number }][]).filter(([, v]) => v.status > 0).map(([k, v]) => [v.status, k]),
);

/** An API error answer → a message saying what to do, and its exit code. Pure: tested without a server. */
export function apiErrorFor(status: number, body: unknown, ctx: { url: string; keySource: string; retryAfter?: string | null }): ApiCallError {
  const b = (body && typeof body === 'object' ? body : {}) as { error?: unknown; message?: unknown };
  const said = typeof b.message === 'string' ? b.message : typeof b.error === 'string' ? b.error : '';
  const retryAfterS = ctx.retryAfter && /^\d+$/.test(ctx.retryAfter) ? Number(ctx.retryAfter) : undefined;
  const code = CODE_BY_STATUS.get(status) ?? (status === 502 || status === 504 ? 'unavailable' : 'api_error');
  const text: Record<ApiCallErrorCode, string> = {
    bad_request: `the API rejected the request (400): ${said}`,
    unauthorized: `the API at ${ctx.url} does not accept the key from ${ctx.keySource} (401); use a key listed in the API's API_KEYS`,
    forbidden: `refused (403): ${said}`,
    not_found: `not found (404): ${said}`,
    conflict: `refused (409): ${said}`,
    rate_limited: `rate limited (429)${retryAfterS !== undefined ? `: retry in ${retryAfterS} s` : ''}${said ? ` (${said})` : ''}`,
    unavailable: `the API is unavailable (${status})${said ? `: ${said}` : ''}${retryAfterS !== undefined ? `; retry in ${retryAfterS} s` : ''}`,
    unreachable: '',
    api_error: `the API answered ${status}${said ? `: ${said}` : ''}`,
  };
  return new ApiCallError(code, text[code], status, { retryAfterS });
}

/** One call; answers the parsed JSON of a 2xx, throws ApiCallError otherwise. No retries: the operator decides (exit code says which case). */
export async function callApi<T>(target: ApiTarget, req: ApiRequest, fetchImpl: typeof fetch = fetch): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetchImpl(`${target.url}${req.path}`, {
      method: req.method,
      headers: { 'x-api-key': target.key, accept: 'application/json', ...(req.body ? { 'content-type': 'application/json' } : {}), ...req.headers },
      body: req.body ? JSON.stringify(req.body) : undefined,
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (err) {
    if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError'))
      throw new ApiCallError(
        'unavailable',
        `no answer from ${target.url} within ${target.timeoutMs} ms (TELEMETRY_API_TIMEOUT_MS); the action may or may not have been taken: check with \`${req.checkWith ?? 'telemetry-stack alerts show'}\``,
        0,
        { cause: err },
      );
    const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ApiCallError('unreachable', `cannot reach the API at ${target.url} (${why}); is it running? (break glass: --direct)`, 0, { cause: err });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined; // not our JSON (a proxy's HTML page): reported by status alone
  }
  if (res.ok) return { status: res.status, body: body as T };
  throw apiErrorFor(res.status, body, { url: target.url, keySource: target.keySource, retryAfter: res.headers.get('retry-after') });
}

/** The API's ack answer (api/routes/alerts.ts). */
export interface AckApiAnswer {
  receipt: { txHash: string; blockNumber: number; alreadyRecorded?: boolean } | null;
  chain: 'recorded' | 'pending' | 'none';
  by: string;
}

export function describeAck(a: AckApiAnswer): string {
  if (a.chain === 'recorded' && a.receipt) return `acknowledged as ${a.by}; ledger tx ${a.receipt.txHash} in block ${a.receipt.blockNumber}`;
  if (a.chain === 'pending') return `acknowledged as ${a.by}; the ledger write is pending (chain unreachable) and completes when it returns`;
  return `acknowledged as ${a.by} (no ledger configured)`;
}

/**
 * Who a `--direct` (break-glass, straight to Temporal) action is recorded as: the OS user
 * and host — what it really is, since no API key vouches for it. A `--by` is kept beside it,
 * as the API does for act-as keys.
 */
export function breakGlassIdentity(by?: string): string {
  const me = `cli:${userInfo().username}@${hostname()}`;
  return by === undefined || by === me ? me : `${by} (by ${me})`;
}

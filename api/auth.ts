/**
 * API keys with scopes and a name. `API_KEYS` = comma list of
 * `name=key:scope[+scope]` (or the older `key:scope[+scope]`, named `key<N>`).
 * The name is the caller's identity: acks, resolves and snoozes record
 * `key:<name>`, never a body field. Keys arrive as `X-API-Key` or
 * `Authorization: Bearer`. Compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEV_SECRETS, type Config } from '../lib/config.ts';

/**
 * read: queries and the stream; ingest: POST /v1/telemetry; ack: acknowledge/resolve/snooze as
 * the key's own identity; act-as: also on behalf of someone else (a body `by`, recorded beside the key);
 * remediate: may run node quarantine/drain/release; admin: implies every scope.
 */
export const SCOPES = ['read', 'ingest', 'ack', 'act-as', 'remediate', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  /** sha256 of the key: the raw key is not kept in memory longer than parsing. */
  digest: Buffer;
  scopes: Set<Scope>;
  /** A short, safe label for logs and rate-limit buckets. */
  label: string;
  /** The key's name from API_KEYS (`name=key:…`); `key<N>` for an unnamed entry. */
  name: string;
  /** What an ack/resolve/snooze by this key records (and what goes on chain): `key:<name>`. */
  identity: string;
}

export class ApiKeysError extends Error {
  override name = 'ApiKeysError';
}

const sha = (s: string) => createHash('sha256').update(s).digest();

/** A key name: what logs, rate-limit buckets and the ledger's responder identity show. */
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MIN_KEY_CHARS = 12;

/**
 * `name=key:scopes` when the text before the first `=` is a valid name and what follows
 * is a whole key; otherwise the older `key:scopes` (so a base64 key padded with `=`
 * still parses as before).
 */
function splitEntry(entry: string): { name?: string; rest: string } {
  const eq = entry.indexOf('=');
  if (eq > 0) {
    const name = entry.slice(0, eq);
    const rest = entry.slice(eq + 1);
    const colon = rest.lastIndexOf(':');
    if (KEY_NAME.test(name) && colon >= MIN_KEY_CHARS) return { name, rest };
  }
  return { rest: entry };
}

export function parseApiKeys(spec: string): ApiKey[] {
  const names = new Set<string>();
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const { name: given, rest } = splitEntry(entry);
      const idx = rest.lastIndexOf(':');
      if (idx <= 0) throw new ApiKeysError(`API_KEYS entry ${i + 1}: expected [name=]key:scope[+scope]`);
      const key = rest.slice(0, idx);
      if (key.length < MIN_KEY_CHARS) throw new ApiKeysError(`API_KEYS entry ${i + 1}: key must be at least ${MIN_KEY_CHARS} characters`);
      const scopes = rest
        .slice(idx + 1)
        .split('+')
        .map((s) => {
          if (!(SCOPES as readonly string[]).includes(s)) throw new ApiKeysError(`API_KEYS entry ${i + 1}: unknown scope "${s}" (expected ${SCOPES.join(', ')})`);
          return s as Scope;
        });
      const name = given ?? `key${i + 1}`;
      // Two keys with one name would make two callers indistinguishable on chain.
      if (names.has(name)) throw new ApiKeysError(`API_KEYS entry ${i + 1}: duplicate key name "${name}"`);
      names.add(name);
      return { digest: sha(key), scopes: new Set(scopes), label: `${name}:${sha(key).toString('hex').slice(0, 6)}`, name, identity: `key:${name}` };
    });
}

/** True when the key holds `scope` (admin implies every scope). */
export function hasScope(key: ApiKey, scope: Scope): boolean {
  return key.scopes.has(scope) || key.scopes.has('admin');
}

/**
 * Who an ack/resolve/snooze is recorded as. Without a body `by`: the key's identity.
 * With one: refused unless the key may act for others (`act-as`, or admin), and then
 * both are kept in the one recorded string (`<by> (by key:<name>)`), which is also
 * the responder hashed on chain.
 */
export function actingIdentity(key: ApiKey, by: string | undefined): { ok: true; by: string } | { ok: false; message: string } {
  if (by === undefined || by === key.identity) return { ok: true, by: key.identity };
  if (!hasScope(key, 'act-as'))
    return { ok: false, message: `this key acts as "${key.identity}"; a body "by" (acting for someone else) needs the "act-as" scope` };
  return { ok: true, by: `${by} (by ${key.identity})` };
}

/** Keys in force: API_KEYS, or in development only the documented dev key. */
export function apiKeysFromConfig(cfg: Pick<Config, 'API_KEYS' | 'NODE_ENV'>): { keys: ApiKey[]; devDefault: boolean } {
  if (cfg.API_KEYS) return { keys: parseApiKeys(cfg.API_KEYS), devDefault: false };
  if (cfg.NODE_ENV === 'production') throw new ApiKeysError('API_KEYS is required in production');
  return { keys: parseApiKeys(`dev=${DEV_SECRETS[0]}:admin`), devDefault: true };
}

export function presentedKey(req: Pick<FastifyRequest, 'headers'>): string | undefined {
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x) return x;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return undefined;
}

export function findKey(keys: ApiKey[], presented: string | undefined): ApiKey | undefined {
  if (!presented) return undefined;
  const d = sha(presented);
  let found: ApiKey | undefined;
  for (const k of keys) if (timingSafeEqual(k.digest, d)) found = k; // no early exit: constant work
  return found;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
  }
}

/** preHandler factory: 401 without a valid key, 403 without the scope. */
export function requireScope(keys: ApiKey[], scope: Scope) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const key = req.apiKey ?? findKey(keys, presentedKey(req));
    if (!key) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: 'missing or invalid API key (X-API-Key or Authorization: Bearer)' });
    }
    req.apiKey = key;
    if (!hasScope(key, scope))
      return reply.code(403).send({ error: 'forbidden', message: `this key lacks the "${scope}" scope` });
  };
}

/**
 * API keys with scopes. `API_KEYS` = comma list of `key:scope[+scope]`
 * (scopes: read, ingest, ack, admin; admin implies all). Keys arrive as
 * `X-API-Key` or `Authorization: Bearer`. Compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEV_SECRETS, type Config } from '../lib/config.ts';

export const SCOPES = ['read', 'ingest', 'ack', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  /** sha256 of the key: the raw key is not kept in memory longer than parsing. */
  digest: Buffer;
  scopes: Set<Scope>;
  /** A short, safe label for logs and rate-limit buckets. */
  label: string;
}

export class ApiKeysError extends Error {
  override name = 'ApiKeysError';
}

const sha = (s: string) => createHash('sha256').update(s).digest();

export function parseApiKeys(spec: string): ApiKey[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const idx = entry.lastIndexOf(':');
      if (idx <= 0) throw new ApiKeysError(`API_KEYS entry ${i + 1}: expected key:scope[+scope]`);
      const key = entry.slice(0, idx);
      if (key.length < 12) throw new ApiKeysError(`API_KEYS entry ${i + 1}: key must be at least 12 characters`);
      const scopes = entry
        .slice(idx + 1)
        .split('+')
        .map((s) => {
          if (!(SCOPES as readonly string[]).includes(s)) throw new ApiKeysError(`API_KEYS entry ${i + 1}: unknown scope "${s}" (expected ${SCOPES.join(', ')})`);
          return s as Scope;
        });
      return { digest: sha(key), scopes: new Set(scopes), label: `key${i + 1}:${sha(key).toString('hex').slice(0, 6)}` };
    });
}

/** Keys in force: API_KEYS, or in development only the documented dev key. */
export function apiKeysFromConfig(cfg: Pick<Config, 'API_KEYS' | 'NODE_ENV'>): { keys: ApiKey[]; devDefault: boolean } {
  if (cfg.API_KEYS) return { keys: parseApiKeys(cfg.API_KEYS), devDefault: false };
  if (cfg.NODE_ENV === 'production') throw new ApiKeysError('API_KEYS is required in production');
  return { keys: parseApiKeys(`${DEV_SECRETS[0]}:admin`), devDefault: true };
}

export function presentedKey(req: FastifyRequest): string | undefined {
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
    if (!key.scopes.has(scope) && !key.scopes.has('admin'))
      return reply.code(403).send({ error: 'forbidden', message: `this key lacks the "${scope}" scope` });
  };
}

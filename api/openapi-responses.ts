/**
 * The error answers every route can give, declared once so the OpenAPI
 * document lists what the API actually returns (schemathesis checks every
 * status and body against it). Added to each route by an `onRoute` hook in
 * app.ts; a route's own declarations win.
 */
import type { RouteOptions } from 'fastify';
import { z } from 'zod';

/** Every 4xx/5xx body: a stable code, a message saying what was wrong, optional details. */
export const problemSchema = z.looseObject({
  error: z.string().describe('stable error code'),
  message: z.string().describe('what was wrong, for a human'),
});

/** Statuses any route may answer: validation, auth, scope, body size, a path parameter over MAX_PARAM_LENGTH, headers over node's limit (431), rate limit, a dependency down. */
const COMMON_ERRORS = [400, 401, 403, 413, 414, 429, 431, 503] as const;

/** Fastify's bound on one path parameter, above every documented maxLength (beyond it: 414). */
export const MAX_PARAM_LENGTH = 4_096;

type Schema = NonNullable<RouteOptions['schema']> & { response?: Record<string | number, unknown>; hide?: boolean };

/** onRoute hook body: fill in the common error answers and a default success answer. */
export function documentCommonResponses(route: RouteOptions): void {
  const schema = (route.schema ?? {}) as Schema;
  if (schema.hide) return;
  const response: Record<string | number, unknown> = { ...(schema.response ?? {}) };
  // Without any 2xx the document would lose the success answer fastify/swagger otherwise infers.
  if (!Object.keys(response).some((k) => /^2/.test(k))) response[200] = z.unknown().describe('success');
  for (const status of COMMON_ERRORS) response[status] ??= problemSchema;
  // A path parameter names something that may not exist.
  if (route.url.includes(':')) response[404] ??= problemSchema;
  route.schema = { ...schema, response };
}

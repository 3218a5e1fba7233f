/**
 * Serves the built console (console/ → CONSOLE_DIR by scripts/build-console.mjs)
 * at `/`, same origin as the API, with a Content-Security-Policy that allows
 * nothing outside the origin (no CDN at run time). Asset names carry a content
 * hash, so they are cached for a year; index.html is never cached.
 * Without a build, `/` answers 503 saying how to build it.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';

/** Same-origin only; uPlot sets element styles, hence style-src 'unsafe-inline' (no script is inline). */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export interface ConsoleStaticOptions {
  /** Absolute folder of the build (index.html + assets/). */
  dir: string;
}

export const consoleStatic: FastifyPluginAsync<ConsoleStaticOptions> = async (app, opts) => {
  if (!existsSync(join(opts.dir, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(`The console is not built (no ${join(opts.dir, 'index.html')}): run \`node scripts/build-console.mjs\` (npm start and npm test do it).`),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: opts.dir,
    prefix: '/',
    // Routes for the files present at start-up only: every other path stays the API's (and its 404).
    wildcard: false,
    decorateReply: false,
    // The build writes .br/.gz beside each asset: served as-is to clients that accept them.
    preCompressed: true,
    index: ['index.html'],
    // Our own cache-control below (immutable hashed assets, revalidated index): send's default would override it.
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader('content-security-policy', CONSOLE_CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      res.setHeader('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
};

/** The repository root: CONSOLE_DIR is relative to it (the build writes there whatever the cwd). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute build folder for a CONSOLE_DIR value (default `dist/console`). */
export function resolveConsoleDir(dir = 'dist/console'): string {
  return isAbsolute(dir) ? dir : resolve(REPO_ROOT, dir);
}

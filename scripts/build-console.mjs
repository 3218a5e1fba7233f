#!/usr/bin/env node
// Builds the web console (console/ → dist/console, or CONSOLE_DIR) with esbuild:
// one hashed JS and one CSS bundle, index.html pointing at them, and .br/.gz
// beside each asset (served pre-compressed by api/console/static.ts). Runs from
// scripts/ensure-deps.mjs (npm start, npm test) when the output is missing or
// older than any source; `--force` rebuilds anyway. Nothing is fetched: the
// bundle is made from node_modules only.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'console');

export function consoleOutDir(dir = process.env.CONSOLE_DIR || 'dist/console') {
  return isAbsolute(dir) ? dir : resolve(root, dir);
}

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** True when index.html is missing or older than a source, this script or the lockfile. */
export function consoleIsStale(out = consoleOutDir()) {
  let built;
  try {
    built = statSync(join(out, 'index.html')).mtimeMs;
  } catch {
    return true;
  }
  const inputs = Math.max(newest(src), statSync(fileURLToPath(import.meta.url)).mtimeMs, statSync(join(root, 'package-lock.json')).mtimeMs);
  return inputs > built;
}

export async function buildConsole({ out = consoleOutDir(), force = false } = {}) {
  if (!force && !consoleIsStale(out)) return { out, built: false };
  const esbuild = await import('esbuild');
  const assets = join(out, 'assets');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(assets, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(src, 'src/main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: assets,
    entryNames: '[name]-[hash]',
    metafile: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const files = Object.keys(result.metafile.outputs).map((p) => resolve(root, p));
  const js = files.find((f) => f.endsWith('.js'));
  const css = files.find((f) => f.endsWith('.css'));
  const href = (f) => `/${relative(out, f).split('\\').join('/')}`;
  let html = readFileSync(join(src, 'index.html'), 'utf8');
  html = html.replace('<!--CSS-->', css ? `<link rel="stylesheet" href="${href(css)}" />` : '');
  html = html.replace('<!--JS-->', `<script type="module" src="${href(js)}"></script>`);
  const sizes = {};
  for (const f of files) {
    const body = readFileSync(f);
    const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
    writeFileSync(`${f}.br`, br);
    writeFileSync(`${f}.gz`, gzipSync(body, { level: 9 }));
    sizes[href(f)] = { raw: body.length, br: br.length };
  }
  // index.html last: its mtime is the "built" stamp.
  writeFileSync(join(out, 'index.html'), html);
  return { out, built: true, sizes };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await buildConsole({ force: process.argv.includes('--force') });
  if (r.built) console.error(`[telemetry-stack] console built into ${relative(process.cwd(), r.out) || r.out}: ${Object.entries(r.sizes).map(([f, s]) => `${f} ${(s.raw / 1024).toFixed(1)} KB (${(s.br / 1024).toFixed(1)} KB br)`).join(', ')}`);
  else console.error(`[telemetry-stack] console up to date in ${r.out}`);
}

#!/usr/bin/env node
// Installs npm dependencies when node_modules is missing or older than the
// lockfile, so `npm start` and `npm test` work on a fresh clone. Offline-safe:
// onnxruntime-node's post-install (GPU extras download) is skipped.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
  console.error('[telemetry-stack] installing npm dependencies (npm ci)…');
  try {
    execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit', env });
  } catch {
    // npm 11 can write lockfiles without the other platforms' optional binaries
    // (e.g. @swc/core-darwin-*), which `npm ci` then refuses; `npm install`
    // resolves the same locked versions and tolerates that.
    console.error('[telemetry-stack] npm ci refused the lockfile; falling back to npm install --no-save');
    execSync('npm install --no-audit --no-fund --no-save', { cwd: root, stdio: 'inherit', env });
  }
}

// The web console is compiled here too (console/ → dist/console), so a clean clone serves it
// from `npm start` and tests it in `npm test`; skipped when the build is newer than its sources.
const { buildConsole } = await import('./build-console.mjs');
const built = await buildConsole();
if (built.built) console.error(`[telemetry-stack] console built into ${built.out}`);

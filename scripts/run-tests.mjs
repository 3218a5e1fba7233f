#!/usr/bin/env node
// The whole suite: makes sure the real servers' binaries exist, then runs every
// test file (unit → integration → e2e) with node's test runner through tsx, one
// file at a time (each integration file starts its own servers). Closes with
// "N passed, N failed". Pass file paths to run a subset.
//
// Two files at a time by default (TEST_CONCURRENCY): most of an integration
// file's wall time is spent waiting on servers, timers and outages, not on the
// CPU, so two in parallel fit 2 cores and keep the suite inside its CI budget.
// Each file still owns its servers, ports and data directory.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', GOTOOLCHAIN: 'local' };

function walk(dir) {
  let out = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (e.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const args = process.argv.slice(2);
const files = args.length
  ? args
  : ['unit', 'integration', 'e2e'].flatMap((d) => {
      try {
        return walk(join(root, 'test', d));
      } catch {
        return [];
      }
    });

const prep = spawnSync(tsx, [join(root, 'scripts/prepare-servers.ts')], { cwd: root, env, stdio: 'inherit' });
if (prep.status !== 0) {
  console.error('could not prepare the server binaries (see above)');
  process.exit(1);
}

const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY ?? 2) || 1);
const tap = join(mkdtempSync(join(tmpdir(), 'telemetry-tests-')), 'results.tap');
console.log(`running ${files.length} test files, ${concurrency} at a time`);
const started = Date.now();
const r = spawnSync(
  tsx,
  [
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=900000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files.map((f) => relative(root, f)),
  ],
  { cwd: root, env, stdio: 'inherit' },
);
let text = '';
try {
  text = readFileSync(tap, 'utf8');
} catch {
  /* runner died before writing */
}
const num = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
const passed = num('pass');
const failed = num('fail') + num('cancelled');
console.log(`\nsuite finished in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
console.log(`${passed} passed, ${failed} failed, ${num('skipped')} skipped`);
process.exit(r.status === 0 && failed === 0 && passed > 0 ? 0 : 1);

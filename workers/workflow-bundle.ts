/**
 * The workflow bundle, built in a short-lived child process.
 *
 * Why: `Worker.create({ workflowsPath })` runs webpack inside the worker, and
 * the ≈ 115 MB it touches stays in the worker's RSS for its whole life (V8
 * and glibc do not hand it back). Bundling in a child costs ≈ 1 s at start and
 * leaves the long-running worker without it. Run directly
 * (`tsx workers/workflow-bundle.ts OUT`) it is that child.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKFLOWS_PATH } from './shared.ts';

const SELF = fileURLToPath(import.meta.url);

/** Bundles the workflows in a child process; returns the code (what `Worker.create({ workflowBundle })` takes). */
export async function bundleWorkflowsInChild(): Promise<{ code: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-bundle-'));
  const out = join(dir, 'workflows.js');
  try {
    const stderr: Buffer[] = [];
    const code = await new Promise<number | null>((resolveExit, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', SELF, out], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (b: Buffer) => stderr.push(b));
      child.on('error', reject);
      child.on('exit', resolveExit);
    });
    if (code !== 0) throw new Error(`bundling the workflows failed (exit ${code}): ${Buffer.concat(stderr).toString('utf8').slice(-2_000)}`);
    return { code: readFileSync(out, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === SELF) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: workflow-bundle.ts OUT');
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const b = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet as never });
  writeFileSync(out, b.code);
}

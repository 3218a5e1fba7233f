/**
 * `telemetry-stack <args>` as a child process whose final CPU time and peak
 * RSS are known after it exits (report-usage-at-exit.ts is preloaded), with
 * its last stdout line parsed as JSON.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../services.ts';
import { usageFrom, usageReportPath, type ProcUsage } from './proc-stats.ts';

const PRELOAD = pathToFileURL(join(REPO_ROOT, 'cli/bench/report-usage-at-exit.ts')).href;

export interface MeasuredRun {
  status: number | null;
  stdout: string;
  stderr: string;
  json?: Record<string, unknown>;
  /** Final CPU and peak RSS; undefined when the child could not report (not Linux, killed by a signal). */
  usage?: ProcUsage;
}

/** Starts the CLI with exactly `env` (no inherited variables); `done` resolves once it exited and its output is read. */
export function startMeasuredCli(args: string[], env: Record<string, string>): { pid: number; done: Promise<MeasuredRun>; kill(): void } {
  // TELEMETRY_CPU_PROF_DIR (as for the services, cli/services.ts): a V8 CPU profile of the CLI at exit.
  const profDir = env.TELEMETRY_CPU_PROF_DIR;
  const prof = profDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, 'cli')}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', '--import', PRELOAD, join(REPO_ROOT, 'cli/main.ts'), ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start telemetry-stack ${args.join(' ')}`);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const done = new Promise<MeasuredRun>((resolve, reject) => {
    child.once('error', reject);
    // 'close', not 'exit': only then has all of stdout been read.
    child.once('close', (status) => {
      const json = lastJsonLine(stdout);
      let usage: ProcUsage | undefined;
      const file = usageReportPath(pid);
      try {
        const r = JSON.parse(readFileSync(file, 'utf8')) as { stat: string; status: string };
        usage = usageFrom(r.stat, r.status);
      } catch {
        usage = undefined;
      } finally {
        rmSync(file, { force: true });
      }
      resolve({ status, stdout, stderr, json, usage });
    });
  });
  return {
    pid,
    done,
    /** SIGKILL if still running (a benchmark that failed must not leave it behind). */
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** The CLI's machine-readable output: its last stdout line as a JSON object (`--json`), or undefined. */
export function lastJsonLine(stdout: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

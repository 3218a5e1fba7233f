/** Workers, API and CLI as real child processes of a test (so they can be SIGKILLed). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { filteredProcessEnv } from './test-stack.ts';
import { lastJsonLine } from '../../cli/bench/measured-cli.ts';

export const REPO = resolve(fileURLToPath(import.meta.url), '../../..');

export interface ChildHandle {
  child: ChildProcess;
  logFile: string;
  /** SIGTERM (graceful) and wait. */
  stop(): Promise<void>;
  /** SIGKILL: no cleanup at all. */
  kill(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export function startNodeProcess(entry: string, env: Record<string, string>, name: string): ChildHandle {
  const logDir = join(env.DATA_DIR ?? REPO, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, entry)], {
    cwd: REPO,
    env: { ...filteredProcessEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return {
    child,
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited(child), sleep(20_000).then(() => child.kill('SIGKILL'))]);
      await exited(child);
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}

/** Waits until a worker polls `taskQueue` (i.e. it is really running). */
export async function waitForPoller(address: string, namespace: string, taskQueue: string, timeoutMs = 120_000): Promise<void> {
  const conn = await Connection.connect({ address });
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = await conn.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
      if ((r.pollers?.length ?? 0) > 0) return;
      await sleep(300);
    }
    throw new Error(`no poller on ${taskQueue} after ${timeoutMs} ms`);
  } finally {
    await conn.close();
  }
}

export function startCollectWorker(env: Record<string, string>): ChildHandle {
  return startNodeProcess('workers/collect-worker.ts', env, 'collect-worker');
}
export function startAlertsWorker(env: Record<string, string>): ChildHandle {
  return startNodeProcess('workers/alerts-worker.ts', env, 'alerts-worker');
}

/** Runs the CLI to completion; returns stdout, stderr, status and the parsed last JSON line if any. */
export function runCli(args: string[], env: Record<string, string>, input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'cli/main.ts'), ...args], {
    cwd: REPO,
    env: { ...filteredProcessEnv(), ...env },
    encoding: 'utf8',
    input,
    maxBuffer: 256 * 1024 * 1024,
    timeout: 600_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: lastJsonLine(r.stdout ?? '') };
}

/** Polls `fn` until it returns a value satisfying `ok`, or throws with the last value. */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, what: string, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what}: not reached in ${timeoutMs} ms (last: ${JSON.stringify(last)}${lastErr ? `, error: ${(lastErr as Error).message}` : ''})`);
}

/** Like runCli, without blocking this process's event loop (needed when the test itself serves HTTP). */
export function runCliAsync(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string; json?: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli/main.ts'), ...args], {
      cwd: REPO,
      env: { ...filteredProcessEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('error', reject);
    // 'close', not 'exit': only then has all of stdout been read (the JSON summary is its last line).
    child.once('close', (status) => {
      resolve({ status, stdout, stderr, json: lastJsonLine(stdout) });
    });
  });
}

/**
 * Child-process plumbing shared by every local server: spawn with logs to a
 * file, wait for readiness, stop cleanly (SIGTERM, then SIGKILL after a grace
 * period), and free-port discovery for tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ManagedServer {
  name: string;
  pid: number;
  /** Stops the process and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

export class ServerStartError extends Error {
  override name = 'ServerStartError';
  constructor(
    readonly server: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${server}: ${message}`, options);
  }
}

export interface SpawnServerInput {
  name: string;
  bin: string;
  args: string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Detach into its own process group so a Ctrl-C on the terminal does not reach it first. */
  detached?: boolean;
}

/** Spawns a server with stdout/stderr appended to `logFile`. */
export function spawnServer(input: SpawnServerInput): ChildProcess {
  mkdirSync(dirname(input.logFile), { recursive: true });
  const log = createWriteStream(input.logFile, { flags: 'a' });
  const child = spawn(input.bin, input.args, {
    cwd: input.cwd,
    env: { ...process.env, ...input.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: input.detached ?? false,
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  if (input.detached) child.unref();
  return child;
}

/** Last `n` lines of a log file, for error messages. */
export function tailFile(path: string, n = 15): string {
  if (!existsSync(path)) return '';
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}

/**
 * Polls `probe` until it resolves truthy. Fails early if `child` exits, with the
 * log tail in the message so the user sees why.
 */
export async function waitUntilReady(
  name: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; child?: ChildProcess; logFile?: string; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let exited: string | undefined;
  opts.child?.once('exit', (code, signal) => (exited = `exited with ${signal ?? `code ${code}`}`));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(opts.intervalMs ?? 200);
  }
  const tail = opts.logFile ? `\n--- last lines of ${opts.logFile} ---\n${tailFile(opts.logFile)}` : '';
  throw new ServerStartError(
    name,
    `${exited ?? `not ready after ${opts.timeoutMs} ms`}${lastError instanceof Error ? ` (last probe error: ${lastError.message})` : ''}${tail}`,
  );
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves once the pid is gone. */
export async function stopPid(pid: number, graceMs = 8_000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  while (isAlive(pid)) await sleep(50);
}

/** Wraps a spawned child as a ManagedServer. */
export function managed(name: string, child: ChildProcess, graceMs?: number): ManagedServer {
  const pid = child.pid;
  if (pid === undefined) throw new ServerStartError(name, 'failed to spawn (no pid)');
  let stopping: Promise<void> | undefined;
  return {
    name,
    pid,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        await stopPid(pid, graceMs);
        await Promise.race([exited, sleep(1_000)]);
      })();
      return stopping;
    },
  };
}

/** A free TCP port on 127.0.0.1 (racy by nature; fine for tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when something accepts TCP connections on host:port. */
export async function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function httpOk(url: string, timeoutMs = 1_000): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return res.ok;
}

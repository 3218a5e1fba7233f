/**
 * The workers and the API as child processes of `up`, each its own Node
 * process (as on Kubernetes), so one can crash or be killed without taking
 * the others down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { managed, type ManagedServer } from '../infra/stack/process.ts';

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../..');

export const SERVICE_ENTRY = {
  'collect-worker': 'workers/collect-worker.ts',
  'alerts-worker': 'workers/alerts-worker.ts',
  api: 'api/server.ts',
} as const;
export type ServiceName = keyof typeof SERVICE_ENTRY;

export function spawnService(
  name: ServiceName,
  opts: {
    dataDir: string;
    env?: NodeJS.ProcessEnv;
    detached?: boolean;
    /** Environment the child starts from, before `env` (default: this process's; the benches pass an isolated one). */
    baseEnv?: NodeJS.ProcessEnv;
  },
): { child: ChildProcess; server: ManagedServer; logFile: string } {
  const logFile = join(opts.dataDir, 'logs', `${name}.log`);
  mkdirSync(join(opts.dataDir, 'logs'), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  // TELEMETRY_CPU_PROF_DIR: write a V8 CPU profile of each service at exit (profiling the benches;
  // node refuses --cpu-prof in NODE_OPTIONS, so it has to be an argument).
  const base = opts.baseEnv ?? process.env;
  const prof = base.TELEMETRY_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(base.TELEMETRY_CPU_PROF_DIR, name)}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', join(REPO_ROOT, SERVICE_ENTRY[name])], {
    cwd: REPO_ROOT,
    env: { ...base, ...opts.env, DATA_DIR: opts.dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return { child, server: managed(name, child, 15_000), logFile };
}

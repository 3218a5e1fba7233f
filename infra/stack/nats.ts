/** nats-server with JetStream and file storage. */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinary, type BinarySource } from './binaries.ts';
import { installNats } from './installers.ts';
import { httpOk, managed, spawnServer, waitUntilReady, type ManagedServer } from './process.ts';

export async function resolveNatsBin(opts: { bin?: string; cache: string; install: boolean }) {
  try {
    return findBinary({
      label: 'nats-server (NATS with JetStream)',
      name: 'nats-server',
      configured: opts.bin,
      envVar: 'NATS_BIN',
      cached: ['/usr/sbin/nats-server', join(opts.cache, 'bin', 'nats-server')],
      hint: 'Install it with `apt-get install nats-server` or `go install github.com/nats-io/nats-server/v2@latest`, and set NATS_BIN=/path/to/nats-server.',
    });
  } catch (err) {
    if (!opts.install || opts.bin) throw err;
    return { path: await installNats(opts.cache), source: 'installed' as BinarySource };
  }
}

export interface StartNatsInput {
  bin: string;
  dataDir: string;
  port: number;
  monitorPort: number;
  detached?: boolean;
}

export interface NatsServer extends ManagedServer {
  url: string;
  monitorUrl: string;
}

/**
 * max_payload of the local server. The default (1 MiB) is below the telemetry
 * stream's max_msg_size (STREAM_MAX_MSG_BYTES, 4 MiB), which would make that
 * limit unreachable; 8 MB (≥ it, and nats-server's own advice ceiling) lets
 * the stream's limit bind. Batches are sized from the value the server
 * announces (`messageByteLimit`), so a smaller external server still works.
 * nats-server 2.9 has no command-line flag for it: it goes in a config file.
 */
export const NATS_MAX_PAYLOAD = '8MB';

export async function startNats(input: StartNatsInput): Promise<NatsServer> {
  const store = join(input.dataDir, 'nats');
  mkdirSync(store, { recursive: true });
  const logFile = join(input.dataDir, 'nats.log');
  const conf = join(input.dataDir, 'nats.conf');
  writeFileSync(conf, `# Written by the stack at every start (infra/stack/nats.ts); edits are overwritten.\nmax_payload: ${NATS_MAX_PAYLOAD}\n`);
  // Command-line flags override the file; the file carries only what has no flag.
  const args = ['-c', conf, '-a', '127.0.0.1', '-p', String(input.port), '-m', String(input.monitorPort), '-js', '-sd', store];
  const child = spawnServer({ name: 'nats', bin: input.bin, args, logFile, detached: input.detached });
  const monitorUrl = `http://127.0.0.1:${input.monitorPort}`;
  await waitUntilReady('nats', () => httpOk(`${monitorUrl}/healthz?js-enabled-only=true`), {
    timeoutMs: 30_000,
    child,
    logFile,
  });
  return { ...managed('nats', child), url: `nats://127.0.0.1:${input.port}`, monitorUrl };
}

export async function natsVersion(bin: string): Promise<string> {
  const { stdout } = await promisify(execFile)(bin, ['--version']);
  return stdout.trim();
}

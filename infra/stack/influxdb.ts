/**
 * InfluxDB 2.x `influxd`, API-only (the UI assets are not in the Go module),
 * onboarded through POST /api/v2/setup. The operator token is written to
 * DATA_DIR/influx-token (mode 0600) and never printed in full.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinary, type BinarySource } from './binaries.ts';
import { installInfluxd, INFLUXD_VERSION } from './installers.ts';
import { httpOk, managed, spawnServer, waitUntilReady, type ManagedServer } from './process.ts';

export async function resolveInfluxdBin(opts: {
  bin?: string;
  cache: string;
  install: boolean;
  onProgress?: (msg: string) => void;
}) {
  try {
    return findBinary({
      label: 'influxd (InfluxDB 2.x)',
      name: 'influxd',
      configured: opts.bin,
      envVar: 'INFLUXD_BIN',
      cached: [join(opts.cache, 'bin', `influxd-${INFLUXD_VERSION}`), join(opts.cache, 'bin', 'influxd')],
      hint: 'Build it with `bash infra/scripts/build-influxd.sh` (Go module proxy + crates.io, 20-35 min) or download InfluxDB 2.7 and set INFLUXD_BIN=/path/to/influxd.',
      skipPath: false,
    });
  } catch (err) {
    if (!opts.install || opts.bin) throw err;
    return { path: await installInfluxd(opts.cache, opts.onProgress), source: 'installed' as BinarySource };
  }
}

export interface StartInfluxInput {
  bin: string;
  dataDir: string;
  port: number;
  org: string;
  bucket: string;
  detached?: boolean;
}

export interface InfluxServer extends ManagedServer {
  url: string;
  token: string;
  tokenFile: string;
}

export async function startInflux(input: StartInfluxInput): Promise<InfluxServer> {
  const dir = join(input.dataDir, 'influx');
  mkdirSync(dir, { recursive: true });
  const logFile = join(input.dataDir, 'influxd.log');
  const args = [
    '--http-bind-address', `127.0.0.1:${input.port}`,
    '--bolt-path', join(dir, 'influxd.bolt'),
    '--engine-path', join(dir, 'engine'),
    '--sqlite-path', join(dir, 'influxd.sqlite'),
    '--reporting-disabled',
    '--ui-disabled',
    '--log-level', 'warn',
  ];
  const child = spawnServer({ name: 'influxdb', bin: input.bin, args, logFile, detached: input.detached });
  const url = `http://127.0.0.1:${input.port}`;
  await waitUntilReady('influxdb', () => httpOk(`${url}/health`), { timeoutMs: 60_000, child, logFile });
  const tokenFile = join(input.dataDir, 'influx-token');
  const token = await onboard({ url, org: input.org, bucket: input.bucket, tokenFile });
  return { ...managed('influxdb', child, 15_000), url, token, tokenFile };
}

/**
 * Idempotent onboarding: on a fresh instance, POST /api/v2/setup with a random
 * operator token; on an onboarded one, reuse the token file.
 */
export async function onboard(input: { url: string; org: string; bucket: string; tokenFile: string }): Promise<string> {
  const status = (await (await fetch(`${input.url}/api/v2/setup`)).json()) as { allowed?: boolean };
  if (!status.allowed) {
    if (!existsSync(input.tokenFile))
      throw new Error(
        `InfluxDB at ${input.url} is already onboarded but ${input.tokenFile} is missing; set INFLUXDB_TOKEN or remove the data dir.`,
      );
    return readFileSync(input.tokenFile, 'utf8').trim();
  }
  const token = randomBytes(32).toString('base64url');
  const res = await fetch(`${input.url}/api/v2/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      username: 'telemetry-admin',
      password: randomBytes(18).toString('base64url'),
      org: input.org,
      bucket: input.bucket,
      token,
      retentionPeriodSeconds: 0,
    }),
  });
  if (!res.ok) throw new Error(`InfluxDB setup failed: ${res.status} ${await res.text()}`);
  writeFileSync(input.tokenFile, token + '\n', { mode: 0o600 });
  chmodSync(input.tokenFile, 0o600);
  return token;
}

/** For logs and status: never the whole secret. */
export function maskToken(token: string): string {
  return token.length <= 8 ? '****' : `${token.slice(0, 4)}…${token.slice(-2)}`;
}

export async function influxdVersion(bin: string): Promise<string> {
  const { stdout } = await promisify(execFile)(bin, ['version']);
  return stdout.trim();
}

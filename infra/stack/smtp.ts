/**
 * A real SMTP server for the email channel: `aiosmtpd` (PyPI, installed into
 * the cache's venv by installers.ts) with its Maildir handler, so every
 * accepted message lands as one RFC 5322 file under `<dir>/maildir/new`.
 * Tests read what a mail client would receive, headers and MIME body included.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installAiosmtpd } from './installers.ts';
import { freePort, managed, portOpen, spawnServer, waitUntilReady, type ManagedServer } from './process.ts';

export interface SmtpServer extends ManagedServer {
  host: string;
  port: number;
  /** smtp://host:port for nodemailer. */
  url: string;
  maildir: string;
  /** Raw messages received so far, oldest first. */
  messages(): string[];
}

/** The aiosmtpd binary in the cache (installed when missing and `install`). */
export async function resolveAiosmtpd(cache: string, install = true): Promise<string> {
  const bin = join(cache, 'venv', 'bin', 'aiosmtpd');
  if (existsSync(bin)) return bin;
  if (!install) throw new Error(`aiosmtpd not found at ${bin}; run scripts/prepare-servers.ts`);
  return installAiosmtpd(cache);
}

export async function startSmtp(input: { cache: string; dataDir: string; port?: number }): Promise<SmtpServer> {
  const bin = await resolveAiosmtpd(input.cache);
  const port = input.port ?? (await freePort());
  const maildir = join(input.dataDir, 'maildir');
  mkdirSync(input.dataDir, { recursive: true });
  const logFile = join(input.dataDir, 'smtp.log');
  // -n: no setuid; Mailbox handler: one file per message in a Maildir (created if missing).
  const child = spawnServer({ name: 'smtp', bin, args: ['-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir], logFile });
  await waitUntilReady('smtp', () => portOpen('127.0.0.1', port), { timeoutMs: 20_000, child, logFile });
  const newDir = join(maildir, 'new');
  return {
    ...managed('smtp', child),
    host: '127.0.0.1',
    port,
    url: `smtp://127.0.0.1:${port}`,
    maildir,
    messages() {
      if (!existsSync(newDir)) return [];
      return readdirSync(newDir)
        .sort()
        .map((f) => readFileSync(join(newDir, f), 'utf8'));
    },
  };
}

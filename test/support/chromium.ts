/**
 * Headless Chromium for browser checks: Debian's `chromium` (apt, installed
 * here when missing and running as root, like the other servers), driven by
 * playwright-core with `executablePath` — never a browser download.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

const run = promisify(execFile);
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export async function chromiumPath(): Promise<string> {
  const found = () => [process.env.CHROMIUM_BIN, ...CANDIDATES].find((p): p is string => !!p && existsSync(p));
  let path = found();
  if (!path && process.getuid?.() === 0) {
    await run('apt-get', ['install', '-y', '-qq', 'chromium'], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    path = found();
  }
  if (!path) throw new Error('chromium not found: `apt-get install -y chromium` (or set CHROMIUM_BIN)');
  return path;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumPath(),
    headless: true,
    // The closed network otherwise makes it retry background connections.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

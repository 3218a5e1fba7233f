/**
 * Resolves a note signer key from env or file; in development (only) generates one into a
 * file of the data dir on first use, so a local stack anchors without setup. Production
 * refuses to start without a configured key (lib/config.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateSignerKey, parseSignerKey, type NoteSigner } from './signed-note.ts';

export function resolveSignerKey(o: { key?: string; file?: string; devFile: string; devName: string; type: number; production: boolean }): NoteSigner {
  if (o.key) return parseSignerKey(o.key);
  if (o.file) return parseSignerKey(readFileSync(o.file, 'utf8'));
  if (o.production) throw new Error(`no note signer key configured (a generated key is refused in production)`);
  if (!existsSync(o.devFile)) {
    mkdirSync(dirname(o.devFile), { recursive: true });
    writeFileSync(o.devFile, `${generateSignerKey(o.devName, o.type)}\n`, { mode: 0o600, flag: 'wx' });
  }
  return parseSignerKey(readFileSync(o.devFile, 'utf8'));
}

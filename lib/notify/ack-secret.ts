/** The acknowledge-link key: env or file; a fixed development key outside production only (refused in production by lib/config.ts). */
import { readFileSync } from 'node:fs';
import type { Config } from '../config.ts';

/** Development-only key (listed in DEV_SECRETS). */
export const DEV_NOTIFY_ACK_SECRET = 'dev-notify-ack-secret-000000000000';

/** Undefined in production without a configured key: acknowledge links are then left out of pages. */
export function notifyAckSecret(cfg: Pick<Config, 'NODE_ENV' | 'NOTIFY_ACK_SECRET' | 'NOTIFY_ACK_SECRET_FILE'>): string | undefined {
  if (cfg.NOTIFY_ACK_SECRET) return cfg.NOTIFY_ACK_SECRET;
  if (cfg.NOTIFY_ACK_SECRET_FILE) {
    const key = readFileSync(cfg.NOTIFY_ACK_SECRET_FILE, 'utf8').trim();
    if (key.length < 32) throw new Error(`NOTIFY_ACK_SECRET_FILE ${cfg.NOTIFY_ACK_SECRET_FILE}: key must be at least 32 characters`);
    if (cfg.NODE_ENV === 'production' && key.includes('dev-notify-ack-secret')) throw new Error('NOTIFY_ACK_SECRET_FILE holds the development key');
    return key;
  }
  return cfg.NODE_ENV === 'production' ? undefined : DEV_NOTIFY_ACK_SECRET;
}

/** Mints the signed acknowledge links that email and ntfy pages carry (lib/notify/ack-token.ts owns the format). */
import { ackLink, signAckToken, type AckTokenClaims } from '../../lib/notify/ack-token.ts';

export interface AckLinks {
  link(alertId: string, via: AckTokenClaims['via'], target: string): string;
}

export function createAckLinks(opts: { key: string; baseUrl: string; ttlS: number; now?: () => number }): AckLinks {
  const now = opts.now ?? Date.now;
  return {
    link(alertId, via, target) {
      const expiresAtS = Math.floor(now() / 1000) + opts.ttlS;
      return ackLink(opts.baseUrl, signAckToken(opts.key, { alertId, via, target, expiresAtS }));
    },
  };
}

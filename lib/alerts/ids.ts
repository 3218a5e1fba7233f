/**
 * Workflow ids for alerts, derived from business keys so a flapping condition
 * (or a retried activity) can never open two escalations for one device × rule.
 */

const SAFE = /[^A-Za-z0-9._:@-]+/g;
const MAX_PART = 120;

/** FNV-1a 32-bit, hex: a short, stable disambiguator (not security relevant). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Keeps ids readable: safe characters pass through, runs of anything else
 * (spaces, slashes, quotes, non-ASCII) become one `_`. When the text had to be
 * changed or cut, a hash of the original is appended so that "a b" and "a/b"
 * still map to different ids.
 */
export function sanitizeIdPart(text: string): string {
  let out = text.replace(SAFE, '_');
  const changed = out !== text || out.length > MAX_PART || out === '';
  if (out.length > MAX_PART) out = out.slice(0, MAX_PART);
  return changed ? `${out}~${fnv1a(text)}` : out;
}

/** `alert-<device>-<rule>`, sanitised for Temporal workflow ids (and search queries). */
export function alertWorkflowId(device: string, rule: string): string {
  return `alert-${sanitizeIdPart(device)}-${sanitizeIdPart(rule)}`;
}

/**
 * The ledger records each id once, but one alert id (`alert-<device>-<rule>`)
 * can open several episodes over time; the episode's start makes the on-chain
 * key unique per episode.
 */
export function ledgerKey(alert: { alertId: string; firedAt: string }): string {
  return `${alert.alertId}@${alert.firedAt}`;
}

/** Display formats shared by the pages. Pure (tested under test/unit/console). */

/** "42 s", "5 min", "3.2 h", "2.1 d"; null → "–". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.abs(seconds);
  if (s < 90) return `${Math.round(seconds)} s`;
  if (s < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (s < 36 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** "1.2 M", "34 k", "512", "0.5"; null → "–". */
export function formatCompact(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(1)} G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (a >= 1e4) return `${Math.round(n / 1e3)} k`;
  if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
  return n.toFixed(1);
}

export function formatPct(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(1)} %`;
}

/** "12 s ago", "5 min ago" relative to `now` (ms). */
export function formatAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '?';
  return `${formatDuration(Math.max(0, (now - t) / 1000))} ago`;
}

/** A tx hash shortened for tables: 0x1234…abcd. */
export function shortHash(h: string | null | undefined): string {
  if (!h) return '–';
  return h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-6)}` : h;
}

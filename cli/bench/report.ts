/** Human tables for the benchmarks (stdout); the JSON line is printed by the command. */
import type { Figures } from './stats.ts';

export interface TableColumn {
  title: string;
  /** Right-aligned (numbers). */
  numeric?: boolean;
}

const fmt = (v: unknown): string =>
  typeof v === 'number' ? (Number.isFinite(v) ? (Math.abs(v) >= 1_000 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toPrecision(3)))) : '–') : String(v ?? '');

/** A plain aligned table: header, rule, rows. */
export function formatTable(columns: TableColumn[], rows: unknown[][]): string {
  const cells = rows.map((r) => r.map(fmt));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((v, i) => (columns[i]!.numeric ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns.map((c) => c.title)), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** Leaves of a figure object as dotted paths (`cpu_s_per_mpoint.worker`). */
export function leaves(f: object, prefix = ''): [string, number][] {
  return Object.entries(f as Figures).flatMap(([k, v]): [string, number][] =>
    typeof v === 'number' ? [[`${prefix}${k}`, v]] : v !== undefined ? leaves(v, `${prefix}${k}.`) : [],
  );
}

/** `figure  median  min  max` for every leaf of the median figures (labels and units from `describe`). */
export function medianTable(s: { median: object; min: object; max: object }, describe: (path: string) => string = (p) => p): string {
  const min = new Map(leaves(s.min));
  const max = new Map(leaves(s.max));
  return formatTable(
    [{ title: 'figure' }, { title: 'median', numeric: true }, { title: 'min', numeric: true }, { title: 'max', numeric: true }],
    leaves(s.median).map(([path, v]) => [describe(path), v, min.get(path), max.get(path)]),
  );
}

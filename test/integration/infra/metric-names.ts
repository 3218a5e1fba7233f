/**
 * Helpers for checking that PromQL in the shipped rules and dashboards names
 * only metrics the code really exports. Deliberately small: a tokenizer good
 * enough for the expressions we write, not a PromQL parser.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type MetricType = 'Counter' | 'Gauge' | 'Histogram' | 'Summary';

/** Metric name → prom-client type, from `new Counter({ name: '…' })` etc. in the sources. */
export function sourceMetrics(root: string, dirs: readonly string[]): Map<string, MetricType> {
  const found = new Map<string, MetricType>();
  const ctor = /new\s+(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\s*\(\s*\{\s*name:\s*['"]([a-zA-Z_:][a-zA-Z0-9_:]*)['"]/g;
  for (const file of tsFiles(root, dirs)) {
    for (const m of readFileSync(file, 'utf8').matchAll(ctor)) found.set(m[2]!, m[1] as MetricType);
  }
  return found;
}

function tsFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) out.push(p);
    }
  };
  for (const d of dirs) walk(join(root, d));
  return out;
}

/** Series names a metric exposes: histograms add _bucket/_sum/_count, summaries _sum/_count. */
export function exposedSeries(metrics: Map<string, MetricType>): Set<string> {
  const out = new Set<string>();
  for (const [name, type] of metrics) {
    out.add(name);
    if (type === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
    if (type === 'Summary') for (const s of ['_sum', '_count']) out.add(name + s);
  }
  return out;
}

const KEYWORDS = new Set([
  'and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2',
]);

/**
 * Metric names (selectors) referenced by a PromQL expression. Strips strings,
 * label matchers, ranges, grouping clauses, Grafana variables and numbers,
 * then keeps identifiers that are not function calls or keywords.
 */
export function promqlMetricNames(expr: string): string[] {
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping label lists
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, ' '); // Grafana variables
  s = s.replace(/(?<![A-Za-z0-9_:])\d[\d.]*(?:e[+-]?\d+)?(?:ms|[smhdwy])?(?![A-Za-z0-9_:])/gi, ' '); // numbers, durations
  const names: string[] = [];
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = s.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(')) continue; // function or aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return [...new Set(names)];
}

/** Every `expr` string in a Grafana dashboard (panels, nested row panels, query variables). */
export function dashboardExprs(dashboard: unknown): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const d = dashboard as { panels?: Panel[]; templating?: { list?: TemplateVar[] } };
  const visit = (panels: Panel[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      visit(p.panels);
    }
  };
  visit(d.panels);
  for (const v of d.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const lv = q?.match(/^label_values\(\s*(.+?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/);
    if (lv) out.push({ where: `variable ${v.name}`, expr: lv[1]! });
  }
  return out;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr?: string; refId: string }[];
  panels?: Panel[];
}
interface TemplateVar {
  name: string;
  query?: string | { query?: string };
}

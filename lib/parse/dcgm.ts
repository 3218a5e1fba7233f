/**
 * DCGM-exporter output: Prometheus text exposition
 * (`DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-…",…} 45 [timestamp_ms]`).
 * Samples are grouped per device (UUID, MIG instance) per timestamp into one
 * point. DCGM "blank" sentinels mean "no value" and are dropped, never kept as numbers.
 */
import { msToNs, type Point } from '../point.ts';
import type { Collector } from './collector.ts';
import { DCGM_FIELDS, DCGM_MASK_NAMES, applyThrottleMask, sanitizeName } from './fields.ts';
import { IdentityResolver, type ResolvedIdentity } from './identity.ts';
import { LineSplitter } from './lines.ts';
import type { TimeRange } from './time-range.ts';

/** dcgm_structs.h: DCGM_INT32_BLANK 0x7ffffff0 … NOT_PERMISSIONED 0x7ffffff3 (window kept to +15 for future codes). */
export const DCGM_INT32_BLANK = 0x7fff_fff0;
/** DCGM_INT64_BLANK 0x7ffffffffffffff0 (9223372036854775792); any value >= is a blank code. */
export const DCGM_INT64_BLANK = 9_223_372_036_854_775_792n;
/** DCGM_FP64_BLANK 2^47 = 140737488355328.0; floats >= are blank codes. */
export const DCGM_FP64_BLANK = 140_737_488_355_328;

/**
 * True when the sample text is a DCGM blank sentinel. Integers (no `.`/`e`)
 * are checked against the INT64 threshold (exactly, as BigInt: 2^63-16 is not a
 * double) and the INT32 window; floats (dcgm-exporter prints doubles with `%f`)
 * against the FP64 threshold.
 */
export function isDcgmBlank(text: string, value: number): boolean {
  if (/^\d+$/.test(text)) {
    if (text.length >= 19 && BigInt(text) >= DCGM_INT64_BLANK) return true;
    return value >= DCGM_INT32_BLANK && value <= DCGM_INT32_BLANK + 0xf;
  }
  return value >= DCGM_FP64_BLANK;
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?\s*$/;
const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Prometheus label set `a="x",b="y\"z"` → record. Returns undefined on syntax error. */
export function parseLabels(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ' ' || text[i] === ',')) i++;
    if (i >= n) break;
    const eq = text.indexOf('=', i);
    if (eq < 0) return undefined;
    const key = text.slice(i, eq).trim();
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key)) return undefined;
    i = eq + 1;
    while (text[i] === ' ') i++;
    if (text[i] !== '"') return undefined;
    i++;
    let value = '';
    for (;;) {
      if (i >= n) return undefined;
      const ch = text[i]!;
      if (ch === '\\') {
        const nx = text[i + 1];
        value += nx === 'n' ? '\n' : (nx ?? '');
        i += 2;
      } else if (ch === '"') {
        i++;
        break;
      } else {
        value += ch;
        i++;
      }
    }
    out[key] = value;
  }
  return out;
}

/** Field name for a DCGM metric: mapped canonical name, else `DCGM_FI_DEV_FOO_BAR` → `foo_bar`, `DCGM_FI_PROF_X` → `prof_x`. */
export function dcgmFieldName(metric: string): string {
  const lower = metric.toLowerCase();
  const mapped = DCGM_FIELDS[lower];
  if (mapped !== undefined) return mapped.field;
  return sanitizeName(lower.replace(/^dcgm_fi_dev_/, '').replace(/^dcgm_fi_/, '').replace(/^dcgm_/, ''));
}

interface Group {
  id: ResolvedIdentity;
  ts: string;
  fields: Record<string, number>;
  priorities: Record<string, number>;
  line: number;
}

export class DcgmFormat {
  private readonly lines: LineSplitter;
  private groups = new Map<string, Group>();
  /** Series seen in the current scrape round (no-timestamp samples). */
  private roundSeries = new Set<string>();
  private round = 0;
  private ignored = 0;
  private untimed = 0;

  constructor(
    private readonly c: Collector,
    private readonly identity: IdentityResolver,
    private readonly baseTimeMs: number,
    private readonly intervalMs: number,
    private readonly range: TimeRange,
  ) {
    this.lines = new LineSplitter((text, line) => this.onLine(text, line));
  }

  write(chunk: Buffer | string): void {
    this.lines.write(chunk);
  }

  end(): void {
    this.lines.end();
    this.flush();
    if (this.ignored > 0) this.c.note(`${this.ignored} samples of non-GPU metrics ignored`);
    if (this.untimed > 0) {
      this.c.timeSource = 'scrape';
      this.c.note(
        `samples carry no timestamp: scrape/base time ${new Date(this.baseTimeMs).toISOString()} used` +
          (this.round > 0 ? ` (+${this.intervalMs} ms per repeated scrape)` : ''),
      );
    }
  }

  private flush(): void {
    for (const g of this.groups.values()) {
      if (Object.keys(g.fields).length === 0) {
        // Every sample of this device was a blank sentinel: nothing to write, not an error.
        continue;
      }
      const point: Point = { device: g.id.device, ts: g.ts, tags: { ...g.id.tags }, fields: g.fields };
      this.c.emit(point, g.id.source, g.line);
    }
    this.groups = new Map();
  }

  private onLine(text: string, line: number): void {
    const s = text.trim();
    if (s === '' || s.startsWith('#')) return;
    const m = SAMPLE_RE.exec(s);
    if (m === null) {
      this.c.row(line);
      this.c.reject(line, undefined, `not a Prometheus sample line: "${s.slice(0, 80)}"`, true);
      return;
    }
    const metric = m[1]!;
    const labels = m[2] === undefined ? {} : parseLabels(m[2]);
    if (labels === undefined) {
      this.c.row(line);
      this.c.reject(line, metric, 'malformed label set', true);
      return;
    }
    const uuid = labels.UUID ?? labels.uuid;
    const gpu = labels.gpu;
    if (!metric.startsWith('DCGM_') && uuid === undefined && gpu === undefined) {
      // Other exporters' metrics (go_*, process_*): not GPU rows, not counted.
      this.ignored++;
      return;
    }
    this.c.row(line);
    const valueText = m[3]!;
    let value: number;
    if (NUMBER_RE.test(valueText)) value = Number(valueText);
    else if (valueText === 'NaN') value = Number.NaN;
    else if (/^[+-]?Inf$/.test(valueText)) value = valueText.startsWith('-') ? -Infinity : Infinity;
    else {
      this.c.reject(line, metric, `not a number: "${valueText}"`, true);
      return;
    }
    const absent = Number.isNaN(value) || isDcgmBlank(valueText, value);
    // Identity first: a device whose every value is blank still marks the round.
    const busLabel = labels.pci_bus_id;
    const id = this.identity.resolve({
      uuid,
      busId: busLabel || undefined,
      index: gpu,
      model: labels.modelName,
      driver: labels.DCGM_FI_DRIVER_VERSION,
      host: labels.Hostname,
      gi: labels.GPU_I_ID || undefined,
    });
    let ts: string;
    if (m[4] !== undefined) {
      const ms = Number(m[4]);
      if (!Number.isSafeInteger(ms)) {
        this.c.rejectTime(line, metric, `sample timestamp "${m[4]}" ms is out of range`);
        return;
      }
      ts = msToNs(ms);
    } else {
      this.untimed++;
      const series = `${id.device}\u0000${metric}\u0000${m[2] ?? ''}`;
      if (this.roundSeries.has(series)) {
        // The same series again without timestamps: a second scrape was appended.
        this.flush();
        this.round++;
        this.roundSeries.clear();
      }
      this.roundSeries.add(series);
      ts = msToNs(this.baseTimeMs + this.round * this.intervalMs);
    }
    const bad = this.range.check(ts);
    if (bad !== undefined) {
      this.c.rejectTime(line, metric, m[4] !== undefined ? bad : `${bad} (scrape/base time)`);
      return;
    }
    const key = `${id.device}\u0000${ts}`;
    let g = this.groups.get(key);
    if (g === undefined) {
      g = { id, ts, fields: {}, priorities: {}, line };
      this.groups.set(key, g);
    }
    if (absent) return;
    g.line = line;
    const lower = metric.toLowerCase();
    if (DCGM_MASK_NAMES.has(lower)) {
      if (!Number.isSafeInteger(value) || value < 0) {
        this.c.reject(line, metric, `not a bitmask: "${valueText}"`, false);
        return;
      }
      applyThrottleMask(g.fields, value);
      return;
    }
    if (!Number.isFinite(value)) {
      this.c.reject(line, metric, `non-finite value "${valueText}"`, false);
      return;
    }
    const target = DCGM_FIELDS[lower];
    const field = target?.field ?? dcgmFieldName(metric);
    const prio = target?.priority ?? 0;
    const prev = g.priorities[field];
    if (prev !== undefined && prev > prio) return;
    g.priorities[field] = prio;
    g.fields[field] = value;
    if (target?.also !== undefined) g.fields[target.also] = value;
  }
}

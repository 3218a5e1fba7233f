/**
 * The row engine shared by nvidia-smi CSV, generic CSV and dmon: a header is
 * compiled once into per-column handlers, then each row (array of cell
 * strings) becomes one point or a rejection.
 *
 * Rejection policy (documented in lib/parse/README.md):
 * - whole row rejected (no point): wrong column count, missing/unparseable
 *   timestamp, no numeric value left in the row;
 * - single value rejected (entry with the column name, rest of the row kept):
 *   a non-numeric value in a numeric column, a unit that does not fit the
 *   column, a malformed bitmask / pstate / flag.
 */
import { msToNs } from '../point.ts';
import type { Point } from '../point.ts';
import type { Collector } from './collector.ts';
import {
  DCGM_FIELDS,
  DCGM_MASK_NAMES,
  DMON_FIELDS,
  NVSMI_ENUMS,
  NVSMI_FIELDS,
  parseEnumCell,
  type EnumTarget,
  type CellValue,
  THROTTLE_BITS,
  THERMAL_MASK,
  POWER_MASK,
  HW_SLOWDOWN_MASK,
  canonicalTarget,
  classifyCell,
  genericFieldName,
  isAbsent,
  parseFlag,
  parseMask,
  parseNumericCell,
  parsePstate,
  splitHeaderUnit,
  throttleReasonName,
  unitDef,
  type Dim,
  type FieldTarget,
} from './fields.ts';
import { IdentityResolver, type IdentityValues, type ResolvedIdentity } from './identity.ts';
import { RowFields } from './row-fields.ts';
import { detach } from './strings.ts';
import type { TimeRange } from './time-range.ts';
import { TimeZoneResolver, localDate, parseDateTime, parseDmonDateTime, parseTimestamp } from './timestamp.ts';

type Kind =
  | 'timestamp'
  | 'date'
  | 'time'
  | 'device'
  | 'uuid'
  | 'bus'
  | 'index'
  | 'gpu'
  | 'model'
  | 'driver'
  | 'host'
  | 'gi'
  | 'ci'
  | 'field'
  | 'mask'
  | 'enum'
  | 'reason'
  | 'pstate'
  | 'auto'
  | 'text'
  | 'ignore';

interface Column {
  idx: number;
  header: string;
  kind: Kind;
  field: string;
  dim: Dim;
  mul: number;
  div: number;
  priority: number;
  bit: number;
  /** For 'auto': undecided until the first real value. */
  auto: 'unknown' | 'numeric' | 'text';
  /** Value, reason columns: the field name written and its RowFields slot. */
  name?: string;
  slot?: number;
  /** 'enum': the code table and this column's memo of verdicts per cell text. */
  enumTarget?: EnumTarget;
  enumMemo?: Map<string, CellValue>;
  /** Second field fed by the same cell (FieldTarget.also). */
  also?: string;
  /** A copy of a column for its `also` field: its rejections are reported once, by the original. */
  echo?: boolean;
}

/** Known text columns that carry no telemetry: dropped, listed in the summary. */
const TEXT_COLUMNS = new Set([
  'serial',
  'vbios_version',
  'kmd_version',
  'compute_mode',
  'driver_model.current',
  'driver_model.pending',
  'gom.current',
  'gom.pending',
  'display_mode',
  'addressing_mode',
  'pci.domain',
  'pci.bus',
  'pci.device',
  'pci.device_id',
  'pci.sub_device_id',
  'pci.baseclass',
  'pci.subclass',
  'clocks_event_reasons.supported',
  'clocks_throttle_reasons.supported',
]);
const TEXT_PREFIXES = ['inforom.', 'platform.', 'fabric.'];

const IDENTITY_KINDS: Record<string, Kind> = {
  timestamp: 'timestamp',
  time_stamp: 'timestamp',
  ts: 'timestamp',
  datetime: 'timestamp',
  uuid: 'uuid',
  gpu_uuid: 'uuid',
  'pci.bus_id': 'bus',
  pci_bus_id: 'bus',
  bus_id: 'bus',
  index: 'index',
  gpu_index: 'index',
  gpu: 'gpu',
  name: 'model',
  model: 'model',
  gpu_name: 'model',
  modelname: 'model',
  driver_version: 'driver',
  driver: 'driver',
  hostname: 'host',
  host: 'host',
  gi: 'gi',
  gpu_instance_id: 'gi',
  gpu_i_id: 'gi',
  ci: 'ci',
  compute_instance_id: 'ci',
  gpu_c_id: 'ci',
  pstate: 'pstate',
  'clocks_event_reasons.active': 'mask',
  'clocks_throttle_reasons.active': 'mask',
  throttle_reasons: 'mask',
};

export type TableFlavor = 'nvidia-smi-csv' | 'generic-csv' | 'dmon';

interface IdMemoEntry {
  raw: string[];
  id: ResolvedIdentity;
}
const ID_MEMO_WAYS = 8;

export interface TableOptions {
  flavor: TableFlavor;
  tz: TimeZoneResolver;
  identity: IdentityResolver;
  baseTimeMs: number;
  intervalMs: number;
  /** Accepted timestamps: rows outside are rejected whole (file, line, column, reason). */
  range: TimeRange;
}

export class TableEngine {
  private cols: Column[] = [];
  /** Numeric-ish columns in processing order (lower priority first, so higher priority overwrites). */
  private valueCols: Column[] = [];
  private headerKey = '';
  private width = 0;
  private tsCol: Column | undefined;
  private dateCol: Column | undefined;
  private timeCol: Column | undefined;
  private reasonCols: Column[] = [];
  private maskCol: Column | undefined;
  // derived time state
  private round = 0;
  private seenInRound = new Set<string>();
  private timeOnlyDayMs = 0;
  private lastTimeOnly = -1;
  // interleave detection
  private sameTs = 0;
  private backwards = 0;
  private readonly sameTsDevices = new Set<string>();
  private gpuVsIndexNoted = false;
  /** The current header's field slots (row fields are written by slot, see row-fields.ts). */
  private fields = new RowFields();
  private throttleSlots: number[] = [];
  // last timestamp cell, its parse and range check (one slot: rows of a round are adjacent)
  private lastTsCell: string | undefined;
  private lastTs: string | undefined;
  private lastTsBad: string | undefined;
  private headerSeen = false;
  private headerCount = 0;
  private headerGen = '';

  constructor(
    private readonly c: Collector,
    private readonly o: TableOptions,
  ) {}

  get hasHeader(): boolean {
    return this.headerSeen;
  }

  /** Compiles a header. `units` are dmon's second header line (same length) when present. */
  setHeader(headers: string[], line: number, units?: string[]): void {
    // Detached: headers live as long as the parse (columns, rejections, summary).
    let names = headers.map((h) => detach(h.trim()));
    // A trailing comma in the header makes an empty last name: not a column.
    while (names.length > 0 && names[names.length - 1] === '') names = names.slice(0, -1);
    const key = names.join('\u0001');
    if (this.headerSeen) {
      if (key === this.headerKey) return;
      this.c.warn(`header changed at line ${line}; later rows use the new columns`);
    }
    this.headerSeen = true;
    this.headerKey = key;
    // Identity cache keys are positional: a new header must not hit entries of the old one.
    this.headerGen = `h${++this.headerCount}\u0001`;
    this.width = names.length;
    this.cols = names.map((h, idx) => this.compile(h, idx, units?.[idx]));
    this.tsCol = this.cols.find((col) => col.kind === 'timestamp');
    this.dateCol = this.cols.find((col) => col.kind === 'date');
    this.timeCol = this.cols.find((col) => col.kind === 'time');
    this.idList = [];
    const idName: Partial<Record<Kind, keyof IdentityValues>> = {
      uuid: 'uuid',
      bus: 'busId',
      index: 'index',
      gpu: 'index',
      model: 'model',
      driver: 'driver',
      host: 'host',
      gi: 'gi',
      ci: 'ci',
      device: 'device',
    };
    const taken = new Set<Kind>();
    for (const col of this.cols) {
      const name = idName[col.kind];
      if (name !== undefined && !taken.has(col.kind)) {
        taken.add(col.kind);
        this.idList.push([name, col]);
      }
    }
    this.idIdx = this.idList.map(([, col]) => col.idx);
    const rank = (k: Kind) => ['uuid', 'bus', 'device', 'gpu', 'index', 'host', 'gi', 'ci', 'model', 'driver'].indexOf(k);
    this.idPrimary = this.idList.map(([, col]) => col).sort((a, b) => rank(a.kind) - rank(b.kind))[0]?.idx ?? -1;
    this.idMemo = new Map();
    this.maskCol = this.cols.find((col) => col.kind === 'mask');
    this.reasonCols = this.cols.filter((col) => col.kind === 'reason');
    const valueCols = this.cols.filter((col) => col.kind === 'field' || col.kind === 'auto' || col.kind === 'pstate' || col.kind === 'enum');
    // A column with an `also` field is read twice, once per field (only the volatile ECC totals: no cost per other column).
    for (const col of [...valueCols]) if (col.also !== undefined) valueCols.push({ ...col, field: col.also, priority: 0, also: undefined, echo: true });
    this.valueCols = valueCols.sort((a, b) => a.priority - b.priority || a.idx - b.idx);
    this.fields = new RowFields();
    for (const col of this.valueCols) {
      col.name = col.kind === 'pstate' ? 'pstate' : col.field;
      col.slot = this.fields.slot(col.name);
    }
    for (const col of this.reasonCols) col.slot = this.fields.slot(col.field);
    this.throttleSlots = ['throttle_reasons', 'throttle_thermal', 'throttle_power', 'throttle_hw_slowdown'].map((f) => this.fields.slot(f));
    for (const col of this.cols) if (col.kind === 'text') this.c.dropColumn(col.header);
    const hasTime = this.tsCol !== undefined || this.timeCol !== undefined;
    if (!hasTime) {
      this.c.timeSource = 'derived';
      this.c.note(
        `no timestamp column: timestamps derived from base time ${new Date(this.o.baseTimeMs).toISOString()} + ${this.o.intervalMs} ms per sample round (a round ends when a device repeats)`,
      );
    }
  }

  private compile(header: string, idx: number, dmonUnit: string | undefined): Column {
    const { name, unit } = splitHeaderUnit(header);
    const lower = name.toLowerCase();
    const col: Column = { idx, header, kind: 'ignore', field: '', dim: 'none', mul: 1, div: 1, priority: 0, bit: 0, auto: 'unknown' };
    if (name === '') return col;
    const flavor = this.o.flavor;
    if (flavor === 'dmon') {
      if (lower === 'gpu' || lower === 'idx') return { ...col, kind: 'gpu' };
      if (lower === 'date') return { ...col, kind: 'date' };
      if (lower === 'time') return { ...col, kind: 'time' };
      const target = DMON_FIELDS[lower];
      if (target !== undefined) return this.fieldCol(col, target, undefined);
      return { ...col, kind: 'auto', field: genericFieldName(name, dmonUnit === '%' ? 'pct' : 'none') };
    }
    // nvidia-smi never prints these names, so both CSV flavours accept them.
    if (lower === 'device' || lower === 'device_id') return { ...col, kind: 'device' };
    if (lower === 'time') return { ...col, kind: 'timestamp' };
    const idKind = IDENTITY_KINDS[lower];
    if (idKind !== undefined) return { ...col, kind: idKind };
    const reason = throttleReasonName(lower);
    if (reason !== undefined && THROTTLE_BITS[reason] !== undefined) {
      return { ...col, kind: 'reason', field: `throttle_reason_${reason}`, bit: THROTTLE_BITS[reason] };
    }
    const enumTarget = NVSMI_ENUMS[lower];
    if (enumTarget !== undefined) return { ...col, kind: 'enum', field: enumTarget.field, enumTarget, enumMemo: new Map() };
    if (TEXT_COLUMNS.has(lower) || TEXT_PREFIXES.some((p) => lower.startsWith(p))) return { ...col, kind: 'text' };
    if (DCGM_MASK_NAMES.has(lower)) return { ...col, kind: 'mask' };
    const target = NVSMI_FIELDS[lower] ?? DCGM_FIELDS[lower] ?? canonicalTarget(lower);
    if (target !== undefined) return this.fieldCol(col, target, unit);
    const ud = unit !== undefined ? unitDef(unit) : undefined;
    if (ud !== undefined) {
      // A header unit makes the column numeric: `clocks_event_reasons_counters.sw_power_cap [us]`.
      return { ...col, kind: 'field', field: genericFieldName(name, ud.dim), dim: ud.dim, mul: ud.mul, div: ud.div };
    }
    return { ...col, kind: 'auto', field: genericFieldName(name, 'none') };
  }

  private fieldCol(col: Column, target: FieldTarget, unit: string | undefined): Column {
    let mul = 1;
    let div = 1;
    if (unit !== undefined) {
      const ud = unitDef(unit);
      // Header unit of the right dimension scales bare numbers (`memory.used [GiB]` with nounits).
      if (ud !== undefined && (target.dim === 'none' || ud.dim === target.dim)) {
        mul = ud.mul;
        div = ud.div;
      }
    }
    const out: Column = { ...col, kind: 'field', field: target.field, dim: target.dim, mul, div, priority: target.priority };
    if (target.also !== undefined) out.also = target.also;
    return out;
  }

  /** True when the cells are exactly the current header (nvidia-smi repeats it before every row in some loggers). */
  isRepeatedHeader(cells: string[]): boolean {
    if (!this.headerSeen || cells.length < this.width) return false;
    const first = this.cols[0];
    if (first === undefined || cells[0] !== first.header) return false;
    for (let i = 1; i < this.width; i++) if (cells[i] !== this.cols[i]!.header) return false;
    for (let i = this.width; i < cells.length; i++) if (cells[i] !== '') return false;
    return true;
  }

  /** True when a row looks like a (different) header: its first cell is a known header name and it has no numbers. */
  looksLikeHeader(cells: string[]): boolean {
    const c0 = (cells[0] ?? '').charCodeAt(0);
    // Data rows start with a digit (timestamp, index) or a placeholder: cheap exit for the hot path.
    if (!((c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122))) return false;
    const first = cells[0]!.toLowerCase();
    if (!(first in IDENTITY_KINDS) && first !== 'device') return false;
    return cells.every((cell) => classifyCell(splitHeaderUnit(cell).name) !== 'numeric');
  }

  /** One data row. `line` is the 1-based physical line of the row. */
  row(cells: string[], line: number): void {
    const c = this.c;
    c.row(line);
    if (c.skipped(line)) {
      // Still advance round state so derived timestamps match a full parse.
      if (this.tsCol === undefined && this.timeCol === undefined) this.advanceRound(this.identityOf(cells).device);
      return;
    }
    let n = cells.length;
    // Trailing comma(s) after the last value: empty extra cells are not columns.
    while (n > this.width && cells[n - 1] === '') n--;
    if (n !== this.width) {
      c.reject(line, undefined, `expected ${this.width} columns, got ${n}`, true);
      return;
    }
    // --- timestamp
    let ts: string | undefined;
    if (this.tsCol !== undefined) {
      const cell = cells[this.tsCol.idx]!;
      // The GPUs of one sample round share the timestamp text: parse and range-check it once (both pure in the text).
      let bad: string | undefined;
      if (cell === this.lastTsCell) {
        ts = this.lastTs;
        bad = this.lastTsBad;
      } else {
        ts = parseTimestamp(cell, this.o.tz);
        bad = ts === undefined ? undefined : this.o.range.check(ts);
        this.lastTsCell = cell;
        this.lastTs = ts;
        this.lastTsBad = bad;
      }
      if (ts === undefined) {
        c.reject(line, this.tsCol.header, cell === '' ? 'missing timestamp' : `unparseable timestamp "${cell}"`, true);
        return;
      }
      if (bad !== undefined) {
        c.rejectTime(line, this.tsCol.header, `${bad}: "${cell}"`);
        return;
      }
    } else if (this.timeCol !== undefined) {
      ts = this.dmonTime(cells, line);
      if (ts === undefined) return;
      const bad = this.o.range.check(ts);
      if (bad !== undefined) {
        c.rejectTime(line, (this.dateCol ?? this.timeCol).header, bad);
        return;
      }
    }
    // --- values
    const fields = this.fields;
    fields.reset();
    const [reasonsSlot, thermalSlot, powerSlot, hwSlot] = this.throttleSlots as [number, number, number, number];
    let count = 0;
    for (const col of this.valueCols) {
      const cell = cells[col.idx]!;
      let v;
      if (col.kind === 'field') v = parseNumericCell(cell, col.dim, col.mul, col.div);
      else if (col.kind === 'pstate') v = parsePstate(cell);
      else if (col.kind === 'enum') v = parseEnumCell(cell, col.enumTarget!, col.enumMemo);
      else {
        if (col.auto === 'unknown') {
          const k = classifyCell(cell);
          if (k === 'absent') continue;
          col.auto = k;
          if (k === 'text') c.dropColumn(col.header);
        }
        if (col.auto === 'text') continue;
        v = parseNumericCell(cell, 'none', 1, 1);
      }
      if (v === undefined) continue;
      if (typeof v === 'string') {
        if (col.echo !== true) c.reject(line, col.header, v, false);
        continue;
      }
      if (fields.isUnset(col.slot!)) count++;
      fields.set(col.slot!, v);
    }
    // --- throttle reasons: the bitmask wins; per-reason Active columns fill in without it.
    let masked = false;
    if (this.maskCol !== undefined) {
      const cell = cells[this.maskCol.idx]!;
      const m = parseMask(cell);
      if (typeof m === 'number') {
        // as applyThrottleMask
        fields.set(reasonsSlot, m);
        fields.set(thermalSlot, m & THERMAL_MASK ? 1 : 0);
        fields.set(powerSlot, m & POWER_MASK ? 1 : 0);
        fields.set(hwSlot, m & HW_SLOWDOWN_MASK ? 1 : 0);
        count++;
        masked = true;
      } else if (typeof m === 'string') c.reject(line, this.maskCol.header, m, false);
    }
    if (this.reasonCols.length > 0) {
      let any = false;
      let bits = 0;
      for (const col of this.reasonCols) {
        const f = parseFlag(cells[col.idx]!);
        if (typeof f === 'string') {
          c.reject(line, col.header, f, false);
          continue;
        }
        if (f === undefined) continue;
        fields.set(col.slot!, f);
        count++;
        any = true;
        if (f === 1) bits |= col.bit;
      }
      if (any && !masked) {
        fields.set(thermalSlot, bits & THERMAL_MASK ? 1 : 0);
        fields.set(powerSlot, bits & POWER_MASK ? 1 : 0);
        fields.set(hwSlot, bits & HW_SLOWDOWN_MASK ? 1 : 0);
      }
    }
    if (count === 0) {
      c.reject(line, undefined, 'no numeric value in row', true);
      return;
    }
    // --- identity
    const id = this.identityOf(cells);
    if (ts === undefined) {
      ts = msToNs(this.o.baseTimeMs + this.advanceRound(id.device) * this.o.intervalMs);
      const bad = this.o.range.check(ts);
      if (bad !== undefined) {
        c.rejectTime(line, undefined, `derived ${bad} (base time ${new Date(this.o.baseTimeMs).toISOString()} + ${this.o.intervalMs} ms per round)`);
        return;
      }
    } else this.checkInterleave(id, ts);
    // One frozen tags object per device, shared by its points (nothing downstream mutates tags; line protocol caches per tags object).
    const point: Point = { device: id.device, ts, tags: id.tags, fields: fields.toObject() };
    c.emit(point, id.source, line);
  }

  /** Identity columns present in the current header, in IdentityValues order. */
  private idList: Array<[keyof IdentityValues, Column]> = [];
  /** Cell index of each idList column, and of the one most likely to tell devices apart (uuid > bus id > device > index > …). */
  private idIdx: number[] = [];
  private idPrimary = -1;
  /**
   * Memo of identityOf per primary id cell: the id cells it was computed
   * from (detached copies) and the result. Exact: a hit needs every id cell
   * equal; a miss computes as before and replaces the oldest entry beyond
   * ID_MEMO_WAYS (MIG instances share a parent UUID).
   */
  private idMemo = new Map<string, IdMemoEntry[]>();

  private identityOf(cells: string[]): ResolvedIdentity {
    const idx = this.idIdx;
    const n = idx.length;
    const primary = this.idPrimary >= 0 ? cells[this.idPrimary]! : '';
    const entries = this.idMemo.get(primary);
    if (entries !== undefined) {
      for (let e = 0; e < entries.length; e++) {
        const entry = entries[e]!;
        const raw = entry.raw;
        let i = 0;
        while (i < n && raw[i] === cells[idx[i]!]) i++;
        if (i === n) return entry.id;
      }
    }
    const id = this.identityOfUncached(cells);
    const entry: IdMemoEntry = { raw: idx.map((i) => detach(cells[i]!)), id };
    if (entries === undefined) this.idMemo.set(detach(primary), [entry]);
    else {
      if (entries.length >= ID_MEMO_WAYS) entries.shift();
      entries.push(entry);
    }
    return id;
  }

  private identityOfUncached(cells: string[]): ResolvedIdentity {
    // The resolver caches by the raw values.
    const list = this.idList;
    let key = this.headerGen;
    for (let i = 0; i < list.length; i++) {
      const s = cells[list[i]![1].idx]!;
      key += (isAbsent(s) ? '\u0002' : s) + '\u0001';
    }
    const cached = this.o.identity.cached(key);
    if (cached !== undefined) return cached;
    const v: IdentityValues = {};
    let gpu: string | undefined;
    let index: string | undefined;
    for (const [name, col] of list) {
      const s = cells[col.idx]!;
      if (isAbsent(s)) continue;
      if (col.kind === 'gpu') gpu = s;
      else if (col.kind === 'index') index = s;
      else v[name] = s;
    }
    // xypp3 case: `index` constant while a `gpu` column tells GPUs apart: `gpu` is the index.
    v.index = gpu ?? index;
    if (gpu !== undefined && index !== undefined && gpu !== index && !this.gpuVsIndexNoted) {
      this.gpuVsIndexNoted = true;
      this.c.warn(`columns "gpu" and "index" disagree (gpu=${gpu}, index=${index}); "gpu" is used as the GPU index`);
    }
    return this.o.identity.resolveKeyed(key, v);
  }

  /** Derived time: a new round starts when a device repeats within the current round. Returns the round number. */
  private advanceRound(device: string): number {
    if (this.seenInRound.has(device)) {
      this.round++;
      this.seenInRound.clear();
    }
    this.seenInRound.add(device);
    return this.round;
  }

  private dmonTime(cells: string[], line: number): string | undefined {
    const timeCol = this.timeCol!;
    const time = cells[timeCol.idx]!;
    if (this.dateCol !== undefined) {
      const date = cells[this.dateCol.idx]!;
      const ts = parseDmonDateTime(date, time, this.o.tz);
      if (ts === undefined) this.c.reject(line, this.dateCol.header, `unparseable date/time "${date} ${time}"`, true);
      return ts;
    }
    // `-o T`: time of day only. The date comes from the base time; a time going backwards means midnight passed.
    const m = /^(\d{2}):(\d{2}):(\d{2})$/.exec(time);
    if (m === null) {
      this.c.reject(line, timeCol.header, `unparseable time "${time}"`, true);
      return undefined;
    }
    const secs = +m[1]! * 3600 + +m[2]! * 60 + +m[3]!;
    if (this.lastTimeOnly < 0) {
      const [y, mo, d] = localDate(this.o.baseTimeMs, this.o.tz).split('/').map(Number);
      this.timeOnlyDayMs = Date.UTC(y!, mo! - 1, d!);
      this.c.note(`dmon log has time of day only: the date is taken from the base time (${new Date(this.o.baseTimeMs).toISOString()})`);
    } else if (secs < this.lastTimeOnly) this.timeOnlyDayMs += 86_400_000;
    this.lastTimeOnly = secs;
    const d = new Date(this.timeOnlyDayMs);
    const text = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')} ${time}`;
    const ts = parseDateTime(text, this.o.tz);
    if (ts === undefined) this.c.reject(line, timeCol.header, `unparseable time "${time}"`, true);
    return ts;
  }

  /** Per-device state lives on the cached identity object: no map lookup per row. */
  private checkInterleave(id: ResolvedIdentity, ts: string): void {
    const last = id.lastTs;
    if (last !== undefined) {
      if (last === ts) {
        this.sameTs++;
        this.sameTsDevices.add(id.device);
      } else if (last.length > ts.length || (last.length === ts.length && last > ts)) {
        this.backwards++;
        this.sameTsDevices.add(id.device);
      }
    }
    id.lastTs = ts;
  }

  /** Summary warnings/notes once the input has ended. */
  finish(): void {
    if (this.sameTs > 0 || this.backwards > 0) {
      const devices = [...this.sameTsDevices].slice(0, 5).join(', ');
      const what = [
        this.sameTs > 0 ? `${this.sameTs} rows repeat the previous timestamp` : '',
        this.backwards > 0 ? `${this.backwards} rows go back in time` : '',
      ]
        .filter(Boolean)
        .join(' and ');
      this.c.warn(
        `${what} for device ${devices}: several GPUs look interleaved with no column telling them apart (uuid, pci.bus_id, index or gpu). They were NOT separated: rows with the same device and timestamp overwrite each other in InfluxDB. Add an identifying column or split the file.`,
      );
    }
    for (const source of this.o.identity.hostless) {
      this.c.note(`device ids come from ${source} without a host: pass --host to keep GPUs of different machines apart`);
    }
  }
}

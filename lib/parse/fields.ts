/**
 * Column-name mapping (nvidia-smi, dmon, DCGM, canonical) and cell-value
 * parsing with unit conversion. One table so every format names a quantity
 * the same way.
 *
 * Invariants:
 * - A placeholder (`[N/A]`, `[Not Supported]`, `N/A`, `-`, empty, …) is absent, never 0.
 * - Values are converted to the base unit of their dimension (W, MiB, MHz, %, °C, µs, mJ).
 * - JS `Number()` accepts `0x1F`, `Infinity` and blanks: every number goes through NUM_RE first.
 */

import { FIELD_DOCS } from '../point.ts';

export type Dim = 'power' | 'mem' | 'clock' | 'pct' | 'temp' | 'time' | 'energy' | 'none';

interface UnitDef {
  dim: Dim;
  mul: number;
  div: number;
  /** Suffix appended to non-canonical field names, for the base unit. */
}

const u = (dim: Dim, mul = 1, div = 1): UnitDef => ({ dim, mul, div });

/**
 * Units as printed by nvidia-smi / dmon / users. Case matters (mW vs MW).
 * MB/GB/KB are decimal (SI) in CSV input; dmon's `MB` header is NVIDIA's MiB and is handled in dmon.ts.
 */
export const UNITS: Record<string, UnitDef> = {
  W: u('power'),
  mW: u('power', 1, 1000),
  kW: u('power', 1000),
  MiB: u('mem'),
  GiB: u('mem', 1024),
  TiB: u('mem', 1024 * 1024),
  KiB: u('mem', 1, 1024),
  B: u('mem', 1, 1_048_576),
  MB: u('mem', 1_000_000, 1_048_576),
  GB: u('mem', 1_000_000_000, 1_048_576),
  KB: u('mem', 1000, 1_048_576),
  kB: u('mem', 1000, 1_048_576),
  MHz: u('clock'),
  GHz: u('clock', 1000),
  kHz: u('clock', 1, 1000),
  Hz: u('clock', 1, 1_000_000),
  '%': u('pct'),
  C: u('temp'),
  '°C': u('temp'),
  us: u('time'),
  µs: u('time'),
  ms: u('time', 1000),
  s: u('time', 1_000_000),
  ns: u('time', 1, 1000),
  mJ: u('energy'),
  J: u('energy', 1000),
};

const BASE_SUFFIX: Record<Dim, string> = {
  power: '_w',
  mem: '_mib',
  clock: '_mhz',
  pct: '_pct',
  temp: '_c',
  time: '_us',
  energy: '_mj',
  none: '',
};

export function unitDef(unit: string): UnitDef | undefined {
  return UNITS[unit] ?? UNITS[unit.trim()];
}

/** Column target: where a column's numeric value goes. Higher priority wins per row when several columns feed one field. */
export interface FieldTarget {
  field: string;
  dim: Dim;
  priority: number;
  /** A second field that always gets this column's value (volatile ECC totals also feed `ecc_*_volatile`). */
  also?: string;
}

const t = (field: string, dim: Dim, priority = 0, also?: string): FieldTarget =>
  also === undefined ? { field, dim, priority } : { field, dim, priority, also };

/** nvidia-smi `--query-gpu` names (lower-cased) and canonical names → canonical fields. */
export const NVSMI_FIELDS: Record<string, FieldTarget> = {
  'temperature.gpu': t('temperature_c', 'temp'),
  'temperature.memory': t('mem_temperature_c', 'temp'),
  'power.draw': t('power_w', 'power', 3),
  'power.draw.instant': t('power_w', 'power', 2),
  'power.draw.average': t('power_w', 'power', 1),
  'enforced.power.limit': t('power_limit_w', 'power', 2),
  'power.limit': t('power_limit_w', 'power', 1),
  'utilization.gpu': t('util_gpu_pct', 'pct'),
  'utilization.memory': t('util_mem_pct', 'pct'),
  'utilization.encoder': t('util_enc_pct', 'pct'),
  'utilization.decoder': t('util_dec_pct', 'pct'),
  'utilization.jpeg': t('util_jpg_pct', 'pct'),
  'utilization.ofa': t('util_ofa_pct', 'pct'),
  'memory.used': t('mem_used_mib', 'mem'),
  'memory.total': t('mem_total_mib', 'mem'),
  'memory.free': t('mem_free_mib', 'mem'),
  'memory.reserved': t('mem_reserved_mib', 'mem'),
  'clocks.sm': t('sm_clock_mhz', 'clock'),
  'clocks.current.sm': t('sm_clock_mhz', 'clock'),
  'clocks.mem': t('mem_clock_mhz', 'clock'),
  'clocks.current.memory': t('mem_clock_mhz', 'clock'),
  'clocks.gr': t('gr_clock_mhz', 'clock'),
  'clocks.current.graphics': t('gr_clock_mhz', 'clock'),
  'clocks.video': t('video_clock_mhz', 'clock'),
  'clocks.current.video': t('video_clock_mhz', 'clock'),
  'clocks.max.sm': t('sm_clock_max_mhz', 'clock'),
  'clocks.max.gr': t('gr_clock_max_mhz', 'clock'),
  'clocks.max.graphics': t('gr_clock_max_mhz', 'clock'),
  'clocks.max.mem': t('mem_clock_max_mhz', 'clock'),
  'clocks.max.memory': t('mem_clock_max_mhz', 'clock'),
  'fan.speed': t('fan_pct', 'pct'),
  // Aggregate (lifetime) counts are the canonical ECC fields; volatile totals fill in when aggregate is absent
  // and are also kept apart: a volatile count resets with the GPU, so "still non-zero" means "not reset yet".
  'ecc.errors.corrected.aggregate.total': t('ecc_sbe', 'none', 2),
  'ecc.errors.corrected.volatile.total': t('ecc_sbe', 'none', 1, 'ecc_sbe_volatile'),
  'ecc.errors.uncorrected.aggregate.total': t('ecc_dbe', 'none', 2),
  'ecc.errors.uncorrected.volatile.total': t('ecc_dbe', 'none', 1, 'ecc_dbe_volatile'),
  // Driver fault signals (A100+ memory error management; Pascal/Volta page retirement).
  'remapped_rows.correctable': t('remapped_rows_correctable', 'none'),
  'remapped_rows.uncorrectable': t('remapped_rows_uncorrectable', 'none'),
  'remapped_rows.pending': t('remapped_rows_pending', 'none'),
  'remapped_rows.failure': t('remapped_rows_failure', 'none'),
  'retired_pages.single_bit_ecc.count': t('retired_pages_sbe', 'none'),
  'retired_pages.double_bit.count': t('retired_pages_dbe', 'none'),
  'retired_pages.pending': t('retired_pages_pending', 'none'),
  // Margin to the slowdown threshold (nvidia-smi: "TLIMIT"), °C; 0 or below = slowing down.
  'temperature.gpu.tlimit': t('temp_headroom_c', 'temp'),
  // Cumulative clocks-event time per reason (µs since driver load).
  'clocks_event_reasons_counters.sw_power_cap': t('clocks_event_sw_power_cap_us', 'time'),
  'clocks_event_reasons_counters.sync_boost': t('clocks_event_sync_boost_us', 'time'),
  'clocks_event_reasons_counters.sw_thermal_slowdown': t('clocks_event_sw_thermal_us', 'time'),
  'clocks_event_reasons_counters.hw_thermal_slowdown': t('clocks_event_hw_thermal_us', 'time'),
  'clocks_event_reasons_counters.hw_power_brake_slowdown': t('clocks_event_hw_power_brake_us', 'time'),
  'power.default_limit': t('power_default_limit_w', 'power'),
  'power.min_limit': t('power_min_limit_w', 'power'),
  'power.max_limit': t('power_max_limit_w', 'power'),
};

/**
 * Text columns whose values are an enumeration: stored as documented integer
 * codes (Point.fields is numeric). Codes follow NVML's enums where one exists
 * (nvmlDeviceGpuRecoveryAction_t, nvmlGpuFabricState_t) so CSV and DCGM agree.
 * Keys are the lower-cased cell; `other` codes any other non-placeholder text.
 */
export interface EnumTarget {
  field: string;
  codes: Readonly<Record<string, number>>;
  other?: number;
}

/** `gpu_recovery_action` codes = NVML_GPU_RECOVERY_ACTION_* (DCGM_FI_DEV_GET_GPU_RECOVERY_ACTION reports the same numbers). */
export const RECOVERY_ACTION_CODES = { none: 0, reset: 1, reboot: 2, 'drain p2p': 3, 'drain and reset': 4 } as const;
/** `fabric.state` codes = NVML_GPU_FABRIC_STATE_*. */
export const FABRIC_STATE_CODES = { 'not supported': 0, 'not started': 1, 'in progress': 2, completed: 3 } as const;

export const NVSMI_ENUMS: Record<string, EnumTarget> = {
  gpu_recovery_action: { field: 'gpu_recovery_action', codes: RECOVERY_ACTION_CODES },
  'fabric.state': { field: 'fabric_state', codes: FABRIC_STATE_CODES },
  // `Success`, else the NVML error nvidia-smi prints: 1 = fabric registration failed.
  'fabric.status': { field: 'fabric_status', codes: { success: 0 }, other: 1 },
};

/** Bound of a column's memo of enum verdicts (a column repeats a handful of spellings). */
const ENUM_MEMO_MAX = 64;

/**
 * An enumeration cell → its code, absent, or a reason. Hot path: `memo`
 * (one per column, owned by the caller) maps exact cell text to the verdict
 * of parseEnumCellRules, so a repeated spelling costs one lookup.
 */
export function parseEnumCell(cell: string, e: EnumTarget, memo?: Map<string, CellValue>): CellValue {
  if (memo === undefined) return parseEnumCellRules(cell, e);
  const hit = memo.get(cell);
  if (hit !== undefined || memo.has(cell)) return hit;
  const v = parseEnumCellRules(cell, e);
  if (memo.size < ENUM_MEMO_MAX) memo.set(cell, v);
  return v;
}

/** The general rules of parseEnumCell (case-insensitive words, placeholders absent). */
export function parseEnumCellRules(cell: string, e: EnumTarget): CellValue {
  if (isAbsent(cell)) return ABSENT;
  const code = e.codes[cell.toLowerCase()];
  if (code !== undefined) return code;
  if (e.other !== undefined) return e.other;
  return `not one of ${Object.keys(e.codes).join(' / ')}: "${cell}"`;
}

/** DCGM field names (as exported by dcgm-exporter, lower-cased). */
export const DCGM_FIELDS: Record<string, FieldTarget> = {
  dcgm_fi_dev_gpu_temp: t('temperature_c', 'temp'),
  dcgm_fi_dev_memory_temp: t('mem_temperature_c', 'temp'),
  dcgm_fi_dev_power_usage: t('power_w', 'power', 2),
  dcgm_fi_dev_power_usage_instant: t('power_w', 'power', 1),
  dcgm_fi_dev_enforced_power_limit: t('power_limit_w', 'power', 2),
  dcgm_fi_dev_power_mgmt_limit: t('power_limit_w', 'power', 1),
  dcgm_fi_dev_sm_clock: t('sm_clock_mhz', 'clock'),
  dcgm_fi_dev_mem_clock: t('mem_clock_mhz', 'clock'),
  dcgm_fi_dev_video_clock: t('video_clock_mhz', 'clock'),
  dcgm_fi_dev_max_sm_clock: t('sm_clock_max_mhz', 'clock'),
  dcgm_fi_dev_max_mem_clock: t('mem_clock_max_mhz', 'clock'),
  dcgm_fi_dev_gpu_util: t('util_gpu_pct', 'pct'),
  dcgm_fi_dev_mem_copy_util: t('util_mem_pct', 'pct'),
  dcgm_fi_dev_enc_util: t('util_enc_pct', 'pct'),
  dcgm_fi_dev_dec_util: t('util_dec_pct', 'pct'),
  dcgm_fi_dev_fb_used: t('mem_used_mib', 'mem'),
  dcgm_fi_dev_fb_free: t('mem_free_mib', 'mem'),
  dcgm_fi_dev_fb_total: t('mem_total_mib', 'mem'),
  dcgm_fi_dev_fb_reserved: t('mem_reserved_mib', 'mem'),
  dcgm_fi_dev_xid_errors: t('xid', 'none'),
  dcgm_fi_dev_ecc_sbe_agg_total: t('ecc_sbe', 'none', 2),
  dcgm_fi_dev_ecc_sbe_vol_total: t('ecc_sbe', 'none', 1, 'ecc_sbe_volatile'),
  dcgm_fi_dev_ecc_dbe_agg_total: t('ecc_dbe', 'none', 2),
  dcgm_fi_dev_ecc_dbe_vol_total: t('ecc_dbe', 'none', 1, 'ecc_dbe_volatile'),
  dcgm_fi_dev_correctable_remapped_rows: t('remapped_rows_correctable', 'none'),
  dcgm_fi_dev_uncorrectable_remapped_rows: t('remapped_rows_uncorrectable', 'none'),
  dcgm_fi_dev_row_remap_pending: t('remapped_rows_pending', 'none'),
  dcgm_fi_dev_row_remap_failure: t('remapped_rows_failure', 'none'),
  dcgm_fi_dev_retired_sbe: t('retired_pages_sbe', 'none'),
  dcgm_fi_dev_retired_dbe: t('retired_pages_dbe', 'none'),
  dcgm_fi_dev_retired_pending: t('retired_pages_pending', 'none'),
  dcgm_fi_dev_get_gpu_recovery_action: t('gpu_recovery_action', 'none'),
  // Newer dcgm-exporter name for the same field (id 1523).
  dcgm_fi_dev_gpu_recovery_action: t('gpu_recovery_action', 'none'),
  // Thermal margin to the nearest slowdown threshold (field 153), as nvidia-smi's temperature.gpu.tlimit.
  dcgm_fi_dev_gpu_temp_limit: t('temp_headroom_c', 'temp'),
  dcgm_fi_dev_slowdown_temp: t('temp_slowdown_c', 'temp'),
  dcgm_fi_dev_shutdown_temp: t('temp_shutdown_c', 'temp'),
  dcgm_fi_dev_gpu_max_op_temp: t('temp_max_operating_c', 'temp'),
  dcgm_fi_dev_power_mgmt_limit_min: t('power_min_limit_w', 'power'),
  dcgm_fi_dev_power_mgmt_limit_max: t('power_max_limit_w', 'power'),
  dcgm_fi_dev_power_mgmt_limit_def: t('power_default_limit_w', 'power'),
  dcgm_fi_dev_nvlink_crc_flit_error_count_total: t('nvlink_crc_flit_errors', 'none'),
  dcgm_fi_dev_nvlink_crc_data_error_count_total: t('nvlink_crc_data_errors', 'none'),
  dcgm_fi_dev_nvlink_replay_error_count_total: t('nvlink_replay_errors', 'none'),
  dcgm_fi_dev_nvlink_recovery_error_count_total: t('nvlink_recovery_errors', 'none'),
  dcgm_fi_dev_fan_speed: t('fan_pct', 'pct'),
  dcgm_fi_dev_pstate: t('pstate', 'none'),
  dcgm_fi_dev_pcie_replay_counter: t('pcie_replay', 'none'),
  dcgm_fi_dev_total_energy_consumption: t('energy_mj', 'energy'),
  dcgm_fi_dev_power_violation: t('power_violation_us', 'time'),
  dcgm_fi_dev_thermal_violation: t('thermal_violation_us', 'time'),
};

/** DCGM names whose value is the clocks-event bitmask. */
export const DCGM_MASK_NAMES = new Set(['dcgm_fi_dev_clock_throttle_reasons', 'dcgm_fi_dev_clocks_event_reasons']);

/** `nvidia-smi dmon` column names (lower-cased). `gpu`/`date`/`time` are identity/time columns, see dmon.ts. */
export const DMON_FIELDS: Record<string, FieldTarget> = {
  pwr: t('power_w', 'power'),
  gtemp: t('temperature_c', 'temp'),
  temp: t('temperature_c', 'temp'),
  mtemp: t('mem_temperature_c', 'temp'),
  sm: t('util_gpu_pct', 'pct'),
  mem: t('util_mem_pct', 'pct'),
  enc: t('util_enc_pct', 'pct'),
  dec: t('util_dec_pct', 'pct'),
  jpg: t('util_jpg_pct', 'pct'),
  ofa: t('util_ofa_pct', 'pct'),
  mclk: t('mem_clock_mhz', 'clock'),
  pclk: t('gr_clock_mhz', 'clock'),
  pviol: t('power_violation_pct', 'pct'),
  tviol: t('thermal_violation', 'none'),
  // dmon prints `MB` but the numbers are MiB (same as nvidia-smi memory.used): no scaling.
  fb: t('mem_used_mib', 'none'),
  bar1: t('bar1_used_mib', 'none'),
  ccpm: t('ccpm_used_mib', 'none'),
  sbecc: t('ecc_sbe', 'none'),
  dbecc: t('ecc_dbe', 'none'),
  pci: t('pcie_replay', 'none'),
  rxpci: t('pcie_rx_mbps', 'none'),
  txpci: t('pcie_tx_mbps', 'none'),
};

let canonicalNames: Set<string> | undefined;

/**
 * Canonical names used directly as column names (generic CSV): FIELD_DOCS and
 * every mapping target. Dimension from the unit suffix.
 */
export function canonicalTarget(name: string): FieldTarget | undefined {
  canonicalNames ??= new Set([
    ...Object.keys(FIELD_DOCS),
    ...[NVSMI_FIELDS, DCGM_FIELDS, DMON_FIELDS].flatMap((m) => Object.values(m).flatMap((x) => (x.also === undefined ? [x.field] : [x.field, x.also]))),
  ]);
  if (!canonicalNames.has(name)) return undefined;
  const dim: Dim = name.endsWith('_w')
    ? 'power'
    : name.endsWith('_mib')
      ? 'mem'
      : name.endsWith('_mhz')
        ? 'clock'
        : name.endsWith('_pct')
          ? 'pct'
          : name.endsWith('_c')
            ? 'temp'
            : 'none';
  return t(name, dim);
}

/** NVML clocks event reasons (nvml.h `nvmlClocksEventReason*`, formerly `nvmlClocksThrottleReason*`). */
export const THROTTLE_BITS: Record<string, number> = {
  gpu_idle: 0x1,
  applications_clocks_setting: 0x2,
  sw_power_cap: 0x4,
  hw_slowdown: 0x8,
  sync_boost: 0x10,
  sw_thermal_slowdown: 0x20,
  hw_thermal_slowdown: 0x40,
  hw_power_brake_slowdown: 0x80,
  display_clock_setting: 0x100,
};
/** Thermal: SW (0x20) or HW (0x40) thermal slowdown. */
export const THERMAL_MASK = 0x20 | 0x40;
/** Power: SW power capping (0x4). A power-brake assertion (0x80) is a HW slowdown, counted there. */
export const POWER_MASK = 0x4;
/** HW slowdown (0x8) and its specific causes HW thermal (0x40) and power brake (0x80). */
export const HW_SLOWDOWN_MASK = 0x8 | 0x40 | 0x80;

/** Adds `throttle_reasons` and the three derived 0/1 flags for a bitmask. */
export function applyThrottleMask(fields: Record<string, number>, mask: number): void {
  fields.throttle_reasons = mask;
  fields.throttle_thermal = mask & THERMAL_MASK ? 1 : 0;
  fields.throttle_power = mask & POWER_MASK ? 1 : 0;
  fields.throttle_hw_slowdown = mask & HW_SLOWDOWN_MASK ? 1 : 0;
}

/** `clocks_event_reasons.sw_power_cap` → `sw_power_cap` (also legacy `clocks_throttle_reasons.*`). */
export function throttleReasonName(lowerName: string): string | undefined {
  const m = /^clocks_(?:event|throttle)_reasons\.([a-z_]+)$/.exec(lowerName);
  if (m === null) return undefined;
  return m[1];
}

/** snake_case a column name: `encoder.stats.sessionCount` → `encoder_stats_session_count`. */
export function sanitizeName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .replace(/^(\d)/, 'f_$1');
}

/** Field name for a column with no canonical mapping: sanitised name + base-unit suffix of its header unit. */
export function genericFieldName(name: string, dim: Dim): string {
  const base = sanitizeName(name) || 'value';
  const suffix = BASE_SUFFIX[dim];
  return suffix === '' || base.endsWith(suffix) ? base : base + suffix;
}

/** Splits `power.draw [W]` into name and unit. */
export function splitHeaderUnit(header: string): { name: string; unit: string | undefined } {
  const m = /^(.*?)\s*\[([^\]]*)\]$/.exec(header);
  if (m === null) return { name: header.trim(), unit: undefined };
  return { name: m[1]!.trim(), unit: m[2]!.trim() };
}

// ---------------------------------------------------------------- values

const NUM_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const NUM_UNIT_RE = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z%°µ]+)$/;
const HEX_RE = /^0[xX][0-9a-fA-F]+$/;

const ENUM_WORDS: Record<string, number> = {
  enabled: 1,
  disabled: 0,
  yes: 1,
  no: 0,
  active: 1,
  'not active': 0,
  on: 1,
  off: 0,
  true: 1,
  false: 0,
};

/** Placeholder for "no value": bracketed nvidia-smi notes, N/A, dmon `-`, empty, NaN. */
export function isAbsent(cell: string): boolean {
  if (cell.length === 0) return true;
  const c = cell.charCodeAt(0);
  if (c === 91 /* [ */) return cell.charCodeAt(cell.length - 1) === 93; /* ] */
  return cell === 'N/A' || cell === '-' || cell === 'NaN' || cell === 'nan' || cell === 'ERR!' || cell === 'n/a';
}

/** Result of a value parse: a number, ABSENT, or an error reason string. */
export const ABSENT = undefined;
export type CellValue = number | undefined | string;

/** Exact powers of ten (10^22 is the largest a double holds exactly). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** A character of NUM_UNIT_RE's unit class `[A-Za-z%°µ]`. */
function isUnitChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 37 || c === 0xb0 || c === 0xb5;
}

/**
 * Hot-path subset of parseNumericCell: `-?\d+(\.\d+)?` with at most 15
 * digits, optionally ` *<known unit of the column's dimension>`. Returns NaN
 * for anything else (the caller runs the general rules).
 *
 * Exactness: with n < 2^53 digits and 10^k exact, n / 10^k is one correctly
 * rounded IEEE division of the exact decimal value, i.e. exactly Number(text)
 * (Clinger's fast path). A digit-free unit cannot be split differently by
 * NUM_UNIT_RE (an exponent needs digits), so the value is the one the regex
 * path computes.
 */
function fastNumeric(cell: string, dim: Dim, mul: number, div: number): number {
  const len = cell.length;
  let i = 0;
  if (len > 0 && cell.charCodeAt(0) === 45 /* - */) i = 1;
  const start = i;
  let n = 0;
  let c = 0;
  while (i < len && (c = cell.charCodeAt(i) - 48) >= 0 && c <= 9) {
    n = n * 10 + c;
    i++;
  }
  let digits = i - start;
  if (digits === 0) return NaN;
  let v = n;
  if (i < len && cell.charCodeAt(i) === 46 /* . */) {
    const f = ++i;
    while (i < len && (c = cell.charCodeAt(i) - 48) >= 0 && c <= 9) {
      n = n * 10 + c;
      i++;
    }
    if (i === f) return NaN; // `12.` and `12.W`: the general rules decide
    digits += i - f;
    v = n / POW10[i - f]!;
  }
  if (digits > 15) return NaN;
  if (start === 1) v = -v;
  if (i === len) return mul === 1 && div === 1 ? v : (v * mul) / div;
  let u = i;
  while (u < len && cell.charCodeAt(u) === 32) u++;
  if (u === len) return NaN;
  for (let k = u; k < len; k++) if (!isUnitChar(cell.charCodeAt(k))) return NaN;
  const unit = UNITS[cell.slice(u)];
  if (unit === undefined || (dim !== 'none' && unit.dim !== dim)) return NaN;
  return (v * unit.mul) / unit.div;
}

/** Cells nvidia-smi prints for enum columns: the ENUM_WORDS value without lower-casing (none is a number, a unit or a placeholder). */
function enumWord(cell: string): number | undefined {
  switch (cell) {
    case 'Enabled':
    case 'Yes':
    case 'Active':
    case 'On':
      return 1;
    case 'Disabled':
    case 'No':
    case 'Not Active':
    case 'Off':
      return 0;
    default:
      return undefined;
  }
}

/**
 * Parses a numeric cell for a column of dimension `dim` whose header unit
 * scales bare numbers by mul/div. Returns number, undefined (absent) or a reason.
 */
export function parseNumericCell(cell: string, dim: Dim, mul: number, div: number): CellValue {
  const fast = fastNumeric(cell, dim, mul, div);
  if (fast === fast) return fast; // not NaN
  const word = enumWord(cell);
  if (word !== undefined) return word;
  return parseNumericCellRules(cell, dim, mul, div);
}

/** The general rules of parseNumericCell (its fast paths must agree with them; tests compare). */
export function parseNumericCellRules(cell: string, dim: Dim, mul: number, div: number): CellValue {
  const last = cell.charCodeAt(cell.length - 1);
  if (last >= 48 && last <= 57 && NUM_RE.test(cell)) {
    const n = Number(cell);
    return mul === 1 && div === 1 ? n : (n * mul) / div;
  }
  if (isAbsent(cell)) return ABSENT;
  const m = NUM_UNIT_RE.exec(cell);
  if (m !== null) {
    const unit = UNITS[m[2]!];
    if (unit === undefined) return `unknown unit "${m[2]}" in "${cell}"`;
    if (dim !== 'none' && unit.dim !== dim) return `unit "${m[2]}" does not fit this column in "${cell}"`;
    return (Number(m[1]) * unit.mul) / unit.div;
  }
  if (NUM_RE.test(cell)) return Number(cell); // e.g. "12." handled above; "1e5"
  const e = ENUM_WORDS[cell.toLowerCase()];
  if (e !== undefined) return e;
  return `not a number: "${cell}"`;
}

/** How an unclassified column's first real value looks. */
export function classifyCell(cell: string): 'numeric' | 'text' | 'absent' {
  if (isAbsent(cell)) return 'absent';
  if (HEX_RE.test(cell)) return 'text';
  if (NUM_RE.test(cell)) return 'numeric';
  const m = NUM_UNIT_RE.exec(cell);
  if (m !== null && UNITS[m[2]!] !== undefined) return 'numeric';
  if (ENUM_WORDS[cell.toLowerCase()] !== undefined) return 'numeric';
  return 'text';
}

/** `0x0000000000000001` → 1; decimal masks (DCGM) too. */
export function parseMask(cell: string): CellValue {
  // Hot path: nvidia-smi's `0x` + 16 hex digits, exact while below 2^53 (as parseInt then is).
  const len = cell.length;
  if (len > 2 && len <= 18 && cell.charCodeAt(0) === 48 && (cell.charCodeAt(1) | 0x20) === 120 /* x */) {
    let n = 0;
    let i = 2;
    for (; i < len; i++) {
      const c = cell.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : (c | 0x20) >= 97 && (c | 0x20) <= 102 ? (c | 0x20) - 87 : -1;
      if (d < 0) break;
      n = n * 16 + d;
    }
    if (i === len && n <= Number.MAX_SAFE_INTEGER) return n;
  }
  return parseMaskRules(cell);
}

/** The general rules of parseMask. */
export function parseMaskRules(cell: string): CellValue {
  if (isAbsent(cell)) return ABSENT;
  if (HEX_RE.test(cell)) {
    const n = Number.parseInt(cell.slice(2), 16);
    return Number.isSafeInteger(n) ? n : `bitmask out of range: "${cell}"`;
  }
  if (/^\d+$/.test(cell)) return Number(cell);
  return `not a bitmask: "${cell}"`;
}

/** `P0` → 0, `P12` → 12. */
export function parsePstate(cell: string): CellValue {
  if (isAbsent(cell) || cell === 'Unknown') return ABSENT;
  const m = /^[Pp]?(\d{1,2})$/.exec(cell);
  return m === null ? `not a performance state: "${cell}"` : Number(m[1]);
}

/** `Active` / `Not Active` flags of the per-reason columns. */
export function parseFlag(cell: string): CellValue {
  const word = enumWord(cell);
  if (word !== undefined) return word;
  return parseFlagRules(cell);
}

/** The general rules of parseFlag. */
export function parseFlagRules(cell: string): CellValue {
  if (isAbsent(cell)) return ABSENT;
  const e = ENUM_WORDS[cell.toLowerCase()];
  if (e !== undefined) return e;
  if (cell === '0' || cell === '1') return Number(cell);
  return `not an Active/Not Active flag: "${cell}"`;
}

/** `00000000:0c:00.0` / `0000:0C:00.0` / `0C:00.0` → `00000000:0C:00.0` (nvidia-smi form). */
export function normaliseBusId(id: string): string {
  const parts = id.trim().toUpperCase().split(':');
  if (parts.length === 2) parts.unshift('0');
  if (parts.length === 3) parts[0] = parts[0]!.padStart(8, '0');
  return parts.join(':');
}

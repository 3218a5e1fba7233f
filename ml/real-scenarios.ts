/**
 * Labelled episodes built on the real 202-column capture (ml/real-traces.ts)
 * for `health eval`: healthy multi-hour traces of three boards (H100 at load,
 * a hot A100, an RTX 2080 SUPER with zero-RPM idle) and fault episodes with
 * the driver's own signals injected. Seeded, deterministic; never used for
 * training or tuning (the model is trained by ml/train.py on synth.py data).
 *
 * What is real: the column set, units, placeholders and every cell nobody
 * overrides (driver 595.71.05 capture). What is not: the per-row dynamics
 * (load phases, thermal lag) and the injected faults, written here.
 */
import { realTraceCsv, type Board, type RowOverrides } from './real-traces.ts';

export interface Scenario {
  id: string;
  /** `healthy` or the fault name. */
  kind: string;
  board: Board;
  csv: string;
  intervalS: number;
  /** First fault row (null: healthy). */
  onset: number | null;
}

/** mulberry32: small, seeded, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface BoardModel {
  idleW: number;
  loadW: [number, number];
  limitW: number;
  ambientC: number;
  /** °C per W above ambient at steady state. */
  cPerW: number;
  slowdownC: number;
  smMax: number;
  smLoad: [number, number];
  smIdle: number;
  fan: boolean;
  memMiB: number;
}

const BOARDS: Record<Board, BoardModel> = {
  h100: { idleW: 72, loadW: [520, 660], limitW: 700, ambientC: 28, cPerW: 0.058, slowdownC: 87, smMax: 1980, smLoad: [1755, 1980], smIdle: 345, fan: false, memMiB: 81_559 },
  a100: { idleW: 60, loadW: [330, 392], limitW: 400, ambientC: 38, cPerW: 0.118, slowdownC: 90, smMax: 1410, smLoad: [1335, 1410], smIdle: 210, fan: false, memMiB: 81_559 },
  rtx2080s: { idleW: 17, loadW: [190, 248], limitW: 250, ambientC: 30, cPerW: 0.17, slowdownC: 88, smMax: 2145, smLoad: [1905, 2055], smIdle: 300, fan: true, memMiB: 8192 },
};

/** Internal state of one simulated GPU (thermal first-order lag, load phases). */
interface Sim {
  temp: number;
  load: boolean;
  phaseLeft: number;
  power: number;
}

export interface RowMods {
  /** Extra heat, °C, added to the steady-state temperature. */
  extraC?: number;
  fan?: number;
  sm?: number;
  power?: number;
  util?: number;
  cells?: RowOverrides;
  forceLoad?: boolean;
}

/** One row of a board's healthy dynamics (plus modifications). */
function step(b: BoardModel, s: Sim, r: () => number, dtS: number, mods: RowMods): RowOverrides {
  if (mods.forceLoad) s.load = true;
  else if (--s.phaseLeft <= 0) {
    s.load = !s.load;
    s.phaseLeft = Math.round((s.load ? 600 + r() * 2400 : 120 + r() * 900) / dtS);
  }
  const target = s.load ? b.loadW[0] + r() * (b.loadW[1] - b.loadW[0]) : b.idleW * (0.9 + r() * 0.2);
  s.power += (target - s.power) * Math.min(1, dtS / 4);
  const power = mods.power ?? s.power;
  const steady = b.ambientC + power * b.cPerW + (mods.extraC ?? 0);
  s.temp += (steady - s.temp) * (1 - Math.exp(-dtS / 80));
  const temp = Math.round(s.temp);
  const util = mods.util ?? (s.load ? 92 + Math.floor(r() * 8) : Math.floor(r() * 3));
  // The board's own protection: SW thermal slowdown 2 °C before the limit, HW thermal slowdown at it (clocks drop).
  const swThermal = temp >= b.slowdownC - 2;
  const hwThermal = temp >= b.slowdownC;
  let sm = mods.sm ?? (s.load ? Math.round(b.smLoad[0] + r() * (b.smLoad[1] - b.smLoad[0])) : b.smIdle);
  if (hwThermal) sm = Math.min(sm, Math.round(b.smMax * 0.6));
  const powerCapped = power >= b.limitW * 0.985;
  const mask = (s.load ? 0 : 1) | (powerCapped ? 4 : 0) | (swThermal ? 0x20 : 0) | (hwThermal ? 0x40 : 0);
  const cells: RowOverrides = {
    'temperature.gpu': String(temp),
    'power.draw': `${power.toFixed(2)} W`,
    'power.draw.instant': `${power.toFixed(2)} W`,
    'power.limit': `${b.limitW.toFixed(2)} W`,
    'enforced.power.limit': `${b.limitW.toFixed(2)} W`,
    'utilization.gpu': `${util} %`,
    'utilization.memory': `${Math.round(util * 0.45)} %`,
    'utilization.encoder': '0 %',
    'memory.used': `${s.load ? Math.round(b.memMiB * 0.74) : 600} MiB`,
    'memory.free': `${s.load ? b.memMiB - Math.round(b.memMiB * 0.74) - 400 : b.memMiB - 1000} MiB`,
    'clocks.current.sm': `${sm} MHz`,
    'clocks.current.graphics': `${sm} MHz`,
    pstate: s.load ? 'P0' : 'P8',
    'clocks_event_reasons.active': `0x${mask.toString(16).padStart(16, '0')}`,
    'clocks_event_reasons.gpu_idle': s.load ? 'Not Active' : 'Active',
    'clocks_event_reasons.sw_power_cap': powerCapped ? 'Active' : 'Not Active',
    'clocks_event_reasons.sw_thermal_slowdown': swThermal ? 'Active' : 'Not Active',
    'clocks_event_reasons.hw_thermal_slowdown': hwThermal ? 'Active' : 'Not Active',
  };
  if (b.fan) {
    // Zero-RPM below 50 °C at idle; otherwise the fan curve.
    const fan = mods.fan ?? (!s.load && temp < 50 ? 0 : Math.min(100, Math.max(30, Math.round(30 + (temp - 50) * 2.2))));
    cells['fan.speed'] = `${fan} %`;
  } else {
    cells['temperature.gpu.tlimit'] = String(b.slowdownC - temp);
  }
  return { ...cells, ...mods.cells };
}

function trace(id: string, kind: string, board: Board, rows: number, dtS: number, seed: number, onset: number | null, mods: (i: number, row: RowOverrides) => RowMods): Scenario {
  const b = BOARDS[board];
  const r = rng(seed);
  const s: Sim = { temp: b.ambientC + b.idleW * b.cPerW, load: false, phaseLeft: 1, power: b.idleW };
  const csv = realTraceCsv({
    board,
    rows,
    intervalS: dtS,
    startMs: Date.UTC(2026, 5, 24, 0, 0, 0) + seed * 1_000,
    uuid: `GPU-${seed.toString(16).padStart(8, '0')}-eval-4a1b-9c2d-${board.padStart(12, '0')}`,
    row: (i) => step(b, s, r, dtS, mods(i, {})),
  });
  return { id, kind, board, csv, intervalS: dtS, onset };
}

const HEALTHY_HOURS = 12;
const DT_HEALTHY_S = 10;
const DT_FAULT_S = 5;
const WARMUP = 240;
const FAULT_ROWS = 120;
export const VARIANTS = 4;

/** Every scenario: healthy traces (3 boards × 2 seeds × 12 h at 10 s) and 6 fault kinds × VARIANTS. */
export function realScenarios(): Scenario[] {
  const out: Scenario[] = [];
  const boards: Board[] = ['h100', 'a100', 'rtx2080s'];
  boards.forEach((board, bi) => {
    for (let v = 0; v < 2; v++) {
      const seed = 1000 + bi * 10 + v;
      out.push(trace(`healthy-${board}-${v}`, 'healthy', board, (HEALTHY_HOURS * 3600) / DT_HEALTHY_S, DT_HEALTHY_S, seed, null, () => ({})));
    }
  });
  const rows = WARMUP + FAULT_ROWS;
  for (let v = 0; v < VARIANTS; v++) {
    const seed = 2000 + v * 17;
    const k = (i: number) => i - WARMUP; // rows since onset
    out.push(
      trace(`remap_failure_reset-${v}`, 'remap_failure_reset', 'h100', rows, DT_FAULT_S, seed + 1, WARMUP, (i): RowMods =>
        i < WARMUP
          ? { cells: { 'remapped_rows.pending': 'No', gpu_recovery_action: 'None' } }
          : {
              cells: {
                'remapped_rows.pending': 'Yes',
                'remapped_rows.uncorrectable': String(1 + Math.min(k(i), 20) / 10),
                'remapped_rows.failure': k(i) >= 20 ? 'Yes' : 'No',
                gpu_recovery_action: k(i) >= 20 ? 'Reset' : 'None',
              },
            },
      ),
    );
    out.push(
      trace(`persistent_dbe-${v}`, 'persistent_dbe', 'a100', rows, DT_FAULT_S, seed + 2, WARMUP, (i) => ({
        cells: {
          'ecc.errors.uncorrected.volatile.total': i < WARMUP ? '0' : '1',
          'ecc.errors.uncorrected.aggregate.total': i < WARMUP ? '2' : '3',
        },
      })),
    );
    out.push(
      trace(`thermal_headroom-${v}`, 'thermal_headroom', 'h100', rows, DT_FAULT_S, seed + 3, WARMUP, (i) => {
        if (i < WARMUP) return { forceLoad: i > WARMUP - 120 };
        // Failing cooling: +0.3 °C of extra heat per row until the HW slowdown at 0 headroom drops clocks.
        const extra = k(i) * 0.3;
        return { forceLoad: true, extraC: extra };
      }),
    );
    out.push(
      trace(`stuck_fan-${v}`, 'stuck_fan', 'rtx2080s', rows, DT_FAULT_S, seed + 4, WARMUP, (i) =>
        i < WARMUP ? { forceLoad: i > WARMUP - 120 } : { forceLoad: true, fan: 0, extraC: Math.min(k(i) * 0.25, 30) },
      ),
    );
    out.push(
      trace(`clock_drop-${v}`, 'clock_drop', 'h100', rows, DT_FAULT_S, seed + 5, WARMUP, (i) =>
        i < WARMUP ? { forceLoad: i > WARMUP - 120 } : { forceLoad: true, util: 99, sm: Math.round(1980 * (0.4 + ((k(i) * 7) % 15) / 100)), power: 300 },
      ),
    );
    out.push(
      trace(`power_brake-${v}`, 'power_brake', 'a100', rows, DT_FAULT_S, seed + 6, WARMUP, (i) =>
        i < WARMUP
          ? { forceLoad: i > WARMUP - 120 }
          : {
              forceLoad: true,
              sm: 600,
              power: 150,
              cells: { 'clocks_event_reasons.active': '0x0000000000000080', 'clocks_event_reasons.hw_power_brake_slowdown': 'Active' },
            },
      ),
    );
  }
  return out;
}

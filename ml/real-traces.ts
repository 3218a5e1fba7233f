/**
 * Traces built on a real capture: every row is the real 202-column
 * `nvidia-smi --query-gpu` row of lib/sample/nvidia-smi-query-gpu-202.csv
 * (driver 595.71.05, provenance in lib/sample/LICENSES.md) with a few columns
 * overridden per row — board identity (H100 / A100 / the original RTX),
 * load, temperatures and the fault signals a scenario injects. Every other
 * cell (the ~180 columns nobody overrides) stays what the driver printed, so
 * the parser and the health model see real column sets, units and
 * placeholders. Deterministic: the same arguments give the same bytes.
 *
 * Used by the health tests (exact classifications) and by `health eval`
 * (the real-capture part of the benchmark, never used for training).
 */
import { readFileSync } from 'node:fs';
import { WIDE_TEMPLATE } from '../lib/sample/wide-capture.ts';
import { nvsmiTime } from '../lib/sample/generate-sample.ts';

/** Column name (without the `[unit]` suffix) → cell text. */
export type RowOverrides = Record<string, string>;

export type Board = 'h100' | 'a100' | 'rtx2080s';

/** Board identity and the columns a data-centre board reports where the RTX capture says [N/A]. */
function boardCells(board: Board, header: string[]): RowOverrides {
  if (board === 'rtx2080s') return {};
  const o: RowOverrides = {
    name: board === 'h100' ? 'NVIDIA H100 80GB HBM3' : 'NVIDIA A100-SXM4-80GB',
    'memory.total': '81559 MiB',
    'ecc.mode.current': 'Enabled',
    'ecc.mode.pending': 'Enabled',
    // Passively cooled: no fan.
    'fan.speed': '[N/A]',
    'power.limit': board === 'h100' ? '700.00 W' : '400.00 W',
    'enforced.power.limit': board === 'h100' ? '700.00 W' : '400.00 W',
    'power.default_limit': board === 'h100' ? '700.00 W' : '400.00 W',
    'power.max_limit': board === 'h100' ? '700.00 W' : '400.00 W',
    'power.min_limit': '200.00 W',
    'clocks.max.sm': board === 'h100' ? '1980 MHz' : '1410 MHz',
    'clocks.max.graphics': board === 'h100' ? '1980 MHz' : '1410 MHz',
    'temperature.memory': '52',
    'temperature.gpu.tlimit': '40',
    'remapped_rows.pending': 'No',
    'remapped_rows.failure': 'No',
    'fabric.state': 'Completed',
    'fabric.status': 'Success',
  };
  for (const h of header) {
    const name = h.replace(/\s*\[.*\]$/, '');
    if (name.startsWith('ecc.errors.')) o[name] = '0';
    if (/^remapped_rows\.(un)?correctable(_inactive)?$/.test(name)) o[name] = '0';
  }
  return o;
}

export interface TraceOptions {
  board: Board;
  rows: number;
  /** Seconds between rows (default 1). */
  intervalS?: number;
  startMs?: number;
  uuid?: string;
  index?: number;
  /** Cells of row i (applied after the board defaults). */
  row(i: number): RowOverrides;
}

/** The template's header names without units, and its one data row. */
function template(): { header: string[]; names: string[]; base: string[] } {
  const [headerLine, rowLine] = readFileSync(WIDE_TEMPLATE, 'utf8').split('\n');
  const header = headerLine!.split(',').map((s) => s.trim());
  const base = rowLine!.split(',').map((s) => s.trim());
  return { header, names: header.map((h) => h.replace(/\s*\[.*\]$/, '')), base };
}

/** One GPU's trace as nvidia-smi CSV text (header + rows). */
export function realTraceCsv(opts: TraceOptions): string {
  const { header, names, base } = template();
  const board = boardCells(opts.board, header);
  const startMs = opts.startMs ?? Date.UTC(2026, 5, 24, 10, 0, 0);
  const intervalS = opts.intervalS ?? 1;
  const col = new Map(names.map((n, i) => [n, i]));
  const lines = [header.join(', ')];
  for (let i = 0; i < opts.rows; i++) {
    const v = [...base];
    const set = (cells: RowOverrides): void => {
      for (const [k, x] of Object.entries(cells)) {
        const c = col.get(k);
        if (c === undefined) throw new Error(`real trace: the template has no column ${k}`);
        v[c] = x;
      }
    };
    set(board);
    set({ timestamp: nvsmiTime(startMs + i * intervalS * 1000) });
    if (opts.uuid !== undefined) set({ uuid: opts.uuid });
    if (opts.index !== undefined) set({ index: String(opts.index), 'pci.bus_id': `00000000:${(0x18 + opts.index * 0x10).toString(16).toUpperCase().padStart(2, '0')}:00.0` });
    set(opts.row(i));
    lines.push(v.join(', '));
  }
  return lines.join('\n') + '\n';
}

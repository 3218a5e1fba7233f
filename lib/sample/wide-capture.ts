/**
 * A 212-column `nvidia-smi --query-gpu` capture built from a real 202-column
 * capture (driver 595.71.05; `nvidia-smi-query-gpu-202.csv`, provenance in
 * LICENSES.md): the row is made H100-like (ECC and row-remapping counters are
 * numbers, as a data-centre GPU reports them, instead of [N/A]), the 10
 * legacy `clocks_throttle_reasons.*` columns that older collection scripts
 * still request beside `clocks_event_reasons.*` are added (real nvidia-smi
 * names, deprecated aliases), and the row is repeated for `gpus` distinct GPUs
 * (uuid, index, pci.bus_id) at increasing timestamps. Deterministic: the same
 * arguments give the same bytes.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nvsmiTime } from './generate-sample.ts';

/** The real 202-column capture the rows are built from (header + one row). */
export const WIDE_TEMPLATE = fileURLToPath(new URL('./nvidia-smi-query-gpu-202.csv', import.meta.url));

/** The reasons nvidia-smi reports under both `clocks_event_reasons.*` and the legacy `clocks_throttle_reasons.*`. */
const LEGACY_THROTTLE = [
  'supported',
  'active',
  'gpu_idle',
  'applications_clocks_setting',
  'sw_power_cap',
  'hw_slowdown',
  'hw_thermal_slowdown',
  'hw_power_brake_slowdown',
  'sw_thermal_slowdown',
  'sync_boost',
] as const;

export const WIDE_COLUMNS = 212;

export function gpuUuid(g: number): string {
  return `GPU-${String(g).padStart(8, '0')}-h100-4a1b-9c2d-${String(g).padStart(12, '0')}`;
}

/** Eight GPUs per PCI domain, as on an 8-GPU node; GPUs 0-7 sit in domain 0. */
function busId(g: number): string {
  return `${Math.floor(g / 8).toString(16).toUpperCase().padStart(8, '0')}:${(0x18 + (g % 8) * 0x10).toString(16).toUpperCase().padStart(2, '0')}:00.0`;
}

/**
 * Header line, then `rows` data rows (row i: GPU i % gpus, time start + ⌊i / gpus⌋ s),
 * so each (GPU, timestamp) is unique and the capture stores exactly `rows` points.
 * Temperatures stay below 72 °C, so no example alert rule fires on it.
 */
export function* wideCaptureLines(rows: number, gpus = 8, startMs = Date.UTC(2026, 5, 24, 10, 0, 0)): Generator<string> {
  const [headerLine, rowLine] = readFileSync(WIDE_TEMPLATE, 'utf8').split('\n');
  const header = headerLine!.split(',').map((s) => s.trim());
  const base = rowLine!.split(',').map((s) => s.trim());
  if (header.length !== 202 || base.length !== 202) throw new Error(`template changed: ${header.length} columns, ${base.length} values`);
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`template has no column ${name}`);
    return i;
  };
  // H100-like values where the RTX capture reports [N/A].
  const h100 = [...base];
  h100[col('name')] = 'NVIDIA H100 80GB HBM3';
  h100[col('memory.total [MiB]')] = '81559 MiB';
  h100[col('ecc.mode.current')] = 'Enabled';
  h100[col('ecc.mode.pending')] = 'Enabled';
  header.forEach((h, i) => {
    if (h.startsWith('ecc.errors.')) h100[i] = h.includes('.corrected.') ? String((i * 7) % 13) : '0';
  });
  for (const h of ['remapped_rows.correctable', 'remapped_rows.uncorrectable', 'remapped_rows.correctable_inactive', 'remapped_rows.uncorrectable_inactive'])
    h100[col(h)] = '0';
  for (const [h, v] of [['max', '640'], ['high', '0'], ['partial', '0'], ['low', '0'], ['none', '0']] as const) h100[col(`remapped_rows.histogram.${h}`)] = v;
  h100[col('temperature.memory')] = '52';
  h100[col('power.draw.average [W]')] = '312.40 W';

  yield [...header, ...LEGACY_THROTTLE.map((r) => `clocks_throttle_reasons.${r}`)].join(', ');
  const legacy = LEGACY_THROTTLE.map((r) => h100[col(`clocks_event_reasons.${r}`)]!);
  const c = {
    timestamp: col('timestamp'),
    uuid: col('uuid'),
    index: col('index'),
    bus: col('pci.bus_id'),
    temp: col('temperature.gpu'),
    power: col('power.draw [W]'),
    util: col('utilization.gpu [%]'),
    mem: col('memory.used [MiB]'),
  };
  for (let i = 0; i < rows; i++) {
    const g = i % gpus;
    const tick = Math.floor(i / gpus);
    const v = [...h100];
    v[c.timestamp] = nvsmiTime(startMs + tick * 1_000);
    v[c.uuid] = gpuUuid(g);
    v[c.index] = String(g);
    v[c.bus] = busId(g);
    v[c.temp] = String(40 + (g % 16) + (tick % 17));
    v[c.power] = `${(250 + (g % 16) * 5 + (tick % 11) * 0.5).toFixed(2)} W`;
    v[c.util] = `${(tick * 3 + g) % 101} %`;
    v[c.mem] = `${1_000 + ((tick * 37 + g) % 70_000)} MiB`;
    yield [...v, ...legacy].join(', ');
  }
}

/** The whole capture as one string (small sizes: tests). */
export function wideCaptureCsv(rows: number, gpus = 8, startMs = Date.UTC(2026, 5, 24, 10, 0, 0)): string {
  return [...wideCaptureLines(rows, gpus, startMs)].join('\n') + '\n';
}

/**
 * A 212-column `nvidia-smi --query-gpu` capture built from the real 202-column
 * fixture (driver 595.71.05): the row is made H100-like (ECC and row-remapping
 * counters are numbers, as a data-centre GPU reports them, instead of [N/A]),
 * the 10 legacy `clocks_throttle_reasons.*` columns that older collection
 * scripts still request beside `clocks_event_reasons.*` are added (real
 * nvidia-smi names, deprecated aliases), and the row is repeated for `gpus`
 * distinct GPUs (uuid, index, pci.bus_id) at increasing timestamps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './processes.ts';

export const WIDE_FIXTURE = join(REPO, 'test/fixtures/parse/real/nvidia_gpu_exporter__rtx-2080-super__595.71.05__load__query-gpu.csv');

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

function nvTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
}

/**
 * `rows` data rows (row i: GPU i % gpus, time start + ⌊i / gpus⌋ s), so each
 * (GPU, timestamp) is unique and the capture stores exactly `rows` points.
 */
export function wideCaptureCsv(rows: number, gpus = 8, startMs = Date.UTC(2026, 5, 24, 10, 0, 0)): string {
  const [headerLine, rowLine] = readFileSync(WIDE_FIXTURE, 'utf8').split('\n');
  const header = headerLine!.split(',').map((s) => s.trim());
  const base = rowLine!.split(',').map((s) => s.trim());
  if (header.length !== 202 || base.length !== 202) throw new Error(`fixture changed: ${header.length} columns, ${base.length} values`);
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`fixture has no column ${name}`);
    return i;
  };
  // H100-like values where the RTX fixture reports [N/A].
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

  const out = [[...header, ...LEGACY_THROTTLE.map((r) => `clocks_throttle_reasons.${r}`)].join(', ')];
  const legacy = LEGACY_THROTTLE.map((r) => h100[col(`clocks_event_reasons.${r}`)]!);
  for (let i = 0; i < rows; i++) {
    const g = i % gpus;
    const tick = Math.floor(i / gpus);
    const v = [...h100];
    v[col('timestamp')] = nvTimestamp(startMs + tick * 1_000);
    v[col('uuid')] = gpuUuid(g);
    v[col('index')] = String(g);
    v[col('pci.bus_id')] = `00000000:${(0x18 + g * 0x10).toString(16).toUpperCase().padStart(2, '0')}:00.0`;
    v[col('temperature.gpu')] = String(40 + g + (tick % 17));
    v[col('power.draw [W]')] = `${(250 + g * 5 + (tick % 11) * 0.5).toFixed(2)} W`;
    v[col('utilization.gpu [%]')] = `${(tick * 3 + g) % 101} %`;
    v[col('memory.used [MiB]')] = `${1_000 + ((tick * 37 + g) % 70_000)} MiB`;
    out.push([...v, ...legacy].join(', '));
  }
  return out.join('\n') + '\n';
}

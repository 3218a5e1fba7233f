/**
 * Format detection from content first, file name second: nvidia-smi logs are
 * often saved as .txt/.log, and Prometheus scrapes as .txt.
 */
import { extname } from 'node:path';
import type { Format } from './types.ts';

const DMON_COLUMNS = new Set(['pwr', 'gtemp', 'temp', 'mtemp', 'sm', 'mem', 'enc', 'dec', 'mclk', 'pclk', 'fb', 'bar1', 'sbecc', 'dbecc', 'rxpci', 'txpci', 'pviol', 'tviol', 'jpg', 'ofa']);
const PROM_SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+[-+0-9.eEaINnf]+(\s+-?\d+)?\s*$/;
const NVSMI_HINT = /(^|,)\s*(timestamp|name|index|uuid|pci\.bus_id|driver_version|utilization\.gpu|temperature\.gpu|power\.draw|memory\.used|clocks\.[a-z.]+|fan\.speed|pstate)(\s*\[[^\]]*\])?\s*(,|$)/i;
const NVSMI_DATA = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?\s*,/;

export function detectFormat(firstChunk: string, fileName = ''): Format {
  const text = firstChunk.charCodeAt(0) === 0xfeff ? firstChunk.slice(1) : firstChunk;
  const lines = text.split(/\r?\n/, 64).map((l) => l.trim()).filter((l) => l !== '');
  // Prometheus text: HELP/TYPE comments or DCGM sample lines.
  if (lines.some((l) => /^#\s*(HELP|TYPE)\s/.test(l)) || lines.some((l) => l.startsWith('DCGM_') && PROM_SAMPLE.test(l))) {
    return 'dcgm';
  }
  // dmon: a `#` header with a gpu column and known dmon columns.
  for (const l of lines) {
    if (!l.startsWith('#')) continue;
    const tokens = l.slice(1).trim().toLowerCase().split(/\s+/);
    if ((tokens.includes('gpu') || tokens[0] === 'date') && tokens.some((t) => DMON_COLUMNS.has(t))) return 'dmon';
  }
  const first = lines[0] ?? '';
  if (first.includes(',')) {
    const names = first.split(',').map((s) => s.trim().toLowerCase());
    const hasDevice = names.includes('device') || names.includes('device_id');
    const hasDotted = names.some((n) => /^[a-z_]+\.[a-z_.]+(\s*\[.*\])?$/.test(n) && !n.startsWith('dcgm'));
    if (hasDevice) return 'generic-csv';
    if (hasDotted || NVSMI_HINT.test(first) || NVSMI_DATA.test(first)) return 'nvidia-smi-csv';
    return 'generic-csv';
  }
  const ext = extname(fileName).toLowerCase();
  if (ext === '.prom' || ext === '.metrics') return 'dcgm';
  if (ext === '.csv') return 'generic-csv';
  if (lines.length > 0 && lines.every((l) => l.startsWith('#') || /^\s*\d+(\s+(\d+(\.\d+)?|-))+\s*$/.test(l))) return 'dmon';
  // A single-column CSV (`timestamp`) or empty input: generic.
  return 'generic-csv';
}

/**
 * Real-data check, run by CI after the test suite when ../shared/data exists:
 *
 *   npx tsx scripts/check-shared-data.ts ../shared/data
 *
 * Parses every known real sample and asserts exact counts and a few exact
 * values per file. Expected values were derived from the files themselves
 * (grep/awk/python over the raw text: row counts, last rows, timestamps
 * computed with Python's datetime), not copied from the parser's output.
 * Prints one line per file; exits 1 on any mismatch or missing file.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseFile, type ParseResult } from '../lib/parse/index.ts';
import type { Point } from '../lib/point.ts';

/** Fixed base time for formats without timestamps, so derived values are exact. */
const BASE = 1_700_000_000_000;

interface Expectation {
  format: string;
  rows: number;
  points: number;
  rejected: number;
  identity?: string;
  /** Extra checks; return a list of mismatch descriptions. */
  check?: (r: ParseResult) => string[];
}

function eq(label: string, got: unknown, want: unknown): string[] {
  return JSON.stringify(got) === JSON.stringify(want) ? [] : [`${label}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`];
}

function last(r: ParseResult): Point {
  const p = r.points[r.points.length - 1];
  if (p === undefined) throw new Error('no points');
  return p;
}

function fields(p: Point, wanted: Record<string, number | undefined>): string[] {
  return Object.entries(wanted).flatMap(([k, v]) => eq(`${p.device}@${p.ts} ${k}`, p.fields[k], v));
}

const EXPECTED: Record<string, Expectation> = {
  'nvidia-smi/AkshayRoyal__gpu-usage__gpu_usage.csv': {
    // 448 lines = 224 repeated headers + 224 data rows.
    format: 'nvidia-smi-csv',
    rows: 224,
    points: 224,
    rejected: 0,
    identity: 'pci_bus_id',
    check: (r) => [
      ...eq('device', last(r).device, '00000000:01:00.0'),
      ...eq('ts', last(r).ts, '1687460445023000000'),
      ...fields(last(r), { util_gpu_pct: 3, util_mem_pct: 1, mem_used_mib: 604, mem_free_mib: 7378, mem_total_mib: 8192 }),
    ],
  },
  'nvidia-smi/AndyZzzZzzZzz__miris__gpu_log.csv': {
    format: 'nvidia-smi-csv',
    rows: 107,
    points: 107,
    rejected: 0,
    identity: 'gpu_index',
    check: (r) => [
      ...eq('ts', last(r).ts, '1749774578248000000'),
      ...fields(last(r), { temperature_c: 28, mem_total_mib: 32_768, mem_used_mib: 1, util_gpu_pct: 0 }),
      // temperature.gpu column: 16 × 27, 31 × 28, 60 × 29 (awk | uniq -c)
      ...eq('temps=29', r.points.filter((p) => p.fields.temperature_c === 29).length, 60),
      ...eq('model', last(r).tags.model, 'Tesla V100S-PCIE-32GB'),
    ],
  },
  'nvidia-smi/PranavDani__Flame__nvidia-smi.csv': {
    format: 'nvidia-smi-csv',
    rows: 73,
    points: 73,
    rejected: 0,
    identity: 'file_name',
    check: (r) => [
      ...eq('device', last(r).device, 'PranavDani__Flame__nvidia-smi'),
      ...eq('ts', last(r).ts, '1730313756813000000'),
      ...eq('fields', last(r).fields, { power_w: 22.63 }),
    ],
  },
  'nvidia-smi/eobo0530__vlm_optimization__gpu_log.csv': {
    format: 'nvidia-smi-csv',
    rows: 2619,
    points: 2619,
    rejected: 0,
    identity: 'model',
    check: (r) => [
      ...eq('device', last(r).device, 'NVIDIA GeForce RTX 4090'),
      ...eq('ts', last(r).ts, '1767457493961000000'),
      ...fields(last(r), { util_gpu_pct: 3, util_mem_pct: 4, mem_used_mib: 1141, power_w: 34.15 }),
      // Decimal sums over the raw column (python): 733560.98 W, 46100862 MiB.
      ...eq('sum power_w', Math.round(r.points.reduce((s, p) => s + (p.fields.power_w ?? 0), 0) * 100), 73_356_098),
      ...eq('sum mem_used_mib', r.points.reduce((s, p) => s + (p.fields.mem_used_mib ?? 0), 0), 46_100_862),
      ...eq('warnings', r.summary.warnings, []),
    ],
  },
  'nvidia-smi/linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle__query-gpu.csv': {
    format: 'nvidia-smi-csv',
    rows: 1,
    points: 1,
    rejected: 0,
    identity: 'gpu_uuid',
    check: (r) => [
      ...eq('ts', last(r).ts, '1782296794977000000'),
      ...fields(last(r), {
        temperature_c: 40,
        power_w: 39.32,
        power_limit_w: 250,
        sm_clock_mhz: 765,
        pstate: 8,
        throttle_reasons: 4,
        throttle_power: 1,
        throttle_thermal: 0,
        mem_used_mib: 214,
        mem_temperature_c: undefined, // "N/A"
      }),
    ],
  },
  'nvidia-smi/linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__load__query-gpu.csv': {
    format: 'nvidia-smi-csv',
    rows: 1,
    points: 1,
    rejected: 0,
    identity: 'gpu_uuid',
    check: (r) => [
      ...eq('device', last(r).device, 'GPU-00000000-0000-0000-0000-000000000000'),
      ...eq('ts', last(r).ts, '1782296809788000000'),
      ...fields(last(r), {
        temperature_c: 45,
        power_w: 111.5,
        power_limit_w: 250,
        sm_clock_mhz: 2055,
        util_enc_pct: 100,
        pstate: 2,
        fan_pct: 38,
        throttle_reasons: 0,
        throttle_power: 0,
        mem_used_mib: 819,
        ecc_sbe: undefined, // [N/A]
      }),
      ...eq('host tag ([N/A] hostname)', last(r).tags.host, undefined),
      ...eq('dropped text columns include serial', r.summary.droppedTextColumns.includes('serial'), true),
    ],
  },
  'nvidia-smi/sample-output.csv': {
    format: 'nvidia-smi-csv',
    rows: 1,
    points: 1,
    rejected: 0,
    identity: 'gpu_uuid',
    check: (r) => [
      ...eq('device', last(r).device, 'GPU-df6e7a7c-7314-46f8-abc4-b88b36dcf3aa'),
      ...eq('ts', last(r).ts, '1624724387995000000'),
      ...fields(last(r), {
        temperature_c: 36,
        power_w: 32.7,
        power_limit_w: 250,
        fan_pct: 38,
        pstate: 8,
        throttle_reasons: 1,
        throttle_reason_gpu_idle: 1,
        mem_used_mib: 876,
      }),
      ...eq('driver', last(r).tags.driver, '471.11'),
    ],
  },
  'nvidia-smi/xypp3__gpu_glasses__nvidia_smi.csv': {
    // 43 rows: gpu 0-2 six times, 3-7 five times (last round has 3 rows).
    format: 'nvidia-smi-csv',
    rows: 43,
    points: 43,
    rejected: 0,
    identity: 'gpu_index',
    check: (r) => [
      ...eq('devices', [...new Set(r.points.map((p) => p.device))].sort(), ['gpu0', 'gpu1', 'gpu2', 'gpu3', 'gpu4', 'gpu5', 'gpu6', 'gpu7']),
      ...eq('gpu2 rows', r.points.filter((p) => p.device === 'gpu2').length, 6),
      ...eq('last', [last(r).device, last(r).ts], ['gpu2', '1757323618000000000']),
      ...eq('first ts', r.points[0]?.ts, '1757323610000000000'),
      ...eq('gpu/index warning', r.summary.warnings.length, 1),
    ],
  },
  'dmon/dcgm-exporter-history__nvml-go-sample-dmon-2gpu.txt': {
    format: 'dmon',
    rows: 2,
    points: 2,
    rejected: 0,
    identity: 'gpu_index',
    check: (r) => [
      ...eq('devices/ts', r.points.map((p) => `${p.device}@${p.ts}`), ['gpu0@1700000000000000000', 'gpu1@1700000000000000000']),
      ...fields(r.points[1]!, { power_w: 10, temperature_c: 32, mem_clock_mhz: 324, gr_clock_mhz: 324 }),
    ],
  },
  'dmon/linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__load__dmon.txt': {
    format: 'dmon',
    rows: 5,
    points: 5,
    rejected: 0,
    identity: 'gpu_index',
    check: (r) => [
      ...eq('last ts (base + 4 rounds × 1 s)', last(r).ts, '1700000004000000000'),
      ...fields(last(r), { power_w: 98, temperature_c: 45, mem_temperature_c: undefined, util_enc_pct: 100, mem_clock_mhz: 7500, gr_clock_mhz: 2055 }),
    ],
  },
  'dcgm/NVIDIA-dcgm-exporter__README-quickstart-snippet.txt': {
    // 3 samples + 2 "..." lines (rejected); MEMORY_TEMP is the blank 9223372036854775794.
    format: 'dcgm',
    rows: 5,
    points: 1,
    rejected: 2,
    identity: 'gpu_uuid',
    check: (r) => [
      ...eq('rejected lines', r.summary.rejections.map((x) => x.line), [7, 11]),
      ...eq('fields', last(r).fields, { sm_clock_mhz: 139, mem_clock_mhz: 405 }),
      ...eq('ts', last(r).ts, '1700000000000000000'),
    ],
  },
  'dcgm/cncf-ai-conformance__kops__L4.prom': {
    format: 'dcgm',
    rows: 23,
    points: 1,
    rejected: 0,
    identity: 'gpu_uuid',
    check: (r) => [
      ...eq('field count', Object.keys(last(r).fields).length, 23),
      ...eq('host', last(r).tags.host, 'i-030791dc5a37cd257'),
      ...fields(last(r), { temperature_c: 31, power_w: 16.365, energy_mj: 4_742_776, mem_free_mib: 22_563, sm_clock_mhz: 210 }),
    ],
  },
};

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (name !== 'README.md') out.push(p);
  }
  return out.sort();
}

async function main(): Promise<number> {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: tsx scripts/check-shared-data.ts <shared/data dir>');
    return 2;
  }
  let failed = 0;
  const seen = new Set<string>();
  for (const path of listFiles(dir)) {
    const rel = relative(dir, path).split('\\').join('/');
    const exp = EXPECTED[rel];
    if (exp === undefined) {
      console.log(`skip  ${rel} (no expectations recorded)`);
      continue;
    }
    seen.add(rel);
    let problems: string[];
    let line = '';
    try {
      const r = await parseFile(path, { baseTimeMs: BASE });
      const s = r.summary;
      line = `rows=${s.rows} points=${s.points} rejected=${s.rejected} identity=${s.identity}`;
      problems = [
        ...eq('format', s.format, exp.format),
        ...eq('rows', s.rows, exp.rows),
        ...eq('points', s.points, exp.points),
        ...eq('rejected', s.rejected, exp.rejected),
        ...(exp.identity ? eq('identity', s.identity, exp.identity) : []),
        ...(exp.check ? exp.check(r) : []),
      ];
    } catch (err) {
      problems = [`threw ${err instanceof Error ? err.message : String(err)}`];
    }
    if (problems.length === 0) console.log(`ok    ${rel} ${line}`);
    else {
      failed++;
      console.log(`FAIL  ${rel} ${line}\n      ${problems.join('\n      ')}`);
    }
  }
  for (const rel of Object.keys(EXPECTED)) {
    if (!seen.has(rel)) {
      failed++;
      console.log(`FAIL  ${rel} missing from ${dir}`);
    }
  }
  console.log(failed === 0 ? 'shared-data check passed' : `shared-data check: ${failed} file(s) failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();

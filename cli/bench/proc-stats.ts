/**
 * CPU time and memory of a process from Linux procfs: utime + stime from
 * /proc/<pid>/stat (in clock ticks, `getconf CLK_TCK`, normally 100 per
 * second), VmHWM (peak resident set) and VmRSS from /proc/<pid>/status.
 * Elsewhere than Linux, or once the process is gone, readers return undefined.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  /** User-mode CPU, clock ticks. */
  utimeTicks: number;
  /** Kernel-mode CPU, clock ticks. */
  stimeTicks: number;
}

/**
 * Parses one /proc/<pid>/stat line. The command name (field 2) is in
 * parentheses and may itself contain spaces and parentheses, so the fields are
 * counted from the last `)`: state is field 3, utime 14, stime 15.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const num = (i: number, name: string) => {
    const v = Number(rest[i]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`/proc/<pid>/stat: field ${name} is ${rest[i]}`);
    return v;
  };
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    utimeTicks: num(11, 'utime'),
    stimeTicks: num(12, 'stime'),
  };
}

export interface ProcMemory {
  /** Peak resident set, kB. */
  vmHwmKb: number;
  /** Current resident set, kB. */
  vmRssKb: number;
}

/** VmHWM and VmRSS from /proc/<pid>/status (0 when absent, e.g. a zombie). */
export function parseProcStatus(text: string): ProcMemory {
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { vmHwmKb: kb('VmHWM'), vmRssKb: kb('VmRSS') };
}

let ticks: number | undefined;
/** Clock ticks per second (`getconf CLK_TCK`; 100 when getconf is missing). */
export function clockTicksPerSecond(): number {
  if (ticks === undefined) {
    try {
      const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      ticks = Number.isInteger(v) && v > 0 ? v : 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export interface ProcUsage {
  /** utime + stime, seconds. */
  cpuS: number;
  peakRssMb: number;
  rssMb: number;
}

/** Usage from the texts of /proc/<pid>/stat and /proc/<pid>/status. */
export function usageFrom(statText: string, statusText: string, clkTck = clockTicksPerSecond()): ProcUsage {
  const st = parseProcStat(statText);
  const mem = parseProcStatus(statusText);
  return { cpuS: (st.utimeTicks + st.stimeTicks) / clkTck, peakRssMb: mem.vmHwmKb / 1024, rssMb: mem.vmRssKb / 1024 };
}

/** CPU and memory of a live process (`self` for this one), or undefined when unreadable. */
export function readProcUsage(pid: number | 'self'): ProcUsage | undefined {
  try {
    return usageFrom(readFileSync(`/proc/${pid}/stat`, 'utf8'), readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Where a child preloaded with report-usage-at-exit.ts leaves its final usage (/proc/self texts as JSON). */
export function usageReportPath(pid: number): string {
  return join(tmpdir(), `telemetry-bench-usage-${pid}.json`);
}

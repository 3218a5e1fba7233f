/** /proc/<pid>/stat and /status parsing: utime/stime counted from the last ')', VmHWM/VmRSS in kB. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clockTicksPerSecond, parseProcStat, parseProcStatus, readProcUsage, usageFrom } from '../../../../cli/bench/proc-stats.ts';

// Real shape (Linux 6.x), with a command name that contains spaces and parentheses.
const STAT = '4242 (node (tsx) x) S 4200 4242 4200 0 -1 4194560 51234 0 12 0 1534 287 0 0 20 0 11 0 987654 1234567890 45678 18446744073709551615 1 1 0 0 0 0 0 16781312 134235650 0 0 0 17 1 0 0 0 0 0';

test('parseProcStat: pid, comm with spaces and parentheses, state, utime (field 14), stime (field 15)', () => {
  assert.deepEqual(parseProcStat(STAT), { pid: 4242, comm: 'node (tsx) x', state: 'S', utimeTicks: 1534, stimeTicks: 287 });
  assert.throws(() => parseProcStat('garbage'), /not a \/proc/);
  assert.throws(() => parseProcStat('1 (x) S 1 2'), /field utime/);
});

test('parseProcStatus: VmHWM and VmRSS in kB; absent (a zombie) → 0', () => {
  const status = 'Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  555000 kB\nVmRSS:\t  512000 kB\nThreads:\t11\n';
  assert.deepEqual(parseProcStatus(status), { vmHwmKb: 555_000, vmRssKb: 512_000 });
  assert.deepEqual(parseProcStatus('Name:\tzombie\nState:\tZ (zombie)\n'), { vmHwmKb: 0, vmRssKb: 0 });
});

test('usageFrom: CPU seconds = (utime + stime) / CLK_TCK; MB = kB / 1024', () => {
  const u = usageFrom(STAT, 'VmHWM:\t 1048576 kB\nVmRSS:\t 524288 kB\n', 100);
  assert.equal(u.cpuS, 18.21);
  assert.equal(u.peakRssMb, 1024);
  assert.equal(u.rssMb, 512);
});

test('this process can be read (Linux) and CLK_TCK is a positive integer', { skip: process.platform !== 'linux' }, () => {
  assert.ok(Number.isInteger(clockTicksPerSecond()) && clockTicksPerSecond() > 0);
  const u = readProcUsage('self');
  assert.ok(u && u.cpuS > 0 && u.peakRssMb >= u.rssMb * 0.5);
  assert.equal(readProcUsage(2 ** 22 + 12_345), undefined); // above pid_max: never a process
});

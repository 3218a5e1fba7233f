/**
 * Preloaded (`node --import`) into a process the benchmarks measure but do not
 * outlive, such as the `ingest` CLI child: at exit it writes its own
 * /proc/self/stat and /proc/self/status to `usageReportPath(pid)`. Once a
 * child has exited its /proc entry is gone, so only the process itself can
 * report its final CPU time and peak RSS. `runMeasuredCli` reads and removes
 * the file. (Only preload it: importing it registers the exit handler.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { usageReportPath } from './proc-stats.ts';

process.on('exit', () => {
  try {
    const report = { stat: readFileSync('/proc/self/stat', 'utf8'), status: readFileSync('/proc/self/status', 'utf8') };
    writeFileSync(usageReportPath(process.pid), JSON.stringify(report));
  } catch {
    /* not Linux: nothing to report */
  }
});

/**
 * `fuzz api [--minutes N] [--seed S] [--json]`: schemathesis against the live
 * API's OpenAPI document on its own isolated stack (infra/fuzz/api-fuzz.ts).
 * Exit code 1 when schemathesis found anything; the JUnit report stays in
 * --report-dir.
 */
import { Command } from 'commander';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runApiFuzz } from '../infra/fuzz/api-fuzz.ts';
import { positiveInt, positiveNumber } from './bench-commands.ts';

export function registerFuzzCommands(program: Command): void {
  const fuzz = program.command('fuzz').description('property-based fuzzing on an isolated stack');
  fuzz
    .command('api')
    .description(
      'schemathesis (PyPI) against the served OpenAPI document, admin key, every check: zero 5xx, documented statuses and bodies',
    )
    .option('--minutes <n>', 'time budget of the run', positiveNumber, 2)
    .option('--examples <n>', 'cases per operation and phase', positiveInt, 200)
    .option('--seed <n>', 'schemathesis seed (reproduce a run)', positiveInt)
    .option('--report-dir <dir>', 'where the JUnit/NDJSON reports go', join(tmpdir(), 'telemetry-fuzz-report'))
    .option('--json', 'one JSON object on the last line')
    .action(async (o: { minutes: number; examples: number; seed?: number; reportDir: string; json?: boolean }) => {
      const r = await runApiFuzz({
        maxTimeS: Math.round(o.minutes * 60),
        maxExamples: o.examples,
        seed: o.seed,
        reportDir: o.reportDir,
        onProgress: (m) => console.error(`[fuzz] ${m}`),
      });
      const { output, ...summary } = r;
      if (o.json) console.log(JSON.stringify(summary));
      else {
        console.error(output.split('\n').slice(-40).join('\n'));
        console.log(
          `${r.passed ? 'passed' : 'FAILED'}: ${r.operations} operations, ${r.generated} cases, ${r.failures.length} failures, statuses ${JSON.stringify(r.statuses)}, ${r.durationS} s; report in ${o.reportDir}`,
        );
      }
      if (!r.passed) process.exitCode = 1;
    });
}

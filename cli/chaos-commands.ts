/**
 * `chaos`: the fault scenarios of cli/chaos/ on one isolated stack of their
 * own (real Temporal, NATS, InfluxDB, anvil; free ports, temp data, removed
 * at the end). Progress goes to stderr, the table to stdout, with `--json`
 * one JSON object on the last line; the exit code is 1 if any scenario failed.
 */
import { Command, Option } from 'commander';
import { stopStacksOnInterrupt } from './bench/bench-stack.ts';
import { onOff, positiveInt, positiveNumber } from './bench-commands.ts';
import { chaosTable, runChaos } from './chaos/chaos-run.ts';
import { CHAOS_GPUS } from './chaos/chaos-data.ts';
import { SCENARIOS } from './chaos/scenarios.ts';

/** The floor: every scenario ingests at least this many points. */
const MIN_POINTS = 100_000;

export function registerChaosCommands(program: Command): void {
  program
    .command('chaos')
    .description('fault scenarios on real servers (worker/ingest/NATS SIGKILL, InfluxDB/Temporal/EVM outages, Slack 429/500, full stream, full DLQ, clock skew): exact points, pages, acks and DLQ per scenario')
    .addOption(new Option('--scenario <name...>', 'run only these scenarios (default: all)').choices(SCENARIOS.map((s) => s.name)))
    .option('--points <n>', `points per scenario (≥ ${MIN_POINTS.toLocaleString('en-US')}, a multiple of ${CHAOS_GPUS})`, positiveInt, MIN_POINTS)
    .option('--fault-seconds <s>', 'length of each outage / failure window', positiveNumber, 30)
    .addOption(new Option('--health <on|off>', 'health scoring in the collector (ONNX model)').argParser(onOff).default(true, 'on'))
    .option('--json', 'one JSON object on the last line: {chaos, passed, scenarios: [{scenario, points_expected, points_found, duplicates, dlq, alerts_expected, alerts_paged, acks_on_chain, recovery_s, passed, notes}]}')
    .action(async (o: { scenario?: string[]; points: number; faultSeconds: number; health: boolean; json?: boolean }) => {
      if (o.points < MIN_POINTS || o.points % CHAOS_GPUS !== 0) throw new Error(`--points must be ≥ ${MIN_POINTS} and a multiple of ${CHAOS_GPUS}, got ${o.points}`);
      stopStacksOnInterrupt();
      const r = await runChaos({ scenarios: o.scenario ?? [], points: o.points, faultMs: o.faultSeconds * 1_000, health: o.health, log: (m) => console.error(`[chaos] ${m}`) });
      console.log(chaosTable(r));
      if (o.json) console.log(JSON.stringify(r));
      if (!r.passed) process.exitCode = 1;
    });
}

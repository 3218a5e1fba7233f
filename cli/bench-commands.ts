/**
 * `bench ingest|latency|scale|soak`: thin shells over cli/bench/. Every
 * benchmark starts its own isolated stack (free ports, temp data dir, removed
 * at the end) and never touches the stack `up` runs. Progress goes to stderr,
 * the human table to stdout, and with `--json` one JSON object on the last line.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { stopStacksOnInterrupt } from './bench/bench-stack.ts';
import { FIELD_SETS, type FieldSet } from './bench/bench-data.ts';
import { ingestTable, runIngestBench } from './bench/ingest-bench.ts';
import { latencyTable, runLatencyBench } from './bench/latency-bench.ts';
import { runScaleBench, scaleTable } from './bench/scale-bench.ts';
import { runSoakBench, soakTable } from './bench/soak-bench.ts';

export function positiveInt(text: string): number {
  const n = Number(text.replace(/[_,]/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`"${text}" is not a positive integer`);
  return n;
}
export function positiveNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${text}" is not a positive number`);
  return n;
}
export function onOff(text: string): boolean {
  if (text !== 'on' && text !== 'off') throw new InvalidArgumentError(`"${text}" is neither on nor off`);
  return text === 'on';
}

const log = (m: string) => console.error(`[bench] ${m}`);

function emit(json: boolean | undefined, table: string, result: unknown): void {
  console.log(table);
  if (json) console.log(JSON.stringify(result));
}

const trialsOption = (def: number) => new Option('--trials <k>', 'repeated trials; figures are medians with min/max').argParser(positiveInt).default(def);
const healthOption = (text: string) => new Option('--health <on|off>', text).argParser(onOff).default(true, 'on');
const jsonOption = () => new Option('--json', 'one JSON object on the last line (medians, min, max, every trial)');

export function registerBenchCommands(program: Command): void {
  const bench = program
    .command('bench')
    .description('benchmarks, each on its own isolated stack (real Temporal, NATS, InfluxDB[, anvil] on free ports, temp data, removed at the end)');

  bench
    .command('ingest')
    .description('end-to-end throughput (ingest CLI → JetStream → collector → InfluxDB) vs raw InfluxDB and raw JetStream on the same data, with CPU and peak RSS per process')
    .option('--points <n>', 'points in the generated file (default: 1000000; 100000 with --fields wide, ≈4 KB each)', positiveInt)
    .option('--devices <n>', 'GPUs in the file', positiveInt, 64)
    .addOption(new Option('--fields <set>', '16: the 16-column --query-gpu sample; wide: the 212-column capture').choices([...FIELD_SETS]).default('16'))
    .addOption(healthOption('health scoring in the collector (ONNX model)'))
    .option('--partitions <n>', 'PARTITIONS_PER_TOPIC', positiveInt, 4)
    .addOption(trialsOption(3))
    .addOption(jsonOption())
    .action(async (o: { points?: number; devices: number; fields: FieldSet; health: boolean; partitions: number; trials: number; json?: boolean }) => {
      stopStacksOnInterrupt();
      const r = await runIngestBench({ ...o, points: o.points ?? (o.fields === 'wide' ? 100_000 : 1_000_000), log });
      emit(o.json, ingestTable(r), r);
    });

  bench
    .command('latency')
    .description('ingest → queryable latency at half of the maximum rate (HTTP POST /v1/telemetry, a probe device polled in InfluxDB), and anomaly → first Slack post (local Slack stand-in, rule with for: 0s)')
    .option('--seconds <s>', 'steady load per trial', positiveNumber, 30)
    .option('--rate <points/s>', 'load rate (default: half of the maximum, measured first with a burst)', positiveNumber)
    .option('--calibrate-seconds <s>', 'length of the maximum-rate burst', positiveNumber, 10)
    .option('--devices <n>', 'devices in the load', positiveInt, 64)
    .option('--alerts <n>', 'anomalies per trial for the notification latency (one device each, one after another)', positiveInt, 20)
    .addOption(trialsOption(3))
    .addOption(jsonOption())
    .action(async (o: { seconds: number; rate?: number; calibrateSeconds: number; devices: number; alerts: number; trials: number; json?: boolean }) => {
      stopStacksOnInterrupt();
      const r = await runLatencyBench({ ...o, log });
      emit(o.json, latencyTable(r), r);
    });

  bench
    .command('scale')
    .description('the ingest pipeline at 1/2/4 partitions and at 64/1,024/16,384 devices (same points): points/s and CPU s per million points, one table')
    .option('--points <n>', 'points per run', positiveInt, 500_000)
    .addOption(healthOption('health scoring in the collector (ONNX model)'))
    .addOption(trialsOption(3))
    .addOption(jsonOption())
    .action(async (o: { points: number; health: boolean; trials: number; json?: boolean }) => {
      stopStacksOnInterrupt();
      const r = await runScaleBench({ ...o, log });
      emit(o.json, scaleTable(r), r);
    });

  bench
    .command('soak')
    .description('steady HTTP load for M minutes: RSS of every process and consumer lag sampled every few seconds; RSS slope (MB/min, least squares)')
    .option('--minutes <m>', 'duration of the load', positiveNumber, 30)
    .option('--rate <points/s>', 'load rate', positiveNumber, 2_000)
    .option('--devices <n>', 'devices in the load', positiveInt, 256)
    .option('--sample-seconds <s>', 'sampling interval', positiveNumber, 5)
    .addOption(trialsOption(1))
    .addOption(jsonOption())
    .action(async (o: { minutes: number; rate: number; devices: number; sampleSeconds: number; trials: number; json?: boolean }) => {
      stopStacksOnInterrupt();
      const r = await runSoakBench({ ...o, log });
      emit(o.json, soakTable(r), r);
    });
}

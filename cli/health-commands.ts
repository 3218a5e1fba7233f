/**
 * `health eval [--json] [--source synthetic|real|all] [--model path.onnx]`:
 * the learned model versus the rules-only baseline versus both (ml/benchmark.ts),
 * on held-out synthetic episodes and traces built on real captures. No servers.
 * Human tables on stdout; with `--json` one JSON object instead.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { benchmarkTable, runBenchmark } from '../ml/benchmark.ts';

function source(text: string): ('synthetic' | 'real')[] {
  if (text === 'all') return ['synthetic', 'real'];
  if (text === 'synthetic' || text === 'real') return [text];
  throw new InvalidArgumentError(`"${text}" is not one of synthetic, real, all`);
}

export function registerHealthCommands(program: Command): void {
  const health = program.command('health').description('GPU health model tools');
  health
    .command('eval')
    .description('benchmark the health model against a rules-only baseline and the combination (per-fault precision/recall, lead time, false alarms per GPU-day)')
    .addOption(new Option('--source <which>', 'synthetic | real | all').argParser(source).default(['synthetic', 'real'], 'all'))
    .option('--model <path>', 'ONNX model (default: ml/model/gpu-health.onnx)')
    .option('--json', 'print one JSON object')
    .action(async (o: { source: ('synthetic' | 'real')[]; model?: string; json?: boolean }) => {
      const report = await runBenchmark({ sources: o.source, ...(o.model ? { modelPath: o.model } : {}) });
      console.log(o.json ? JSON.stringify(report) : benchmarkTable(report));
    });
}

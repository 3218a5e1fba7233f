#!/usr/bin/env node
/**
 * telemetry-stack: the command-line tool. Every command is a thin shell over
 * library functions; machine-readable output is one JSON object on the last
 * line (`--json`).
 */
import { mkdirSync, utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '../lib/config.ts';
import { FORMATS } from '../lib/parse/index.ts';
import { writeSample } from '../lib/sample/generate-sample.ts';
import { BinaryNotFoundError } from '../infra/stack/binaries.ts';
import { StackNotRunningError } from '../infra/stack/endpoints.ts';
import { CliOptionError, runIngest, runParse, runScrape, type ParseCliOptions } from './ingest-commands.ts';
import { ApiCallError, ApiKeyError } from './api-client.ts';

// Only the ingest path is imported up front: every other command module (stack control, queries,
// Temporal and chain clients, benches) is loaded when its command runs. Their imports were ≈ 0.9 of
// the 1.3 CPU s every `ingest` spent starting up (see LAZY_COMMANDS below).
const stack = () => import('./stack-commands.ts');
const queries = () => import('./query-commands.ts');

let cfgCache: Config | undefined;
const cfg = () => (cfgCache ??= loadConfig());
const printJson = (o: unknown) => console.log(JSON.stringify(o));

function parseOpts(cmd: Command): Command {
  return cmd
    .option('--host <host>', 'host: always the host tag; qualifies bus-id/index/model/file-name device ids (<host>/gpu0)')
    .option('--device <id>', 'device id: names the device when rows have no uuid/bus id/index; else <id>/<per-GPU id>')
    .addOption(new Option('--format <format>', 'skip format detection').choices([...FORMATS]))
    .option('--tz <zone>', 'IANA time zone of timestamps without an offset (default INGEST_TIMEZONE, UTC)')
    .option('--columns <list>', 'comma-separated column names for noheader CSV')
    .option('--interval <ms>', 'sample interval for dmon logs without timestamps')
    .option('--base-time <time>', 'base time for dmon/DCGM files without timestamps: ISO 8601 with offset or epoch ms (default: the file mtime; stdin: now, warned)');
}

const program = new Command()
  .name('telemetry-stack')
  .description('GPU telemetry pipeline: ingest → NATS JetStream → Temporal collectors → InfluxDB, with health, alerts, Slack and an on-chain ack ledger.')
  .showHelpAfterError();

program
  .command('up')
  .description('start the local servers (or use external ones from env), the workers and the API; Ctrl-C stops what it started')
  .option('-d, --detach', 'run in the background; stop with `down`')
  .option('--no-workers', 'do not start the workers')
  .option('--no-api', 'do not start the API')
  .action(async (o: { detach?: boolean; workers: boolean; api: boolean }) => {
    const { runUp, upDetached } = await stack();
    if (o.detach) return upDetached(cfg(), process.argv.slice(2));
    await runUp(cfg(), { workers: o.workers, api: o.api });
  });

program
  .command('start')
  .description('npm start: `up`, then replay the bundled sample (4 GPUs, 10 min, one thermal-runaway episode), and keep running')
  .action(async () => {
    const c = cfg();
    const { runUp } = await stack();
    await runUp(c, {
      afterUp: async () => {
        const dir = join(resolve(c.DATA_DIR), 'sample');
        mkdirSync(dir, { recursive: true });
        const file = join(dir, 'gpu-sample.csv');
        // The sample ends "now" (aligned to 10 minutes so a restart in the same window is deduplicated).
        const end = Math.floor(Date.now() / 600_000) * 600_000;
        await writeSample(file, { gpus: 4, samples: 600, startMs: end - 600_000, seed: 7, fault: { gpu: 2, start: 300, length: 90 } });
        // The mtime is part of the options fingerprint (base time): pin it to the window too.
        utimesSync(file, end / 1000, end / 1000);
        const r = await runIngest(c, [file], { progress: true });
        console.log(`replayed ${file}: ${r.points} points (${r.duplicates} duplicates suppressed) in ${r.elapsed_s}s`);
        console.log('Try: telemetry-stack query count · telemetry-stack alerts list · open the Temporal UI');
      },
    });
  });

program
  .command('down')
  .description('stop the stack started by `up` (servers, workers, API)')
  .action(async () => {
    await (await stack()).down(cfg());
  });

program
  .command('status')
  .description('health of every component')
  .option('--json', 'one JSON object on the last line')
  .action(async (o: { json?: boolean }) => {
    const s = await (await stack()).status(cfg());
    if (o.json) return printJson(s);
    for (const [name, c] of Object.entries(s.components)) {
      const where = c.ui ?? c.url ?? c.address ?? c.rpcUrl ?? c.pid ?? '';
      console.log(`${c.up ? '●' : '○'} ${name.padEnd(15)} ${c.up ? 'up  ' : 'down'}  ${where ?? ''}`);
    }
    if (!Object.values(s.components).every((c) => c.up)) process.exitCode = 1;
  });

parseOpts(
  program
    .command('ingest')
    .description('parse files (CSV, dmon, DCGM text; globs; - for stdin) and publish them to JetStream')
    .argument('<files...>')
    .option('--json', 'one JSON summary object on the last line')
    .option('--no-progress', 'no progress bar')
    .option('--force', 'publish again even if already ingested with the same options (fresh message ids; InfluxDB overwrites identical points)'),
).action(async (files: string[], o: ParseCliOptions & { json?: boolean; progress: boolean; force?: boolean }) => {
  const r = await runIngest(cfg(), files, o);
  const out = {
    rows: r.rows,
    points: r.points,
    rejected: r.rejected,
    rejections: r.rejections,
    duplicates: r.duplicates,
    published: r.published,
    alreadyIngested: r.alreadyIngested,
    elapsed_s: r.elapsed_s,
    points_per_s: r.points_per_s,
    files: r.files.map((f) => ({
      file: f.file,
      format: f.format,
      identity: f.identity,
      identities: f.identities,
      warnings: f.warnings,
      points: f.points,
      published: f.published,
      duplicates: f.duplicates,
      alreadyIngested: f.alreadyIngested,
      forced: f.forced,
      fingerprint: f.fingerprint,
      timeSource: f.timeSource,
      baseTime: f.baseTime,
      ...(f.notice ? { notice: f.notice } : {}),
    })),
  };
  if (!o.json) {
    for (const f of r.files) {
      console.error(`${f.file}: ${f.format}, ${f.rows} rows → ${f.points} points, ${f.rejected} rejected, ${f.published} published, ${f.duplicates} duplicates, device id from ${f.identity}`);
      if (f.notice) console.error(`  ${f.notice}`);
      for (const w of f.warnings) console.error(`  warning: ${w}`);
    }
    for (const rej of r.rejections.slice(0, 20)) console.error(`  rejected ${rej.file}:${rej.line}${rej.column ? ` [${rej.column}]` : ''}: ${rej.reason}`);
  }
  printJson(out);
  if (r.rejected > 0 && r.points === 0) process.exitCode = 2;
});

parseOpts(
  program
    .command('parse')
    .description('parse a file without servers and report what would be ingested')
    .argument('<file>')
    .option('--json', 'one JSON summary object on the last line')
    .option('--points', 'print each normalised point as one JSON line'),
).action(async (file: string, o: ParseCliOptions & { json?: boolean; points?: boolean }) => {
  const s = await runParse(cfg(), file, o, (l) => process.stdout.write(l + '\n'));
  const out = { rows: s.rows, points: s.points, rejected: s.rejected, rejections: s.rejections, duplicates: s.duplicates, elapsed_s: s.elapsed_s, points_per_s: s.points_per_s, format: s.format, identity: s.identity, identities: s.identities, timeSource: s.timeSource, baseTime: s.baseTime, fingerprint: s.fingerprint, warnings: s.warnings };
  if (o.json || o.points) printJson(out);
  else {
    console.log(`${file}: ${s.format}, ${s.rows} rows → ${s.points} points, ${s.rejected} rejected; device id from ${s.identity}`);
    for (const w of s.warnings) console.log(`  warning: ${w}`);
    for (const r of s.rejections.slice(0, 50)) console.log(`  rejected ${r.file}:${r.line}${r.column ? ` [${r.column}]` : ''}: ${r.reason}`);
  }
});

program
  .command('scrape')
  .description('poll a DCGM-exporter /metrics URL and publish every scrape to JetStream')
  .argument('<url>')
  .option('--interval <ms>', 'poll interval', '10000')
  .option('--count <n>', 'stop after n scrapes (default: until Ctrl-C)')
  .option('--host <host>', 'host name when the exporter has no Hostname label')
  .option('--json', 'one JSON summary object on the last line')
  .action(async (url: string, o: { interval: string; count?: string; host?: string; json?: boolean }) => {
    const r = await runScrape(cfg(), url, { intervalMs: Number(o.interval), count: o.count ? Number(o.count) : undefined, host: o.host }, (s) =>
      console.error(s.error ? `${s.at} scrape failed: ${s.error}` : `${s.at} ${s.points} points`),
    );
    printJson(r);
    if (r.errors === r.scrapes) process.exitCode = 1;
  });

const query = program.command('query').description('read telemetry from InfluxDB');
query
  .command('count')
  .description('number of points stored in measurement gpu (one per device per timestamp)')
  .option('--device <id>')
  .option('--from <time>', 'RFC 3339 start')
  .option('--to <time>', 'RFC 3339 end')
  .option('--json')
  .action(async (o: { device?: string; from?: string; to?: string; json?: boolean }) => {
    const count = await (await queries()).reader(cfg()).countPoints(o);
    if (o.json) printJson({ count });
    else console.log(count);
  });
query
  .command('series')
  .description('one field of one device over time')
  .requiredOption('--device <id>')
  .requiredOption('--field <name>')
  .option('--from <time>')
  .option('--to <time>')
  .option('--limit <n>', 'max points', '1000')
  .option('--json')
  .action(async (o: { device: string; field: string; from?: string; to?: string; limit: string; json?: boolean }) => {
    const points = await (await queries()).reader(cfg()).series({ ...o, limit: Number(o.limit) });
    if (o.json) return printJson({ device: o.device, field: o.field, points });
    for (const p of points) console.log(`${p.time}\t${p.value}`);
  });
query
  .command('devices')
  .description('devices seen')
  .option('--json')
  .action(async (o: { json?: boolean }) => {
    const devices = await (await queries()).reader(cfg()).devices();
    if (o.json) return printJson({ devices });
    for (const d of devices) console.log(`${d.device}\t${d.tags.model ?? ''}\tlast seen ${d.lastSeen}`);
  });

const alerts = program.command('alerts').description('alerts (Temporal alertEscalation workflows)');
alerts
  .command('list')
  .description('alerts, newest first')
  .addOption(new Option('--status <status>').choices(['firing', 'acknowledged', 'snoozed', 'silenced', 'recovered', 'resolved']))
  .option('--device <id>')
  .option('--json')
  .action(async (o: { status?: string; device?: string; json?: boolean }) => {
    const list = await (await queries()).withAlerts(cfg(), (s) => s.list({ status: o.status, device: o.device }));
    if (o.json) return printJson({ alerts: list });
    if (!list.length) console.log('no alerts');
    for (const a of list) console.log(`${a.id}\t${a.severity ?? ''}\t${a.status ?? a.workflowStatus}\tlevel ${a.level ?? 0}\t${a.startedAt}`);
  });
alerts
  .command('show')
  .description('full state of one alert')
  .argument('<id>')
  .action(async (id: string) => {
    const s = await (await queries()).withAlerts(cfg(), (svc) => svc.get(id));
    if (s === undefined) throw new Error(`no alert ${id}`);
    console.log(JSON.stringify(s, null, 2));
  });

// Commands whose modules pull in large graphs (the chaos stack, the Kubernetes remediation client,
// the fuzzer) are loaded only when they are the command run, or for the help listing: their imports
// cost every other invocation start-up CPU and heap — measurably so for `ingest` (bench ingest:
// 1.56 → 1.15 CPU s of start-up, ≈ 0.6 CPU s per million points).
const once = (load: () => Promise<void>): (() => Promise<void>) => {
  let done: Promise<void> | undefined;
  return () => (done ??= load());
};
const oncallModule = once(async () => (await import('./oncall-commands.ts')).registerOncallCommands(program, cfg));
const verifyModule = once(async () => (await import('./verify-commands.ts')).registerVerifyCommands(program, cfg));
/** Top-level command name → the module that registers it (oncall-commands also has `silence`, verify-commands `ledger`). */
const LAZY_COMMANDS: Record<string, () => Promise<void>> = {
  // `alerts list|show` are defined above; the action subcommands (ack, resolve, …) come with their module.
  alerts: async () => (await import('./alert-action-commands.ts')).registerAlertActionCommands(alerts, cfg),
  dlq: async () => (await import('./dlq-commands.ts')).registerDlqCommands(program, cfg),
  oncall: oncallModule,
  silence: oncallModule,
  bench: async () => (await import('./bench-commands.ts')).registerBenchCommands(program),
  health: async () => (await import('./health-commands.ts')).registerHealthCommands(program),
  verify: verifyModule,
  ledger: verifyModule,
  chaos: async () => (await import('./chaos-commands.ts')).registerChaosCommands(program),
  node: async () => (await import('./node-commands.ts')).registerNodeCommands(program, cfg),
  fuzz: async () => (await import('./fuzz-commands.ts')).registerFuzzCommands(program),
};
const invoked = process.argv.slice(2).find((a) => !a.startsWith('-'));
// Everything for the help listing, and for a name no eager command has (so commander's
// "did you mean" still sees every command); else just the command run.
const eager = invoked !== undefined && invoked !== 'help' && program.commands.some((c) => c.name() === invoked || c.aliases().includes(invoked));
for (const [name, load] of Object.entries(LAZY_COMMANDS)) if (!eager ? invoked === undefined || !(invoked in LAZY_COMMANDS) || invoked === name : invoked === name) await load();

program
  .command('sample')
  .description('write a seeded sample nvidia-smi CSV (for trying ingest)')
  .option('--out <file>', 'output file', 'gpu-sample.csv')
  .option('--gpus <n>', 'GPUs', '4')
  .option('--samples <n>', 'samples per GPU', '600')
  .option('--seed <n>', 'seed', '7')
  .option('--start <time>', 'first timestamp (RFC 3339)', '2026-01-15T08:00:00Z')
  .option('--fault', 'include a thermal-runaway episode on GPU 2')
  .action(async (o: { out: string; gpus: string; samples: string; seed: string; start: string; fault?: boolean }) => {
    const n = await writeSample(o.out, {
      gpus: Number(o.gpus),
      samples: Number(o.samples),
      seed: Number(o.seed),
      startMs: Date.parse(o.start),
      fault: o.fault ? { gpu: 2, start: Math.floor(Number(o.samples) / 2), length: 90 } : undefined,
    });
    console.error(`wrote ${n} rows to ${o.out}`);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof BinaryNotFoundError || err instanceof StackNotRunningError || err instanceof CliOptionError || err instanceof ApiKeyError) console.error(err.message);
  else if (err instanceof ApiCallError) console.error(`error: ${err.message}`);
  else console.error(err instanceof Error ? (process.env.DEBUG ? err.stack : `${err.name}: ${err.message}`) : err);
  // An API error has its own exit code (cli/README.md) so scripts can tell "refused" from "retry later".
  process.exit(err instanceof ApiCallError ? err.exitCode : 1);
});

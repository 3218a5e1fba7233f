/** `dlq list|show|replay`: thin shells over lib/stream/dlq.ts. Needs only NATS. */
import { Command, InvalidArgumentError } from 'commander';
import type { JetStreamClient, JetStreamManager } from 'nats';
import type { Config } from '../lib/config.ts';
import { tryParseDurationMs } from '../lib/alerts/rules-duration.ts';
import { listDlq, replayDlq, showDlq, type DlqEntry, type ReplayDlqResult } from '../lib/stream/dlq.ts';
import { connectNats, dlqStreamName, isNotFound } from '../lib/stream/jetstream.ts';
import { resolveNatsUrl } from '../infra/stack/endpoints.ts';

/** `--since`: ISO 8601 (a date, or a date-time with `Z`/offset) or a duration back from now (`90s`, `15m`, `2h`, `7d`, `1h30m`). */
export function parseSince(text: string, nowMs = Date.now()): Date {
  const ms = tryParseDurationMs(text);
  if (ms !== undefined) return new Date(nowMs - ms);
  const s = text.trim();
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(s);
  const withOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(s);
  const t = Date.parse(dateOnly ? `${s}T00:00:00Z` : s);
  if ((dateOnly || withOffset) && Number.isFinite(t)) return new Date(t);
  if (/^\d{4}-\d{2}-\d{2}T/.test(s) && Number.isFinite(t)) throw new InvalidArgumentError(`"${text}" has no time zone: add Z or an offset (e.g. ${s}Z)`);
  throw new InvalidArgumentError(`"${text}" is neither an ISO 8601 time (2025-04-01T12:00:00Z) nor a duration (30m, 2h, 7d)`);
}

function parseSeq(text: string, prev: number[] = []): number[] {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) throw new InvalidArgumentError(`"${text}" is not a DLQ sequence (a positive integer)`);
  return [...prev, Number(text)];
}
function parsePartition(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`"${text}" is not a partition number`);
  return Number(text);
}
function parseLimit(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError(`"${text}" is not a positive integer`);
  return Number(text);
}

async function withDlq<T>(cfg: Config, fn: (js: JetStreamClient, jsm: JetStreamManager) => Promise<T>): Promise<T> {
  const nc = await connectNats(resolveNatsUrl(cfg), 'telemetry-dlq');
  try {
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(dlqStreamName(cfg));
    } catch (err) {
      if (isNotFound(err)) throw new Error(`no stream ${dlqStreamName(cfg)} on ${resolveNatsUrl(cfg)}: the topology was never created (run \`telemetry-stack up\`)`, { cause: err });
      throw err;
    }
    return await fn(nc.jetstream(), jsm);
  } finally {
    await nc.close();
  }
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const printJson = (o: unknown) => console.log(JSON.stringify(o));

function printTable(entries: DlqEntry[]): void {
  const kindW = Math.max(4, ...entries.map((e) => e.kind.length));
  console.log(`${'SEQ'.padStart(8)}  ${'P'.padStart(3)}  ${'KIND'.padEnd(kindW)}  ${'AT'.padEnd(24)}  ${'POINTS'.padStart(6)}  REASON`);
  for (const e of entries) {
    const text = e.reason.slice(e.reason.indexOf(':') + 1).trim();
    console.log(
      `${String(e.dlqSeq).padStart(8)}  ${String(e.partition).padStart(3)}  ${e.kind.padEnd(kindW)}  ${e.at.padEnd(24)}  ${String(e.points ?? '-').padStart(6)}  ${cut(text, 70)}${e.history.length ? ` (dead-lettered ${e.history.length + 1}×)` : ''}`,
    );
  }
}

function printReplay(r: ReplayDlqResult): void {
  for (const i of r.items) {
    const where = i.originalSubject ? ` → ${i.originalSubject}${i.seq ? ` seq ${i.seq}` : ''}` : '';
    console.log(`${String(i.dlqSeq).padStart(8)}  ${i.outcome.padEnd(16)}${where}${i.error ? `: ${i.error}` : ''}`);
  }
  console.log(`${r.dryRun ? 'would replay' : 'replayed'} ${r.replayed} (${r.points} points), skipped ${r.skipped}, failed ${r.failed}`);
}

/** Registers `dlq list|show|replay` on the program (config loaded lazily, like every command). */
export function registerDlqCommands(program: Command, cfg: () => Config): void {
  const dlq = program.command('dlq').description('dead letters (stream <STREAM_NAME>_DLQ): list, inspect, replay exactly once after a fix');
  dlq
    .command('list')
    .description('dead letters, oldest first: sequence, partition, reason kind, time, points, reason')
    .option('--reason <reason>', 'only this reason kind (decode, influx-data, max-deliver, …), or with a ":" a prefix of the reason text')
    .option('--since <time>', 'only dead-lettered at/after this time: ISO 8601 (2025-04-01T12:00:00Z) or a duration back from now (30m, 2h, 7d)', (t: string) => parseSince(t))
    .option('--partition <n>', 'only this partition', parsePartition)
    .option('--limit <n>', 'show at most n', parseLimit, 1_000)
    .option('--json', 'one JSON object on the last line: {"stream", "total", "entries": [...], "truncated"}')
    .action(async (o: { reason?: string; since?: Date; partition?: number; limit: number; json?: boolean }) => {
      const out = await withDlq(cfg(), async (_js, jsm) => {
        const entries = await listDlq(jsm, cfg(), { reason: o.reason, since: o.since, partition: o.partition, limit: o.limit + 1 });
        const total = (await jsm.streams.info(dlqStreamName(cfg()))).state.messages;
        return { stream: dlqStreamName(cfg()), total, entries: entries.slice(0, o.limit), truncated: entries.length > o.limit };
      });
      if (o.json) return printJson(out);
      if (out.entries.length) printTable(out.entries);
      console.log(`${out.entries.length}${out.truncated ? '+' : ''} shown of ${out.total} in ${out.stream}${out.truncated ? ` (raise --limit to see more)` : ''}`);
    });
  dlq
    .command('show')
    .description('one dead letter: headers, history, and a preview (first points of a batch, or the first bytes as hex and UTF-8)')
    .argument('<seq>', 'DLQ stream sequence (from `dlq list`)', (t: string) => parseSeq(t)[0]!)
    .option('--points <n>', 'points to preview', parseLimit, 5)
    .option('--json', 'one JSON object on the last line')
    .action(async (seq: number, o: { points: number; json?: boolean }) => {
      const r = await withDlq(cfg(), (_js, jsm) => showDlq(jsm, cfg(), seq, { previewPoints: o.points }));
      if (o.json) return printJson(r);
      const { preview, history, ...entry } = r;
      for (const [k, v] of Object.entries(entry)) console.log(`${k.padEnd(16)} ${v}`);
      for (const h of history) console.log(`${'earlier'.padEnd(16)} ${h.at}${h.dlqSeq ? ` (DLQ seq ${h.dlqSeq})` : ''}: ${h.reason}`);
      if (preview.type === 'batch') {
        console.log(`batch            origin ${preview.origin}, ${preview.points} points, ${preview.devices} devices; first ${preview.first.length}:`);
        for (const p of preview.first) console.log(`  ${JSON.stringify(p)}`);
      } else {
        console.log(`raw              not a batch (${preview.decodeError})`);
        console.log(`  hex  ${preview.hex}${preview.truncated ? '…' : ''}`);
        console.log(`  utf8 ${JSON.stringify(preview.utf8)}${preview.truncated ? '…' : ''}`);
      }
    });
  dlq
    .command('replay')
    .description('republish dead letters to their original subjects (with Telemetry-Replay-Of and the history) and remove them from the DLQ, exactly once; a rerun after a crash finishes the job without a second copy')
    .argument('[seqs...]', 'DLQ sequences to replay (default: every dead letter matching the filters)', (t: string, prev: number[] | undefined) => parseSeq(t, prev))
    .option('--reason <reason>', 'only this reason kind (decode, influx-data, …), or with a ":" a prefix of the reason text')
    .option('--since <time>', 'only dead-lettered at/after this time: ISO 8601 or a duration back from now (30m, 2h, 7d)', (t: string) => parseSince(t))
    .option('--partition <n>', 'only this partition', parsePartition)
    .option('--all', 'replay every dead letter (required when no sequence or filter is given)')
    .option('--dry-run', 'list what would be replayed; publish and delete nothing')
    .option('--force', 'republish an interrupted replay whose duplicate window has passed (it may make a second copy; InfluxDB overwrites identical points)')
    .option('--json', 'one JSON object on the last line: {"replayed", "skipped", "failed", "points", "dryRun", "items": [...]}')
    .action(async (seqs: number[] | undefined, o: { reason?: string; since?: Date; partition?: number; all?: boolean; dryRun?: boolean; force?: boolean; json?: boolean }, cmd: Command) => {
      if (!seqs?.length && o.reason === undefined && o.since === undefined && o.partition === undefined && !o.all)
        cmd.error('error: say what to replay: DLQ sequences, --reason, --since, --partition, or --all');
      const r = await withDlq(cfg(), (js, jsm) =>
        replayDlq(js, jsm, cfg(), { seqs: seqs?.length ? seqs : undefined, reason: o.reason, since: o.since, partition: o.partition, dryRun: o.dryRun, force: o.force }),
      );
      if (o.json) printJson(r);
      else printReplay(r);
      if (r.failed > 0) process.exitCode = 1;
    });
}

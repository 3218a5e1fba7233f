/** `oncall who` and `silence add|list|end`: thin shells over lib/oncall and the on-call service (api/oncall-service.ts). */
import { Client, Connection } from '@temporalio/client';
import { Option, type Command } from 'commander';
import type { Config } from '../lib/config.ts';
import { resolve } from 'node:path';
import { resolveNatsUrl, StackNotRunningError } from '../infra/stack/endpoints.ts';
import { readState } from '../infra/stack/state.ts';
import { connectNats } from '../lib/stream/jetstream.ts';
import { ScheduleStore } from '../lib/oncall/schedule-store.ts';
import { SilenceStore } from '../lib/oncall/silence-store.ts';
import type { Silence } from '../lib/oncall/silences.ts';
import { createOncallService, NoSchedulesError, type OncallService } from '../api/oncall-service.ts';
import { CliOptionError } from './ingest-commands.ts';

const printJson = (o: unknown) => console.log(JSON.stringify(o));

/** Silences need Temporal (to signal) and NATS (the store) only: not InfluxDB or the chain. */
async function withOncall<T>(cfg: Config, fn: (svc: OncallService) => Promise<T>): Promise<T> {
  const address = cfg.TEMPORAL_ADDRESS ?? (readState(resolve(cfg.DATA_DIR))?.components.temporal?.address as string | undefined);
  if (!address) throw new StackNotRunningError('Temporal', 'TEMPORAL_ADDRESS');
  const connection = await Connection.connect({ address });
  const nc = await connectNats(resolveNatsUrl(cfg), 'telemetry-cli').catch(async (err: unknown) => {
    await connection.close();
    throw err;
  });
  try {
    const silences = await SilenceStore.open(nc.jetstream(), { replicas: cfg.STREAM_REPLICAS });
    try {
      const schedules = cfg.ONCALL_SCHEDULES_FILE ? new ScheduleStore(cfg.ONCALL_SCHEDULES_FILE) : undefined;
      return await fn(createOncallService({ client: new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE }), schedules, silences }));
    } finally {
      await silences.close();
    }
  } finally {
    await nc.close();
    await connection.close();
  }
}

function line(s: Silence): string {
  const m = Object.entries(s.matchers).map(([k, v]) => `${k}=${v}`).join(',');
  const state = s.ended ? `ended by ${s.ended.by} ${s.ended.at}` : Date.parse(s.endsAt) <= Date.now() ? 'expired' : Date.parse(s.startsAt) > Date.now() ? 'planned' : 'active';
  return `${s.id}\t${m}\t${s.startsAt} → ${s.endsAt}\t${state}\ton end: ${s.onEnd}\tby ${s.created.by}: ${s.reason}`;
}

export function registerOncallCommands(program: Command, cfg: () => Config): void {
  const oncall = program.command('oncall').description('on-call schedules (ONCALL_SCHEDULES_FILE)');
  oncall
    .command('who')
    .description('who is on call, per schedule (reads the schedule file; no servers needed)')
    .option('--schedule <name>', 'one schedule (default: all)')
    .option('--at <time>', 'ISO 8601 time with offset (default: now)')
    .option('--json')
    .action((o: { schedule?: string; at?: string; json?: boolean }) => {
      const atMs = o.at === undefined ? Date.now() : Date.parse(o.at);
      if (!Number.isFinite(atMs) || (o.at && !/[zZ]|[+-]\d{2}:?\d{2}$/.test(o.at))) throw new CliOptionError(`--at: expected an ISO 8601 time with offset, got "${o.at}"`);
      const file = cfg().ONCALL_SCHEDULES_FILE;
      if (!file) throw new NoSchedulesError();
      const store = new ScheduleStore(file);
      const answers = o.schedule ? [store.who(o.schedule, atMs)] : store.everyone(atMs);
      if (o.json) return printJson({ at: new Date(atMs).toISOString(), oncall: answers });
      for (const a of answers) {
        const who = a.person ? `${a.person.id} (${a.person.name})` : 'nobody';
        const why = a.source === 'override' ? `override${a.override?.reason ? `: ${a.override.reason}` : ''} until ${a.override?.to}` : a.source === 'layer' ? `layer ${a.layer}` : '';
        console.log(`${a.schedule}\t${who}\t${why}`);
      }
    });

  const silence = program.command('silence').description('silences and maintenance windows: matching alerts page nobody; running escalations pause at once');
  silence
    .command('add')
    .description('silence alerts matching every given matcher (exact, or a prefix ending in *)')
    .option('--device <id>')
    .option('--host <host>')
    .option('--rule <name>')
    .requiredOption('--for <duration>', 'window length, e.g. 2h')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--start <time>', 'planned start, ISO 8601 with offset (default: now)')
    .addOption(new Option('--on-end <what>', 'when the window ends').choices(['resume', 'resolve']).default('resume'))
    .option('--by <who>', 'who silences', process.env.USER ?? 'console')
    .option('--json')
    .action(async (o: { device?: string; host?: string; rule?: string; for: string; reason: string; start?: string; onEnd: string; by: string; json?: boolean }) => {
      const r = await withOncall(cfg(), (svc) =>
        svc.silences.add({
          matchers: { ...(o.device ? { device: o.device } : {}), ...(o.host ? { host: o.host } : {}), ...(o.rule ? { rule: o.rule } : {}) },
          for: o.for,
          reason: o.reason,
          by: o.by,
          onEnd: o.onEnd,
          ...(o.start ? { startsAt: o.start } : {}),
        }),
      );
      if (o.json) return printJson(r);
      console.log(`${line(r.silence)}\n${r.signalled} running escalation(s) paused${r.truncated ? ' (more matched; they pause at their next page)' : ''}`);
    });
  silence
    .command('list')
    .description('silences, newest first (active, planned, ended) with who/when/why')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const list = await withOncall(cfg(), (svc) => svc.silences.list());
      if (o.json) return printJson({ silences: list });
      if (!list.length) console.log('no silences');
      for (const s of list) console.log(line(s));
    });
  silence
    .command('end')
    .description('end a silence early (kept for audit); paused alerts resume or resolve as it says')
    .argument('<id>')
    .option('--by <who>', 'who ends it', process.env.USER ?? 'console')
    .option('--reason <text>')
    .option('--json')
    .action(async (id: string, o: { by: string; reason?: string; json?: boolean }) => {
      const r = await withOncall(cfg(), (svc) => svc.silences.end(id, o.by, o.reason));
      if (o.json) return printJson(r);
      console.log(`${line(r.silence)}\n${r.signalled} escalation(s) told`);
    });
}

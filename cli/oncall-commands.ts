/**
 * `oncall who` and `silence add|list|end`: thin shells over lib/oncall and the on-call service (api/oncall-service.ts).
 *
 * `silence add|end` record who silenced, so they go through the REST API as the API key the CLI
 * presents (cli/api-client.ts), like `alerts ack`: the API records `key:<name>`, and `--by` is the
 * body `by` (403 without act-as). `--direct` is break glass for an API outage during an incident —
 * an alert storm is when a silence is needed most — straight to Temporal and NATS (which the
 * operator reaches anyway), recorded as `cli:<user>@<host>`. `silence list` and `oncall who` record
 * nothing and read the stores directly.
 */
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
import { breakGlassIdentity, buildSilenceRequest, callApi, resolveApiTarget, type ApiTargetOptions, type SilenceAction } from './api-client.ts';
import { apiOptions } from './alert-action-commands.ts';

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

interface SilenceOptions extends ApiTargetOptions {
  by?: string;
  direct?: boolean;
  json?: boolean;
}

/** What the API (and the service, for --direct) answers to a silence add or end. */
interface SilenceAnswer {
  silence: Silence;
  signalled: number;
  truncated?: boolean;
}

const DIRECT_HELP = 'break glass: straight to Temporal and NATS when the API is down; recorded as cli:<user>@<host>';

const withoutUndefined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

async function viaApi<T>(cfg: Config, o: ApiTargetOptions, action: SilenceAction): Promise<T> {
  return (await callApi<T>(resolveApiTarget(cfg, o), buildSilenceRequest(action))).body;
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
  apiOptions(
    silence
      .command('add')
      .description('silence alerts matching every given matcher (exact, or a prefix ending in *), as the API key\'s identity')
      .option('--device <id>')
      .option('--host <host>')
      .option('--rule <name>')
      .requiredOption('--for <duration>', 'window length, e.g. 2h')
      .requiredOption('--reason <text>', 'why (kept in the audit trail)')
      .option('--start <time>', 'planned start, ISO 8601 with offset (default: now)')
      .addOption(new Option('--on-end <what>', 'when the window ends').choices(['resume', 'resolve']).default('resume'))
      .option('--by <who>', 'silencing for someone else (the key needs the act-as scope); recorded beside the key')
      .option('--direct', DIRECT_HELP),
  ).action(async (o: SilenceOptions & { device?: string; host?: string; rule?: string; for: string; reason: string; start?: string; onEnd: 'resume' | 'resolve' }) => {
    const req = {
      matchers: { device: o.device, host: o.host, rule: o.rule },
      for: o.for,
      reason: o.reason,
      startsAt: o.start,
      onEnd: o.onEnd,
    };
    const r = o.direct
      ? await withOncall(cfg(), (svc) => svc.silences.add(withoutUndefined({ ...req, matchers: withoutUndefined(req.matchers), by: breakGlassIdentity(o.by) })))
      : await viaApi<SilenceAnswer>(cfg(), o, { op: 'add', ...req, by: o.by });
    if (o.json) return printJson(o.direct ? { ...r, direct: true } : r);
    console.log(`${line(r.silence)}\n${r.signalled} running escalation(s) paused${r.truncated ? ' (more matched; they pause at their next page)' : ''}${o.direct ? ' (direct, not via the API)' : ''}`);
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
  apiOptions(
    silence
      .command('end')
      .description('end a silence early (kept for audit) as the API key\'s identity; paused alerts resume or resolve as it says')
      .argument('<id>')
      .option('--by <who>', 'ending it for someone else (the key needs the act-as scope); recorded beside the key')
      .option('--reason <text>')
      .option('--direct', DIRECT_HELP),
  ).action(async (id: string, o: SilenceOptions & { reason?: string }) => {
    const r = o.direct
      ? await withOncall(cfg(), (svc) => svc.silences.end(id, breakGlassIdentity(o.by), o.reason))
      : await viaApi<SilenceAnswer>(cfg(), o, { op: 'end', id, by: o.by, reason: o.reason });
    if (o.json) return printJson(o.direct ? { ...r, direct: true } : r);
    console.log(`${line(r.silence)}\n${r.signalled} escalation(s) told${o.direct ? ' (direct, not via the API)' : ''}`);
  });
}

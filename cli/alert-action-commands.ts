/**
 * `alerts ack|resolve|snooze <id>`: through the REST API as the API key the
 * CLI presents (cli/api-client.ts), so the identity recorded — and put on
 * chain — is the key's, checked by the same code as every other caller.
 *
 * `--direct` is break glass for when the API itself is down during an
 * incident: it goes straight to Temporal (which the operator can reach
 * anyway, so it grants nothing new) and records `cli:<user>@<host>`, never a
 * free string, so the audit trail shows it did not pass the API.
 */
import { Option, type Command } from 'commander';
import type { Config } from '../lib/config.ts';
import { withAlerts } from './query-commands.ts';
import { breakGlassIdentity, buildAlertRequest, callApi, describeAck, resolveApiTarget, type AckApiAnswer, type AlertAction, type ApiTargetOptions } from './api-client.ts';

const printJson = (o: unknown) => console.log(JSON.stringify(o));

interface ActionOptions extends ApiTargetOptions {
  direct?: boolean;
  json?: boolean;
}

/** The options every API-backed action shares (also `silence add|end`, cli/oncall-commands.ts). */
export function apiOptions(cmd: Command): Command {
  return cmd
    .option('--api-url <url>', 'the API to call (default TELEMETRY_API_URL, else http://127.0.0.1:<API_PORT>)')
    .option('--api-key-file <file>', 'file holding the API key (default TELEMETRY_API_KEY_FILE, else TELEMETRY_API_KEY); never a key on the command line')
    .option('--json', 'the API\'s answer as one JSON object on the last line');
}

export const DIRECT_HELP = 'break glass: straight to Temporal when the API is down; recorded as cli:<user>@<host>';

async function viaApi<T>(cfg: Config, o: ApiTargetOptions, action: AlertAction): Promise<{ status: number; body: T }> {
  return callApi<T>(resolveApiTarget(cfg, o), buildAlertRequest(action));
}

export function registerAlertActionCommands(alerts: Command, cfg: () => Config): void {
  apiOptions(
    alerts
      .command('ack')
      .description('acknowledge an alert as the API key\'s identity (recorded on chain); prints the transaction, or chain: pending')
      .argument('<id>')
      .option('--by <who>', 'acting for someone else (the key needs the act-as scope); recorded beside the key')
      .option('--direct', DIRECT_HELP),
  ).action(async (id: string, o: ActionOptions & { by?: string }) => {
    if (o.direct) {
      const by = breakGlassIdentity(o.by);
      const r = await withAlerts(cfg(), (svc) => svc.ack(id, by, 'console'));
      const answer: AckApiAnswer = { receipt: r.receipt, chain: r.chain, by };
      return o.json ? printJson({ ...answer, direct: true }) : console.log(`${describeAck(answer)} (direct, not via the API)`);
    }
    const { body } = await viaApi<AckApiAnswer>(cfg(), o, { op: 'ack', id, by: o.by });
    if (o.json) return printJson(body);
    console.log(describeAck(body));
  });

  apiOptions(
    alerts
      .command('resolve')
      .description('resolve an alert as the API key\'s identity')
      .argument('<id>')
      .option('--by <who>', 'acting for someone else (the key needs the act-as scope); recorded beside the key')
      .option('--reason <text>', 'why', 'resolved from the console')
      .option('--direct', DIRECT_HELP),
  ).action(async (id: string, o: ActionOptions & { by?: string; reason: string }) => {
    if (o.direct) {
      const by = breakGlassIdentity(o.by);
      await withAlerts(cfg(), (svc) => svc.resolve(id, by, o.reason));
      return o.json ? printJson({ accepted: true, by, direct: true }) : console.log(`resolve accepted as ${by} (direct, not via the API)`);
    }
    const { body } = await viaApi<{ accepted: boolean; by: string }>(cfg(), o, { op: 'resolve', id, by: o.by, reason: o.reason });
    if (o.json) return printJson(body);
    console.log(`resolve accepted as ${body.by}`);
  });

  apiOptions(
    alerts
      .command('snooze')
      .description('pause an alert\'s escalation as the API key\'s identity (capped by the policy\'s snoozeMax)')
      .argument('<id>')
      .addOption(new Option('--for <duration>', 'how long: 30s, 30m, 1h').makeOptionMandatory()),
  ).action(async (id: string, o: ActionOptions & { for: string }) => {
    const { body } = await viaApi<{ accepted: boolean; by: string }>(cfg(), o, { op: 'snooze', id, duration: o.for });
    if (o.json) return printJson(body);
    console.log(`snoozed for ${o.for} as ${body.by}`);
  });
}

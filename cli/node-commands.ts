/**
 * `telemetry-stack node quarantine|drain|release NODE`: through the REST API
 * (`POST /v1/nodes/{node}/{action}`, scope `remediate`) as the API key the CLI
 * presents (cli/api-client.ts), so the scope is checked and the identity
 * recorded — on the timeline and the ledger — is the key's, like every other
 * caller. The API starts the `nodeRemediation` workflow (run by the alerts
 * worker, which holds the Kubernetes credentials); a drain is polled at
 * `GET /v1/remediations/{id}` until it ends.
 *
 * `--direct` is break glass for when the API is down: straight to Temporal,
 * recorded as `cli:<user>@<host>` (never a free string). Exit code 1 when the
 * outcome is failed, blocked or refused; API errors exit with their own codes.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Command } from 'commander';
import type { Config } from '../lib/config.ts';
import { readState } from '../infra/stack/state.ts';
import { StackNotRunningError } from '../infra/stack/endpoints.ts';
import { createRemediationStarter } from '../activities/remediation/remediation-starter.ts';
import { isNodeName } from '../lib/kube/node-map.ts';
import { NODE_ACTIONS, type NodeAction } from '../activities/slack/action-ids.ts';
import { remediationDefaults } from '../lib/kube/remediation-config.ts';
import type { RemediationRecord } from '../lib/kube/remediation-types.ts';
import { CliOptionError } from './ingest-commands.ts';
import { breakGlassIdentity, callApi, resolveApiTarget, type ApiRequest, type ApiTargetOptions } from './api-client.ts';
import { apiOptions, DIRECT_HELP } from './alert-action-commands.ts';

const DESCRIPTIONS: Record<NodeAction, string> = {
  quarantine: 'cordon NODE, taint and label it telemetry-stack.io/gpu-unhealthy=<gpu>, set the GpuUnhealthy condition',
  drain:
    'quarantine NODE, then evict its pods through the Eviction API (PodDisruptionBudgets honoured; --force deletes what they still block at the timeout)',
  release: 'uncordon NODE (if we cordoned it) and remove the taint, label and condition',
};

export function printRecord(r: RemediationRecord): void {
  console.log(`${r.action} ${r.node}: ${r.outcome} — ${r.detail}`);
  for (const line of r.api) console.log(`  ${line}`);
  for (const b of r.blocked ?? []) console.log(`  blocked ${b.pod}: ${b.reason}`);
}

/** What the API answers for a node action (api/routes/nodes.ts). */
interface StartedAnswer {
  workflowId: string;
  running: boolean;
  record?: RemediationRecord;
}

export interface NodeActionRequest {
  action: NodeAction;
  node: string;
  gpu?: string;
  alertId?: string;
  by?: string;
  force?: boolean;
  timeoutS?: number;
  /** Idempotency key: the same key joins the same request. */
  key?: string;
}

/** The REST call for one node action: only the fields the caller gave (an absent `by` = the key's own identity). */
export function buildNodeRequest(a: NodeActionRequest): ApiRequest {
  const body: Record<string, unknown> = {};
  if (a.gpu !== undefined) body.gpu = a.gpu;
  if (a.alertId !== undefined) body.alertId = a.alertId;
  if (a.by !== undefined) body.by = a.by;
  if (a.force) body.force = true;
  if (a.timeoutS !== undefined) body.timeoutS = a.timeoutS;
  return {
    method: 'POST',
    path: `/v1/nodes/${encodeURIComponent(a.node)}/${a.action}`,
    body,
    headers: a.key ? { 'idempotency-key': a.key } : undefined,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface NodeOptions extends ApiTargetOptions {
  gpu?: string;
  alert?: string;
  by?: string;
  key?: string;
  wait: boolean;
  json?: boolean;
  force?: boolean;
  timeout?: string;
  direct?: boolean;
}

export function registerNodeCommands(program: Command, cfg: () => Config): void {
  const node = program.command('node').description('Kubernetes node remediation through the API (scope remediate; README "Remediation")');
  for (const action of NODE_ACTIONS) {
    const cmd = apiOptions(
      node
        .command(`${action} <node>`)
        .description(DESCRIPTIONS[action])
        .option('--gpu <device>', 'the faulty GPU the label names (quarantine/drain)')
        .option('--alert <id>', 'incident to record the action on')
        .option('--by <who>', 'acting for someone else (the key needs the act-as scope); recorded beside the key')
        .option('--key <key>', 'idempotency key: the same key joins the same request (default: a new one)')
        .option('--no-wait', 'start and print the workflow id only')
        .option('--direct', DIRECT_HELP),
    );
    if (action === 'drain') {
      cmd
        .option('--force', 'at the timeout, delete pods a PodDisruptionBudget still protects')
        .option('--timeout <seconds>', 'how long blocked evictions are retried');
    }
    cmd.action(async (name: string, o: NodeOptions) => {
      if (!isNodeName(name)) throw new CliOptionError(`"${name}" is not a Kubernetes node name (DNS-1123 subdomain)`);
      const timeoutS = o.timeout === undefined ? undefined : Number(o.timeout);
      if (timeoutS !== undefined && (!Number.isInteger(timeoutS) || timeoutS < 5))
        throw new CliOptionError(`--timeout: expected whole seconds ≥ 5, got "${o.timeout}"`);
      const c = cfg();
      const d = remediationDefaults(c);
      const key = o.key ?? `cli-${randomUUID()}`;
      let res: StartedAnswer;
      if (o.direct) {
        res = await direct(c, { action, node: name, gpu: o.gpu, alertId: o.alert, by: breakGlassIdentity(o.by), force: o.force, timeoutS: timeoutS ?? d.drainTimeoutS, key }, o.wait);
      } else {
        const target = resolveApiTarget(c, o);
        ({ body: res } = await callApi<StartedAnswer>(target, buildNodeRequest({ action, node: name, gpu: o.gpu, alertId: o.alert, by: o.by, force: o.force, timeoutS, key })));
        // A drain may wait on budgets for its whole timeout: poll its record that long (plus a margin).
        const until = Date.now() + ((timeoutS ?? d.drainTimeoutS) + 120) * 1_000;
        while (o.wait && res.running && Date.now() < until) {
          await sleep(2_000);
          const { body: got } = await callApi<{ running: boolean; record: RemediationRecord }>(target, { method: 'GET', path: `/v1/remediations/${encodeURIComponent(res.workflowId)}` });
          res = { workflowId: res.workflowId, running: got.running, record: got.running ? undefined : got.record };
        }
      }
      if (o.json) console.log(JSON.stringify(res));
      else if (res.record) printRecord(res.record);
      else console.log(`started ${res.workflowId}`);
      if (res.record && ['failed', 'blocked', 'refused'].includes(res.record.outcome)) process.exitCode = 1;
    });
  }
}

/** Break glass: start the workflow on Temporal directly (the operator can reach it anyway, so nothing new is granted). */
async function direct(c: Config, a: NodeActionRequest & { by: string; timeoutS: number; key: string }, wait: boolean): Promise<StartedAnswer> {
  const address = c.TEMPORAL_ADDRESS ?? (readState(resolve(c.DATA_DIR))?.components.temporal?.address as string | undefined);
  if (!address) throw new StackNotRunningError('Temporal', 'TEMPORAL_ADDRESS');
  const connection = await Connection.connect({ address });
  try {
    const start = createRemediationStarter({ client: new Client({ connection, namespace: c.TEMPORAL_NAMESPACE }) });
    const d = remediationDefaults(c);
    const res = await start(
      { action: a.action, node: a.node, gpu: a.gpu, alertId: a.alertId, by: a.by, via: 'cli', force: a.force, drainTimeoutS: a.timeoutS, gracePeriodS: d.gracePeriodS },
      a.key,
      { waitMs: wait ? (a.timeoutS + 120) * 1_000 : 0 },
    );
    return { workflowId: res.workflowId, running: !res.record, record: res.record };
  } finally {
    await connection.close();
  }
}

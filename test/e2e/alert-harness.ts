/**
 * Shared set-up of the alerting end-to-end tests and the alert-latency bench:
 * a per-file test stack (Temporal, JetStream, InfluxDB, anvil), the fake Slack
 * server, the collect and alerts workers as child processes, and the real API
 * in process (with the on-chain audit reader, as api/server.ts builds it).
 *
 * Hazard: nothing here may block the event loop. The fake Slack server and the
 * API live in THIS process; a spawnSync'd CLI would freeze them and turn every
 * Slack call of the workers into a timeout. CLI calls therefore use `cliAsync`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { ANVIL_DEV_KEY } from '../../infra/stack/chain.ts';
import { loadConfig, type Config } from '../../lib/config.ts';
import { loadLedgerAddress } from '../../activities/ledger/ledger-activities.ts';
import { LedgerClient } from '../../activities/ledger/ledger-client.ts';
import type { AlertStateView } from '../../workflows/alert-messages.ts';
import { startTestStack, filteredProcessEnv, type TestStack } from '../support/test-stack.ts';
import { eventually, runCliAsync, startAlertsWorker, startCollectWorker, waitForPoller, type ChildHandle } from '../support/processes.ts';
import { startApi } from '../support/api-server.ts';
import { temporalClient } from '../support/pipeline.ts';
import { ALERT_METADATA_EVENT } from '../../activities/slack/action-ids.ts';
import { FakeSlackServer, type FakeMessage, type RecordedCall } from '../support/fake-slack-server.ts';

export const SIGNING_SECRET = 'e2e-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-e2e-0000000000-test';
/** A channel id (not a name), so the Slack activities' dedup lookup can run. */
export const ALERT_CHANNEL = 'C0E2EALERT';
export const API_HEADERS = { 'content-type': 'application/json', 'x-api-key': 'dev-admin-key' } as const;

/** The temperature rule the tests drive: > 90 °C held for 5 s of data time. */
export const TEMP_RULE = {
  name: 'gpu-temp-critical',
  description: 'GPU overheating',
  kind: 'threshold',
  severity: 'critical',
  field: 'temperature_c',
  op: '>',
  value: 90,
  clear: 87,
  for: '5s',
} as const;

export interface PolicyLevel {
  name: string;
  channel?: string;
  users?: string[];
  waitFor: string;
}

export interface AlertStackOptions {
  rules: unknown[];
  levels: PolicyLevel[];
  repeat?: number;
  /** Extra env for every process (workers, CLI) and the in-process API. */
  env?: Record<string, string>;
  /** Skip the collect worker (the bench can still use it; tests of the alert side only do not). */
  collect?: boolean;
}

export interface AlertStack {
  s: TestStack;
  slack: FakeSlackServer;
  env: Record<string, string>;
  cfg: Config;
  collect?: ChildHandle;
  alerts: ChildHandle;
  api: { url: string; close(): Promise<void> };
  temporal: Client;
  ledger(): Promise<LedgerClient>;
  restartAlertsWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the whole alerting path. The alerts worker deploys the ledger before the API reads its address. */
export async function startAlertStack(o: AlertStackOptions): Promise<AlertStack> {
  const slack = await new FakeSlackServer().start();
  const s = await startTestStack({
    env: {
      PARTITIONS_PER_TOPIC: '2',
      RETRY_INITIAL_MS: '300',
      RETRY_MAX_MS: '2000',
      ...o.env,
    },
  });
  const rulesFile = join(s.dataDir, 'alert-rules.json');
  const policyFile = join(s.dataDir, 'escalation-policy.json');
  writeFileSync(rulesFile, JSON.stringify({ rules: o.rules }, null, 2));
  writeFileSync(
    policyFile,
    JSON.stringify({ default: { levels: o.levels, repeat: o.repeat ?? 0, autoResolveAfter: '10m', snoozeMax: '1h' } }, null, 2),
  );
  const env: Record<string, string> = {
    ...s.env,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_CHANNEL: ALERT_CHANNEL,
    ALERT_RULES_FILE: rulesFile,
    ESCALATION_POLICY_FILE: policyFile,
    // With CHAIN_RPC_URL set (the test stack sets it) the worker does not fall back to anvil's dev key.
    CHAIN_PRIVATE_KEY: ANVIL_DEV_KEY,
    HTTP_TIMEOUT: '5000',
    // Without a collect worker the pipeline heartbeat would (rightly) page about it: not what these tests count.
    ...(o.collect === false ? { HEARTBEAT_INTERVAL_S: '0' } : {}),
    ...o.env,
  };
  const cfg = loadConfig({ ...filteredProcessEnv(), ...env });

  const collect = o.collect === false ? undefined : startCollectWorker(env);
  let alerts = startAlertsWorker(env);
  const address = env.TEMPORAL_ADDRESS!;
  await Promise.all([
    collect ? waitForPoller(address, cfg.TEMPORAL_NAMESPACE, 'telemetry-collect') : Promise.resolve(),
    waitForPoller(address, cfg.TEMPORAL_NAMESPACE, 'telemetry-alerts'),
  ]);
  await eventually(async () => existsSync(join(s.dataDir, 'ledger.json')), Boolean, 60_000, 'ledger deployed by the alerts worker');

  const api = await startApiWithAudit(cfg);
  const t = await temporalClient(s);
  const clients: LedgerClient[] = [];

  return {
    s,
    slack,
    env,
    cfg,
    collect,
    get alerts() {
      return alerts;
    },
    api,
    temporal: t.client,
    async ledger() {
      const saved = await loadLedgerAddress(s.dataDir);
      if (!saved) throw new Error('no ledger.json');
      const l = await LedgerClient.connect({ rpcUrl: env.CHAIN_RPC_URL!, privateKey: ANVIL_DEV_KEY, address: saved.address, fromBlock: saved.deployBlock ?? 0 });
      clients.push(l);
      return l;
    },
    async restartAlertsWorker() {
      alerts = startAlertsWorker(env);
      await waitForPoller(address, cfg.TEMPORAL_NAMESPACE, 'telemetry-alerts');
    },
    async stop() {
      for (const l of clients) l.close();
      await api.close().catch(() => {});
      await t.close().catch(() => {});
      await Promise.all([collect?.stop(), alerts.stop()]);
      await slack.stop();
      await s.stop();
    },
  } as AlertStack;
}

/** The real API as api/server.ts builds it, with the chain audit reader required. */
export function startApiWithAudit(cfg: Config): Promise<{ url: string; close(): Promise<void> }> {
  return startApi(cfg, { requireAudit: true });
}

/** The CLI as a child process WITHOUT blocking this process (see the hazard above). */
export const cliAsync = runCliAsync;

/** Top-level alert messages (not thread replies) posted for an alert id, per the message metadata. */
export function alertPosts(slack: FakeSlackServer, alertId: string): RecordedCall[] {
  return slack
    .successesOf('chat.postMessage')
    .filter(
      (c) =>
        c.body.thread_ts === undefined &&
        metadataAlertId(c.body.metadata) === alertId &&
        (c.body.metadata as { event_type?: string }).event_type === ALERT_METADATA_EVENT,
    );
}

/** Successful thread replies in the alert message's thread. */
export function threadReplies(slack: FakeSlackServer, ts: string): RecordedCall[] {
  return slack.successesOf('chat.postMessage').filter((c) => c.body.thread_ts === ts);
}

export function updatesOf(slack: FakeSlackServer, ts: string): RecordedCall[] {
  return slack.successesOf('chat.update').filter((c) => c.body.ts === ts);
}

function metadataAlertId(md: unknown): string | undefined {
  const p = (md as { event_payload?: { alert_id?: unknown } } | undefined)?.event_payload;
  return typeof p?.alert_id === 'string' ? p.alert_id : undefined;
}

/** Every text a message or call shows: fallback text plus all block texts, flattened. */
export function allText(m: Pick<FakeMessage, 'text' | 'blocks'> | Record<string, unknown>): string {
  return JSON.stringify([m.text, m.blocks]);
}

export async function getAlert(api: { url: string }, id: string): Promise<AlertStateView | undefined> {
  const res = await fetch(`${api.url}/v1/alerts/${encodeURIComponent(id)}`, { headers: API_HEADERS });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET /v1/alerts/${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as AlertStateView;
}

/** Waits until the alert's workflow exists and its Slack message was posted (state.slack set). */
export async function waitForPostedAlert(api: { url: string }, id: string, timeoutMs: number): Promise<AlertStateView> {
  return (await eventually(() => getAlert(api, id), (v) => v?.slack !== undefined, timeoutMs, `alert ${id} posted to Slack`, 250))!;
}

export { eventually, sleep };

/**
 * Worker for the `telemetry-alerts` task queue: runs alertEscalation
 * workflows and the Slack and ledger activities they call.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../lib/config.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { TASK_QUEUES } from '../lib/temporal-names.ts';
import { resolveEndpoints } from '../infra/stack/endpoints.ts';
import { ANVIL_DEV_KEY } from '../infra/stack/chain.ts';
import { createSlackActivities, createSlackClient } from '../activities/slack/slack-activities.ts';
import { notifyFromConfig } from '../activities/notify/build-channels.ts';
import { createLedgerActivities, ensureLedger } from '../activities/ledger/ledger-activities.ts';
import type { LedgerClient } from '../activities/ledger/ledger-client.ts';
import { KvLedgerRegistry, type LedgerRegistry } from '../activities/ledger/ledger-registry.ts';
import { ledgerProofsFromConfig } from '../activities/ledger/ledger-proofs.ts';
import { connectNats } from '../lib/stream/jetstream.ts';
import { connectWorker, loadPolicies, runMain, onShutdownSignal, serveMetrics } from './shared.ts';
import { bundleWorkflowsInChild } from './workflow-bundle.ts';
import { Client, Connection } from '@temporalio/client';
import { policyForAlert } from '../lib/alerts/policy.ts';
import { createAlertSignaller } from '../activities/alerts/signal-alert.ts';
import { createHeartbeatActivities } from '../activities/heartbeat/heartbeat-activities.ts';
import { ensureHeartbeat } from '../activities/heartbeat/start-heartbeat.ts';
import type { AlertActivities } from '../workflows/alert-activities.ts';
import type { RemediationActivities } from '../workflows/remediation-activities.ts';
import { createRemediationActivities } from '../activities/remediation/remediation-activities.ts';
import { kubeFromConfig } from '../lib/kube/remediation-config.ts';
import { createOncallActivities } from '../activities/oncall/oncall-activities.ts';
import { ScheduleStore } from '../lib/oncall/schedule-store.ts';
import { SilenceStore } from '../lib/oncall/silence-store.ts';

/** The recorder key: env or file; anvil's public dev key only in development against the local anvil. */
export function chainPrivateKey(cfg: Config): string | undefined {
  if (cfg.CHAIN_PRIVATE_KEY) return cfg.CHAIN_PRIVATE_KEY;
  if (cfg.CHAIN_PRIVATE_KEY_FILE) return readFileSync(cfg.CHAIN_PRIVATE_KEY_FILE, 'utf8').trim();
  if (cfg.NODE_ENV !== 'production' && !cfg.CHAIN_RPC_URL) return ANVIL_DEV_KEY;
  return undefined;
}

export async function connectLedger(cfg: Config, rpcUrl: string, logger: Logger, registry?: LedgerRegistry): Promise<LedgerClient | undefined> {
  const privateKey = chainPrivateKey(cfg);
  if (!privateKey) {
    logger.warn('no CHAIN_PRIVATE_KEY: acknowledgements are not recorded on chain');
    return undefined;
  }
  const { ledger, deployment, deployed } = await ensureLedger({
    rpcUrl,
    privateKey,
    dataDir: resolve(cfg.DATA_DIR),
    address: cfg.LEDGER_ADDRESS,
    logger,
    registry,
  });
  logger.info({ address: deployment.address, chainId: deployment.chainId, deployed }, 'ledger ready');
  return ledger;
}

export async function run(cfg: Config = loadConfig()): Promise<void> {
  const logger = createLogger(cfg.LOG_LEVEL, 'alerts-worker');
  const ep = resolveEndpoints(cfg);
  const connection = await connectWorker(ep.temporal.address);
  const metrics = serveMetrics(cfg.WORKER_METRICS_PORT ? cfg.WORKER_METRICS_PORT + 1 : 0, logger, cfg.METRICS_HOST);
  // The ledger registry lives in JetStream KV: a pod with an empty /data finds the same contract.
  const nc = await connectNats(ep.nats.url, 'telemetry-alerts-worker');
  // A client for the heartbeat (describe the collect queue, signal-with-start its alerts).
  const clientConnection = await Connection.connect({ address: ep.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: ep.temporal.namespace });
  const ledger = await connectLedger(cfg, ep.chain.rpcUrl, logger, await KvLedgerRegistry.open(nc, cfg.STREAM_REPLICAS)).catch(async (err: unknown) => {
    await nc.close();
    throw err;
  });
  // Receipts for every ack/resolve, and anchored checkpoints when witnesses are configured.
  const proofs = ledger ? await ledgerProofsFromConfig(cfg, { rpcUrl: ep.chain.rpcUrl, ledger, privateKey: chainPrivateKey(cfg)!, nc, logger }) : undefined;
  let silencesClose: (() => Promise<void>) | undefined;
  let notifyClose: (() => void) | undefined;
  let kubeClose: (() => void) | undefined;
  try {
    const slackClient = cfg.SLACK_BOT_TOKEN
      ? // 429s go back to the delivery queue (activities/notify), which waits Retry-After and keeps the page queued.
        createSlackClient({ token: cfg.SLACK_BOT_TOKEN, apiUrl: cfg.SLACK_API_URL, timeoutMs: cfg.HTTP_TIMEOUT, maxRetries: 3, logger, rejectRateLimitedCalls: true })
      : undefined;
    if (!slackClient) logger.warn('no SLACK_BOT_TOKEN: alerts go to this log and `telemetry-stack alerts list`');
    // Silences (JetStream KV, watched) and schedules (a file, re-read on change) are read at every page.
    const silences = await SilenceStore.open(nc.jetstream(), { replicas: cfg.STREAM_REPLICAS });
    silencesClose = () => silences.close();
    await silences.watch();
    const schedules = cfg.ONCALL_SCHEDULES_FILE ? new ScheduleStore(cfg.ONCALL_SCHEDULES_FILE, { logger, checkEveryMs: 1_000 }) : undefined;
    if (schedules) schedules.schedules(); // fail fast on a bad file at start; later bad edits keep the last good version
    const policies = loadPolicies(cfg);
    const slackActivities = createSlackActivities({ client: slackClient, defaultChannel: cfg.SLACK_CHANNEL, logger });
    // Every channel (Slack included) behind the notifier boundary, each page through its delivery queue.
    const notify = notifyFromConfig(cfg, { slackActivities, slackClient, logger });
    notifyClose = notify.close;
    // Node remediation (workflows/node-remediation.ts): without a cluster its activities answer KubeNotConfigured.
    const kube = kubeFromConfig(cfg);
    if (!kube) logger.info('no KUBECONFIG or in-cluster service account: node remediation is unavailable');
    kubeClose = () => kube?.close();
    // `satisfies` pins the real implementations to the interface the workflow calls.
    const activities = {
      ...createRemediationActivities({ kube, log: logger }),
      ...slackActivities,
      ...notify.activities,
      ...createLedgerActivities({ ledger, logger, receipts: proofs?.receipts, onWrite: proofs?.onWrite }),
      ...createOncallActivities({ schedules, silences, logger }),
      // The collect worker cannot report its own death: this worker watches it (workflows/pipeline-heartbeat.ts).
      ...createHeartbeatActivities({
        client,
        namespace: ep.temporal.namespace,
        jsm: await nc.jetstreamManager(),
        streamName: cfg.STREAM_NAME,
        partitions: cfg.PARTITIONS_PER_TOPIC,
        stallMs: cfg.HEARTBEAT_STALL_S * 1_000,
        lagMs: cfg.HEARTBEAT_LAG_S * 1_000,
        noDataMs: cfg.HEARTBEAT_NO_DATA_S * 1_000,
        alerts: createAlertSignaller({ client, taskQueue: TASK_QUEUES.alerts, policyFor: (alert) => policyForAlert(policies, alert) }),
        logger,
      }),
    } satisfies AlertActivities & RemediationActivities;
    const worker = await Worker.create({
      connection,
      namespace: ep.temporal.namespace,
      taskQueue: TASK_QUEUES.alerts,
      // Bundled in a child process: webpack's memory must not stay in this long-running worker.
      workflowBundle: await bundleWorkflowsInChild(),
      activities,
      // Pages wait their turn in the delivery queues inside running activities (cheap promises): leave room
      // so a critical page is not stuck in Temporal's task queue behind slots held by waiting warnings.
      maxConcurrentActivityTaskExecutions: 1_000,
    });
    onShutdownSignal(() => worker.shutdown());
    logger.info({ heartbeat: await ensureHeartbeat(client, cfg.HEARTBEAT_INTERVAL_S * 1_000) }, 'pipeline heartbeat');
    logger.info({ taskQueue: TASK_QUEUES.alerts, slack: Boolean(slackClient), ledger: Boolean(ledger) }, 'alerts worker running');
    await worker.run();
  } finally {
    metrics?.close();
    proofs?.close();
    ledger?.close();
    await silencesClose?.();
    notifyClose?.();
    kubeClose?.();
    await nc.close().catch(() => {});
    await clientConnection.close().catch(() => {});
    await connection.close().catch(() => {});
  }
}

runMain(import.meta.url, () => run());

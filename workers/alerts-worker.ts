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
import { createLedgerActivities, ensureLedger } from '../activities/ledger/ledger-activities.ts';
import type { LedgerClient } from '../activities/ledger/ledger-client.ts';
import { WORKFLOWS_PATH, connectWorker, runMain, onShutdownSignal, serveMetrics } from './shared.ts';
import type { AlertActivities } from '../workflows/alert-activities.ts';

/** The recorder key: env or file; anvil's public dev key only in development against the local anvil. */
export function chainPrivateKey(cfg: Config): string | undefined {
  if (cfg.CHAIN_PRIVATE_KEY) return cfg.CHAIN_PRIVATE_KEY;
  if (cfg.CHAIN_PRIVATE_KEY_FILE) return readFileSync(cfg.CHAIN_PRIVATE_KEY_FILE, 'utf8').trim();
  if (cfg.NODE_ENV !== 'production' && !cfg.CHAIN_RPC_URL) return ANVIL_DEV_KEY;
  return undefined;
}

export async function connectLedger(cfg: Config, rpcUrl: string, logger: Logger): Promise<LedgerClient | undefined> {
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
  });
  logger.info({ address: deployment.address, chainId: deployment.chainId, deployed }, 'ledger ready');
  return ledger;
}

export async function run(cfg: Config = loadConfig()): Promise<void> {
  const logger = createLogger(cfg.LOG_LEVEL, 'alerts-worker');
  const ep = resolveEndpoints(cfg);
  const connection = await connectWorker(ep.temporal.address);
  const metrics = serveMetrics(cfg.WORKER_METRICS_PORT ? cfg.WORKER_METRICS_PORT + 1 : 0, logger, cfg.METRICS_HOST);
  const ledger = await connectLedger(cfg, ep.chain.rpcUrl, logger);
  try {
    const slackClient = cfg.SLACK_BOT_TOKEN
      ? createSlackClient({ token: cfg.SLACK_BOT_TOKEN, apiUrl: cfg.SLACK_API_URL, timeoutMs: cfg.HTTP_TIMEOUT, maxRetries: 3, logger })
      : undefined;
    if (!slackClient) logger.warn('no SLACK_BOT_TOKEN: alerts go to this log and `telemetry-stack alerts list`');
    // `satisfies` pins the real implementations to the interface the workflow calls.
    const activities = {
      ...createSlackActivities({ client: slackClient, defaultChannel: cfg.SLACK_CHANNEL, logger }),
      ...createLedgerActivities({ ledger, logger }),
    } satisfies AlertActivities;
    const worker = await Worker.create({
      connection,
      namespace: ep.temporal.namespace,
      taskQueue: TASK_QUEUES.alerts,
      workflowsPath: WORKFLOWS_PATH,
      activities,
    });
    onShutdownSignal(() => worker.shutdown());
    logger.info({ taskQueue: TASK_QUEUES.alerts, slack: Boolean(slackClient), ledger: Boolean(ledger) }, 'alerts worker running');
    await worker.run();
  } finally {
    metrics?.close();
    ledger?.close();
    await connection.close().catch(() => {});
  }
}

runMain(import.meta.url, () => run());

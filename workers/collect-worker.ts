/**
 * Worker for the `telemetry-collect` task queue: runs the partitionCollector
 * workflows and their collectPartition activity (JetStream → InfluxDB, health,
 * rules). Starts the collectors idempotently on boot.
 */
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../lib/config.ts';
import { createLogger } from '../lib/logger.ts';
import { TASK_QUEUES } from '../lib/temporal-names.ts';
import { connectNats, ensureTopology } from '../lib/stream/jetstream.ts';
import { InfluxWriter, gzipFor } from '../lib/influx/writer.ts';
import { createRuleEngine } from '../lib/alerts/rules.ts';
import { policyForAlert } from '../lib/alerts/policy.ts';
import { resolveEndpoints } from '../infra/stack/endpoints.ts';
import { createCollectActivities } from '../activities/collect/collect-activities.ts';
import { createAlertSignaller } from '../activities/alerts/signal-alert.ts';
import { createPolicyEnqueuer } from '../activities/remediation/remediation-starter.ts';
import { autoPolicyFromConfig, nodeMapFromConfig } from '../lib/kube/remediation-config.ts';
import { parseGroupBy } from '../lib/alerts/incident.ts';
import { createOnnxScorer, createHttpScorer, healthLinesFor, type HealthScorer } from '../activities/health/index.ts';
import { createShadowScorer, modelFileVersion } from '../activities/health/shadow-scorer.ts';
import { startCollectors } from './start-collectors.ts';
import { bundleWorkflowsInChild } from './workflow-bundle.ts';
import { connectWorker, runMain, loadPolicies, loadRules, onShutdownSignal, serveMetrics } from './shared.ts';

async function createScorer(cfg: Config): Promise<HealthScorer | undefined> {
  if (cfg.HEALTH_BACKEND === 'off') return undefined;
  if (cfg.HEALTH_BACKEND === 'http') {
    if (!cfg.HEALTH_HTTP_URL) throw new Error('HEALTH_BACKEND=http needs HEALTH_HTTP_URL');
    return createHttpScorer({ url: cfg.HEALTH_HTTP_URL, protocol: 'kserve-v2', model: 'gpu-health', timeoutMs: cfg.HTTP_TIMEOUT });
  }
  return createOnnxScorer(cfg.HEALTH_MODEL_PATH ? { modelPath: cfg.HEALTH_MODEL_PATH } : {});
}

export async function run(cfg: Config = loadConfig()): Promise<void> {
  const logger = createLogger(cfg.LOG_LEVEL, 'collect-worker');
  const ep = resolveEndpoints(cfg);
  const nc = await connectNats(ep.nats.url, 'collect-worker');
  const connection = await connectWorker(ep.temporal.address);
  const clientConnection = await Connection.connect({ address: ep.temporal.address });
  const primary = await createScorer(cfg);
  // Shadow model version (issue 10): scored and counted beside the paging model, never paged.
  const scorer =
    primary && cfg.HEALTH_SHADOW_MODEL_PATH
      ? createShadowScorer(primary, await createOnnxScorer({ modelPath: cfg.HEALTH_SHADOW_MODEL_PATH }), {
          label: cfg.HEALTH_SHADOW_MODEL_PATH,
          version: cfg.HEALTH_SHADOW_MODEL_VERSION ?? modelFileVersion(cfg.HEALTH_SHADOW_MODEL_PATH),
          write: cfg.HEALTH_SHADOW_WRITE,
          maxLines: cfg.HEALTH_SHADOW_MAX_LINES,
          onError: (err) => logger.warn({ err }, 'shadow health model failed on a batch (primary unaffected)'),
        })
      : primary;
  const metrics = serveMetrics(cfg.WORKER_METRICS_PORT, logger, cfg.METRICS_HOST);
  try {
    const jsm = await nc.jetstreamManager();
    await ensureTopology(jsm, cfg);
    const client = new Client({ connection: clientConnection, namespace: ep.temporal.namespace });
    const policies = loadPolicies(cfg);
    const nodeMap = nodeMapFromConfig(cfg);
    const autoPolicy = autoPolicyFromConfig(cfg);
    const activities = createCollectActivities({
      js: nc.jetstream(),
      jsm,
      // A token read from a file is re-read after a 401/403, so a rotated token needs no restart.
      writer: new InfluxWriter(
        { ...ep.influxdb, timeoutMs: cfg.INFLUX_WRITE_TIMEOUT_MS, gzip: gzipFor(cfg.INFLUX_GZIP, ep.influxdb.url), tokenFile: cfg.INFLUXDB_TOKEN ? undefined : ep.influxdb.tokenFile },
        cfg.INFLUX_WRITE_BATCH,
      ),
      streamName: cfg.STREAM_NAME,
      subjectPrefix: cfg.SUBJECT_PREFIX,
      partitions: cfg.PARTITIONS_PER_TOPIC,
      stateLimits: { pruneAfterMs: cfg.STATE_PRUNE_AFTER_S * 1_000, maxDevices: cfg.STATE_MAX_DEVICES },
      stateFlushMs: cfg.STATE_FLUSH_MS,
      stallAlertMs: cfg.COLLECT_STALL_ALERT_S * 1_000,
      healthWriteEveryMs: cfg.HEALTH_WRITE_EVERY_S * 1_000,
      logger,
      scorer: scorer as never,
      healthLines: healthLinesFor as never,
      rules: createRuleEngine(loadRules(cfg)),
      alerts: createAlertSignaller({
        client,
        taskQueue: TASK_QUEUES.alerts,
        policyFor: (alert) => policyForAlert(policies, alert),
        groupBy: parseGroupBy(cfg.ALERT_GROUP_BY),
        // Device → node on every alert (page buttons), and the policy's quarantine when REMEDIATION_AUTO ≠ off.
        nodeFor: nodeMap.nodeFor,
        ...(autoPolicy.mode === 'off'
          ? {}
          : {
              autoRemediation: {
                policy: autoPolicy,
                enqueue: createPolicyEnqueuer({ client, taskQueue: TASK_QUEUES.alerts }),
                releaseOnRecovery: cfg.REMEDIATION_RELEASE_ON_RECOVERY,
                onAutoError: (err: unknown, alert: { alertId: string }) => logger.error({ err, alertId: alert.alertId }, 'auto-quarantine not started; the page goes out'),
              },
            }),
      }),
    });
    const worker = await Worker.create({
      connection,
      namespace: ep.temporal.namespace,
      taskQueue: TASK_QUEUES.collect,
      // Bundled in a child process: webpack's memory must not stay in this long-running worker.
      workflowBundle: await bundleWorkflowsInChild(),
      activities,
      // One partition's activity holds its messages; a few in parallel use both cores.
      maxConcurrentActivityTaskExecutions: Math.max(4, cfg.PARTITIONS_PER_TOPIC),
    });
    onShutdownSignal(() => worker.shutdown());
    await startCollectors(client, cfg);
    logger.info({ taskQueue: TASK_QUEUES.collect, partitions: cfg.PARTITIONS_PER_TOPIC }, 'collect worker running');
    await worker.run();
  } finally {
    metrics?.close();
    await scorer?.close().catch(() => {});
    await nc.drain().catch(() => {});
    await clientConnection.close().catch(() => {});
    await connection.close().catch(() => {});
  }
}

runMain(import.meta.url, () => run());

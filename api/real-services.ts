/** The API's services over the real servers (JetStream, InfluxDB, Temporal, chain). */
import { Client, Connection } from '@temporalio/client';
import { DeliverPolicy, type NatsConnection } from 'nats';
import type { Config } from '../lib/config.ts';
import { InfluxReader } from '../lib/influx/query.ts';
import { decodeBatch } from '../lib/stream/codec.ts';
import { publishPoints } from '../lib/stream/ingest.ts';
import { connectNats, dlqStreamName, ensureTopology, messageByteLimit } from '../lib/stream/jetstream.ts';
import { createConsoleService } from './console/console-service.ts';
import type { StackEndpoints } from '../infra/stack/stack.ts';
import { createAlertsService, type AuditReader } from './alerts-service.ts';
import { guardUpstream } from './upstream-errors.ts';
import type { ApiServices } from './services.ts';
import { createOncallService } from './oncall-service.ts';
import { ScheduleStore } from '../lib/oncall/schedule-store.ts';
import { SilenceStore } from '../lib/oncall/silence-store.ts';
import { createRemediationService } from './remediation-service.ts';
import { nodeMapFromConfig, remediationDefaults } from '../lib/kube/remediation-config.ts';

export interface RealServices {
  services: ApiServices;
  close(): Promise<void>;
}

export async function createRealServices(
  cfg: Config,
  ep: Required<StackEndpoints>,
  audit?: AuditReader,
): Promise<RealServices> {
  const nc: NatsConnection = await connectNats(ep.nats.url, 'telemetry-api');
  const jsm = await nc.jetstreamManager();
  await ensureTopology(jsm, cfg);
  const js = nc.jetstream();
  const connection = await Connection.connect({ address: ep.temporal.address });
  const client = new Client({ connection, namespace: ep.temporal.namespace });
  // Queries answer our 503 when InfluxDB fails, never its status or body (api/upstream-errors.ts).
  const reader = guardUpstream('influxdb', new InfluxReader(ep.influxdb));
  const silences = await SilenceStore.open(js, { replicas: cfg.STREAM_REPLICAS });
  const schedules = cfg.ONCALL_SCHEDULES_FILE ? new ScheduleStore(cfg.ONCALL_SCHEDULES_FILE, { checkEveryMs: 1_000 }) : undefined;

  const alerts = createAlertsService(client, { audit, ackAnswerMs: cfg.ACK_ANSWER_TIMEOUT_MS });
  // The API starts remediation workflows; the alerts worker holds the Kubernetes credentials.
  const remediation = createRemediationService({ client, alerts, nodeMap: nodeMapFromConfig(cfg), defaults: remediationDefaults(cfg) });
  const services: ApiServices = {
    remediation,
    telemetry: {
      publish: (origin, points) =>
        publishPoints(
          {
            js,
            subjectPrefix: cfg.SUBJECT_PREFIX,
            partitions: cfg.PARTITIONS_PER_TOPIC,
            batchPoints: cfg.BATCH_POINTS,
            // Read per request: after a reconnect the server (and its max_payload) may differ.
            maxMessageBytes: messageByteLimit(nc),
            policy: {
              attempts: cfg.PUBLISH_ATTEMPTS_HTTP,
              backoffFactor: cfg.BACKOFF_FACTOR,
              initialDelayMs: 100,
              maxDelayMs: 1_000,
              // HTTP handlers never wait on a full stream: they answer 429 at once.
              waitWhenFull: false,
              timeoutMs: 2_000,
            },
          },
          origin,
          points,
        ),
    },
    query: reader,
    alerts,
    oncall: createOncallService({ client, schedules, silences }),
    live: {
      async subscribe(afterSeq, onBatch) {
        // An ordered consumer: ephemeral, flow-controlled, resumes at a stream sequence.
        const consumer = await js.consumers.get(cfg.STREAM_NAME, {
          // nats.js 2.29: an ordered consumer with a one-element filterSubjects array never starts; a string works.
          filterSubjects: `${cfg.SUBJECT_PREFIX}.*`,
          ...(afterSeq !== undefined
            ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 }
            : { deliver_policy: DeliverPolicy.New }),
        });
        const messages = await consumer.consume();
        void (async () => {
          for await (const m of messages) {
            try {
              onBatch(m.seq, decodeBatch(m.data).points);
            } catch {
              /* poison batches are the collector's to dead-letter; the live view skips them */
            }
          }
        })();
        return async () => {
          await messages.close();
        };
      },
      async headSeq() {
        return (await jsm.streams.info(cfg.STREAM_NAME)).state.last_seq;
      },
    },
    readiness: {
      async check() {
        const [influx, temporal] = await Promise.all([
          fetch(`${ep.influxdb.url}/health`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false),
          connection.workflowService.describeNamespace({ namespace: ep.temporal.namespace }).then(() => true, () => false),
        ]);
        return { nats: !nc.isClosed(), influxdb: influx, temporal };
      },
    },
  };
  services.console = createConsoleService({
    influx: ep.influxdb,
    client,
    namespace: ep.temporal.namespace,
    jsm,
    streamName: cfg.STREAM_NAME,
    dlqStreamName: dlqStreamName(cfg),
    partitions: cfg.PARTITIONS_PER_TOPIC,
    alerts: services.alerts,
    query: reader,
    // The stack's own UI when it started one, else the configured one; development falls back to the local port.
    temporalUi: ep.temporal.ui ?? cfg.TEMPORAL_UI_URL ?? (cfg.NODE_ENV === 'production' ? null : `http://localhost:${cfg.TEMPORAL_UI_PORT}`),
  });
  return {
    services,
    async close() {
      await nc.drain().catch(() => {});
      await connection.close().catch(() => {});
    },
  };
}

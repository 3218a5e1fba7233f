/**
 * Issue 3: InfluxDB stops for 20 s in the middle of an ingestion. The
 * collectors retry (visible as pending-activity attempts in Temporal), the
 * backlog waits in JetStream, and after InfluxDB returns the count is exact.
 * The collector workflows keep running: retries, not failure.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeSample } from '../../../lib/sample/generate-sample.ts';
import { startInflux } from '../../../infra/stack/influxdb.ts';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { eventually, runCli, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { readerFor, temporalClient, waitForCount } from '../../support/pipeline.ts';

let s: TestStack;
let worker: ChildHandle | undefined;
const GPUS = 8;
const SAMPLES = 6_000; // 48,000 points

before(async () => {
  // Short retry intervals so the outage shows several attempts.
  s = await startTestStack({ env: { RETRY_INITIAL_MS: '500', RETRY_MAX_MS: '4000', BACKOFF_FACTOR: '2', RETRY_ATTEMPTS: '50' } });
});
after(async () => {
  await worker?.stop();
  await s?.stop();
});

test('InfluxDB down for 20 s mid-ingest: retries and backlog, then an exact count', async () => {
  const file = join(s.dataDir, 'outage.csv');
  await writeSample(file, { gpus: GPUS, samples: SAMPLES, startMs: Date.UTC(2025, 6, 1), seed: 5 });
  worker = startCollectWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');
  const reader = readerFor(s);

  // Publish everything first (JetStream holds it), then pull the plug while the collectors drain it.
  const r = runCli(['ingest', file, '--json', '--no-progress'], s.env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.json!.points, GPUS * SAMPLES);
  await eventually(() => reader.countPoints(), (c) => c >= 2_000, 120_000, 'first points stored', 300);

  const influx = s.stack.servers.find((x) => x.name === 'influxdb')!;
  const comp = s.stack.components.influxdb!;
  await influx.stop();
  const downAt = Date.now();

  const t = await temporalClient(s);
  try {
    // While InfluxDB is down, some collector shows a retrying activity with the write error.
    const retrying = await eventually(
      async () => {
        for (let p = 0; p < s.cfg.PARTITIONS_PER_TOPIC; p++) {
          const d = await t.client.workflow.getHandle(`collector-p${p}`).describe();
          const pending = d.raw.pendingActivities?.[0];
          if (d.status.name === 'RUNNING' && pending && (pending.attempt ?? 0) >= 2) return { p, attempt: pending.attempt, failure: pending.lastFailure?.message ?? '' };
        }
        return undefined;
      },
      (v) => v !== undefined,
      18_000,
      'a collector activity retrying',
      500,
    );
    assert.match(retrying!.failure, /InfluxDB write failed|ECONNREFUSED|connect/i);
    const stuck = await reader.countPoints().catch(() => -1);
    assert.equal(stuck, -1, 'InfluxDB is really down');

    await sleep(Math.max(0, 20_000 - (Date.now() - downAt)));
    const restarted = await startInflux({
      bin: comp.binary as string,
      dataDir: s.dataDir,
      port: s.cfg.INFLUXDB_PORT,
      org: s.cfg.INFLUXDB_ORG,
      bucket: s.cfg.INFLUXDB_BUCKET,
    });
    s.stack.servers.push(restarted);

    assert.equal(await waitForCount(s, GPUS * SAMPLES, 240_000), GPUS * SAMPLES);
    await sleep(3_000);
    assert.equal(await reader.countPoints(), GPUS * SAMPLES, 'no late duplicates');

    // The workflows never failed; at least one recorded retried activity attempts in its history.
    for (let p = 0; p < s.cfg.PARTITIONS_PER_TOPIC; p++) {
      const d = await t.client.workflow.getHandle(`collector-p${p}`).describe();
      assert.equal(d.status.name, 'RUNNING', `collector-p${p} still running`);
    }
  } finally {
    await t.close();
  }
});

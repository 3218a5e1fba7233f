/**
 * Issue 7, at fleet size on the real servers: 20,000 GPUs × 3 samples on the
 * default 4 partitions with the health model and the example rules on →
 * exactly 60,000 points, nothing dead-lettered, and the collector state
 * bounded per device (no value grows with the fleet).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { writeSample } from '../../../lib/sample/generate-sample.ts';
import { dlqStreamName, STATE_BUCKET } from '../../../lib/stream/jetstream.ts';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { runCliAsync, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { waitForCount } from '../../support/pipeline.ts';

let s: TestStack;
let worker: ChildHandle | undefined;
let nc: NatsConnection;
const GPUS = 20_000;
const SAMPLES = 3;

before(async () => {
  s = await startTestStack({});
  nc = await connect({ servers: s.env.NATS_URL! });
});
after(async () => {
  await nc?.close();
  await worker?.stop();
  await s?.stop();
});

test(`${GPUS.toLocaleString('en')} GPUs × ${SAMPLES} samples, health and rules on: exact count, empty DLQ, bounded state`, async () => {
  assert.equal(s.cfg.PARTITIONS_PER_TOPIC, 4, 'the default partition count');
  assert.equal(s.cfg.HEALTH_BACKEND, 'onnx', 'the health model is on');
  const file = join(s.dataDir, 'fleet.csv');
  // Historical start so the dead-man rule is not armed (backfill), while every other rule runs.
  await writeSample(file, { gpus: GPUS, samples: SAMPLES, startMs: Date.UTC(2026, 0, 1), seed: 11 });
  worker = startCollectWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');

  const r = await runCliAsync(['ingest', file, '--json', '--no-progress'], s.env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.json!.points, GPUS * SAMPLES);
  assert.equal(r.json!.rejected, 0);

  assert.equal(await waitForCount(s, GPUS * SAMPLES, 600_000), GPUS * SAMPLES);
  const jsm = await nc.jetstreamManager();
  assert.equal((await jsm.streams.info(dlqStreamName(s.cfg))).state.messages, 0, 'nothing dead-lettered');

  // State: one small record per device plus one per partition, nothing per partition that grows with the fleet.
  const kv = await nc.jetstream().views.kv(STATE_BUCKET);
  let devices = 0;
  let parts = 0;
  let maxDevice = 0;
  let maxPart = 0;
  let total = 0;
  let initialized = false;
  const ref: { iter?: { stop(): void } } = {};
  const w = await kv.watch({ initializedFn: () => ((initialized = true), ref.iter?.stop()) });
  ref.iter = w;
  if (initialized) w.stop();
  for await (const e of w) {
    if (e.operation !== 'PUT') continue;
    total += e.length;
    if (e.key.startsWith('d.')) {
      devices++;
      maxDevice = Math.max(maxDevice, e.length);
    } else if (e.key.startsWith('m.')) {
      parts++;
      maxPart = Math.max(maxPart, e.length);
    } else assert.fail(`unexpected state key ${e.key}`);
  }
  console.log(`state: ${devices} device records, largest ${maxDevice} B, mean ${Math.round((total - maxPart * parts) / devices)} B; ${parts} partition records, largest ${maxPart} B`);
  assert.equal(devices, GPUS, 'one record per device');
  assert.ok(parts <= s.cfg.PARTITIONS_PER_TOPIC);
  assert.ok(maxDevice <= 2_048, `largest device record ${maxDevice} B`);
  assert.ok(maxPart <= 4_096, `largest partition record ${maxPart} B (independent of the fleet)`);
});

/**
 * Issue 3: SIGKILL the collect worker in the middle of a 200k-point ingestion,
 * start a new one, and the store ends with exactly 200k points: unacked
 * batches are redelivered, rewrites overwrite, nothing is lost or doubled.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { writeSample } from '../../../lib/sample/generate-sample.ts';
import { startTestStack, filteredProcessEnv, type TestStack } from '../../support/test-stack.ts';
import { REPO, eventually, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { readerFor, waitForCount } from '../../support/pipeline.ts';

let s: TestStack;
let worker: ChildHandle | undefined;
const GPUS = 8;
const SAMPLES = 25_000; // 200,000 points

before(async () => {
  s = await startTestStack({ env: { HEALTH_BACKEND: 'onnx' } });
});
after(async () => {
  await worker?.stop();
  await s?.stop();
});

test('SIGKILL of the collect worker mid-ingest: exact count after restart, no duplicates', async () => {
  const file = join(s.dataDir, 'big.csv');
  await writeSample(file, { gpus: GPUS, samples: SAMPLES, startMs: Date.UTC(2025, 5, 1), seed: 11 });
  worker = startCollectWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');

  const ingest = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli/main.ts'), 'ingest', file, '--json', '--no-progress'], {
    cwd: REPO,
    env: { ...filteredProcessEnv(), ...s.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  ingest.stdout.on('data', (d) => (out += d));
  const ingestDone = new Promise<number>((r) => ingest.on('exit', (code) => r(code ?? -1)));

  const reader = readerFor(s);
  const atKill = await eventually(() => reader.countPoints(), (c) => c >= 20_000, 180_000, 'first 20k points stored', 500);
  await worker.kill();
  const afterKill = await reader.countPoints();
  assert.ok(afterKill < GPUS * SAMPLES, `the kill happened mid-ingest (${afterKill} stored)`);

  worker = startCollectWorker(s.env);
  assert.equal(await ingestDone, 0, 'ingestion completed');
  const summary = JSON.parse(out.trim().split('\n').pop()!);
  assert.equal(summary.points, GPUS * SAMPLES);

  const final = await waitForCount(s, GPUS * SAMPLES, 300_000);
  // Settle: late redeliveries must not add points.
  await new Promise((r) => setTimeout(r, 5_000));
  assert.equal(await reader.countPoints(), GPUS * SAMPLES);
  assert.equal(final, GPUS * SAMPLES);
  assert.ok(atKill >= 20_000);
  // Per device, too: each GPU has exactly SAMPLES points.
  const devices = await reader.devices();
  assert.equal(devices.length, GPUS);
  for (const d of devices.slice(0, 2)) assert.equal(await reader.countPoints({ device: d.device }), SAMPLES);
});

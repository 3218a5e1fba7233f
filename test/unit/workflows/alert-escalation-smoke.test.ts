import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createFakeAlertActivities, testAlert, threeLevelPolicy } from '/work/main/test/unit/alerts/escalation-fakes.ts';
import { stateQuery, resolveSignal } from '/work/main/workflows/alert-messages.ts';

test('smoke', async () => {
  const t0 = Date.now();
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: `${homedir()}/.cache/telemetry-stack/venv/bin/temporal-test-server` } } });
  console.log('env', Date.now() - t0);
  const bundle = await bundleWorkflowCode({ workflowsPath: '/work/main/workflows/alert-escalation.ts' });
  console.log('bundle', Date.now() - t0);
  const fakes = createFakeAlertActivities();
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: 'tq', workflowBundle: bundle, activities: fakes.activities });
  await worker.runUntil(async () => {
    const h = await env.client.workflow.start('alertEscalation', { workflowId: 'a1', taskQueue: 'tq', args: [{ alert: testAlert(), policy: threeLevelPolicy }] });
    await env.sleep('16m');
    console.log(await h.query(stateQuery));
    await h.signal(resolveSignal, { by: 'me', reason: 'done' });
    console.log((await h.result()).history);
  });
  console.log(fakes.calls.map((c) => `${c.name}@${c.atMs}`));
  await env.teardown();
});

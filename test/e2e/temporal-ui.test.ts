/**
 * Readable in the Temporal UI, checked in a real browser: a Temporal dev
 * server WITH its Web UI, a worker running the real workflows, and headless
 * Chromium (Debian package, playwright-core). The collector page shows
 * "p3: 1.2 M points, lag 0, last batch … ago" and the alert page shows
 * device, rule, severity, level, who was paged (on-call schedule) and who
 * acknowledged. Screenshots go to TEST_OUTPUT_DIR (default .data/test-output,
 * git-ignored).
 *
 * The collect activity is a recording stand-in returning counts (the UI
 * check is about what the workflows publish, not about InfluxDB); the
 * on-call activity is the real one over a schedule file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Browser } from 'playwright-core';
import { resolveTemporalBin, startTemporal, type TemporalServer } from '../../infra/stack/temporal.ts';
import { freePort } from '../../infra/stack/process.ts';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../../lib/temporal-names.ts';
import { loadConfig } from '../../lib/config.ts';
import { createLogger } from '../../lib/logger.ts';
import { ScheduleStore } from '../../lib/oncall/schedule-store.ts';
import { createOncallActivities } from '../../activities/oncall/oncall-activities.ts';
import { createAlertSignaller } from '../../activities/alerts/signal-alert.ts';
import { startCollectors } from '../../workers/start-collectors.ts';
import { acknowledgeUpdate } from '../../workflows/alert-messages.ts';
import { alertWorkflowId } from '../../lib/alerts/ids.ts';
import type { CollectPartitionResult } from '../../activities/collect/collect-activities.ts';
import type { EscalationPolicy } from '../../lib/alerts/policy.ts';
import { createPageRecorder } from '../support/oncall-fakes.ts';
import { launchChromium } from '../support/chromium.ts';
import { REPO } from '../support/processes.ts';

const NAMESPACE = 'telemetry';
const OUT = resolve(process.env.TEST_OUTPUT_DIR ?? join(REPO, '.data/test-output'));

let dir: string;
let temporal: TemporalServer;
let client: Client;
let clientConnection: Connection;
let workerConnection: NativeConnection;
let worker: Worker;
let collectWorker: Worker;
let running: Promise<void>;
let browser: Browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'temporal-ui-'));
  mkdirSync(OUT, { recursive: true });
  const bin = await resolveTemporalBin({ cache: join(process.env.HOME ?? '/root', '.cache/telemetry-stack'), install: true });
  temporal = await startTemporal({
    bin: bin.path,
    dataDir: join(dir, 'temporal'),
    port: await freePort(),
    uiPort: await freePort(),
    namespace: NAMESPACE,
    searchAttributes: [...SEARCH_ATTRIBUTES],
    headless: false,
  });
  clientConnection = await Connection.connect({ address: temporal.address });
  client = new Client({ connection: clientConnection, namespace: NAMESPACE });

  const scheduleFile = join(dir, 'schedules.json');
  writeFileSync(
    scheduleFile,
    JSON.stringify({
      people: { alice: { name: 'Alice', contacts: { slack: 'U0ALICE01' } } },
      schedules: { 'gpu-primary': { timeZone: 'UTC', layers: [{ name: 'weekly', rotation: { members: ['alice'], start: '2026-01-05T09:00', shift: '1w' } }] } },
    }),
  );
  const pages = createPageRecorder();
  const points = new Map<number, number>();
  workerConnection = await NativeConnection.connect({ address: temporal.address });
  const bundleOpts = { workflowsPath: join(REPO, 'workflows/index.ts') };
  const activities = {
    ...pages.activities,
    ...createOncallActivities({ schedules: new ScheduleStore(scheduleFile), logger: createLogger('silent') }),
    async collectPartition(input: { partition: number; maxMs: number }): Promise<CollectPartitionResult> {
      await new Promise((r) => setTimeout(r, 500));
      // Six busy iterations (1.2 M points), then idle: the details must stay "1.2 M".
      const before = points.get(input.partition) ?? 0;
      const add = before < 1_200_000 ? 200_000 : 0;
      points.set(input.partition, before + add);
      return {
        batches: add ? 100 : 0,
        points: add,
        healthPoints: 0, dlq: 0, dlqPoints: 0, alertsFired: 0, alertsRecovered: 0, lag: 0, writeMs: 0,
        timings: { fetchMs: 0, scoreMs: 0, writeMs: 0, rulesMs: 0, flushMs: 0 },
        idle: add === 0,
        stateDevices: 4,
      };
    },
  };
  // Both queues on one worker set: the collector on `telemetry-collect`, alerts on `telemetry-alerts`.
  collectWorker = await Worker.create({ connection: workerConnection, namespace: NAMESPACE, taskQueue: TASK_QUEUES.collect, ...bundleOpts, activities });
  worker = await Worker.create({ connection: workerConnection, namespace: NAMESPACE, taskQueue: TASK_QUEUES.alerts, ...bundleOpts, activities });
  running = Promise.all([worker.run(), collectWorker.run()]).then(() => {});
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  worker?.shutdown();
  collectWorker?.shutdown();
  await running;
  await workerConnection?.close();
  await clientConnection?.close();
  await temporal?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function openWorkflow(workflowId: string, file: string, expect: RegExp[]): Promise<string> {
  const { runId } = await client.workflow.getHandle(workflowId).describe();
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  try {
    const deadline = Date.now() + 60_000;
    let text = '';
    for (;;) {
      await page.goto(`${temporal.ui}/namespaces/${NAMESPACE}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`);
      // Summary, details and current details live on the "User Metadata" tab (read by a query when it opens).
      await page.getByRole('link', { name: 'User Metadata' }).or(page.getByText('User Metadata', { exact: true })).first().click({ timeout: 20_000 });
      await page.waitForLoadState('networkidle').catch(() => {});
      await page.waitForTimeout(2_000);
      // Summary and details are rendered from markdown inside sandboxed iframes: read every frame.
      const parts = await Promise.all(page.frames().map((f) => f.locator('body').innerText({ timeout: 2_000 }).catch(() => '')));
      text = parts.join('\n');
      if (expect.every((re) => re.test(text))) break;
      if (Date.now() > deadline) {
        await page.screenshot({ path: join(OUT, `failed-${file}`), fullPage: true });
        writeFileSync(join(OUT, `failed-${file}.txt`), text);
        throw new Error(`the UI never showed ${expect.filter((re) => !re.test(text)).join(', ')}; page text: ${text.slice(0, 1500)}`);
      }
    }
    await page.screenshot({ path: join(OUT, file), fullPage: true });
    return text;
  } finally {
    await page.close();
  }
}

describe('Temporal UI (Chromium)', () => {
  test('collector and alert pages carry human summaries and current details', async () => {
    const cfg = loadConfig({ PARTITIONS_PER_TOPIC: '4', NODE_ENV: 'test' });
    await startCollectors(client, cfg);
    await openWorkflow('collector-p3', 'temporal-ui-collector.png', [/Collector for partition 3/, /p3: 1\.2 M points, lag 0, last batch \d+ s ago/]);

    const policy: EscalationPolicy = {
      levels: [{ name: 'gpu-oncall', targets: [{ channel: 'slack', target: { schedule: 'gpu-primary' } }], waitFor: '30m' }],
      repeat: 0,
      autoResolveAfter: '10m',
      snoozeMax: '1h',
    };
    const signaller = createAlertSignaller({ client, taskQueue: TASK_QUEUES.alerts, policyFor: () => policy });
    const alert = { alertId: '', device: 'GPU-7f3a', rule: 'gpu-temp-critical', severity: 'critical' as const, summary: 'temperature_c 97 > 90 for 30s', host: 'node-7', model: 'NVIDIA H100', values: { temperature_c: 97 }, firedAt: new Date().toISOString() };
    await signaller.fire(alert);
    const id = alertWorkflowId(alert.device, alert.rule);
    await client.workflow.getHandle(id).executeUpdate(acknowledgeUpdate, { args: [{ by: 'bob', via: 'api' }] });
    const text = await openWorkflow(id, 'temporal-ui-alert.png', [
      /critical · GPU-7f3a · gpu-temp-critical/, // start-time summary
      /GPU-7f3a.*gpu-temp-critical.*critical.*acknowledged.*level 0 \(gpu-oncall\)/s, // current details
      /paged: alice \(gpu-primary\)/,
      /to: slack:U0ALICE01/,
      /acknowledged by bob via api/,
    ]);
    assert.match(text, /temperature_c 97 > 90 for 30s/, 'start-time details');
    console.log(`screenshots: ${join(OUT, 'temporal-ui-collector.png')}, ${join(OUT, 'temporal-ui-alert.png')}`);
  });
});

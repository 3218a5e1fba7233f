/**
 * Schedules at page time, on Temporal's time-skipping test server with the
 * REAL on-call activity over a schedule file in a temp dir: each level is
 * paged to whoever the schedule names at that (skipped) instant — rotation
 * first, then an override — and editing the file between two pages changes
 * the next page without restarting the worker. The workflow's "current
 * details" (Temporal UI) name who was paged.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { alertEscalation } from '../../../workflows/alert-escalation.ts';
import { ALERT_SEARCH_ATTRIBUTES, stateQuery } from '../../../workflows/alert-messages.ts';
import type { EscalationPolicy } from '../../../lib/alerts/policy.ts';
import { ScheduleStore } from '../../../lib/oncall/schedule-store.ts';
import { createOncallActivities } from '../../../activities/oncall/oncall-activities.ts';
import { createLogger } from '../../../lib/logger.ts';
import { createPageRecorder } from '../../support/oncall-fakes.ts';
import { testAlert } from '../alerts/escalation-fakes.ts';

const TEST_SERVER = join(process.env.TELEMETRY_CACHE_DIR ?? join(homedir(), '.cache/telemetry-stack'), 'venv/bin/temporal-test-server');
const WORKFLOW_FILE = fileURLToPath(new URL('../../../workflows/alert-escalation.ts', import.meta.url));
const TASK_QUEUE = 'alert-oncall-unit';
const MIN = 60_000;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let dir: string;
let scheduleFile: string;
const pages = createPageRecorder();

/** Local (UTC) date-time for the file: "YYYY-MM-DDTHH:MM". */
const local = (ms: number) => new Date(ms).toISOString().slice(0, 16);

function writeSchedules(t0: number, overrides: { person: string; from: number; to: number; reason: string }[], stampS: number): void {
  const person = (name: string, slack: string) => ({ name, contacts: { slack } });
  writeFileSync(
    scheduleFile,
    JSON.stringify({
      people: { alice: person('Alice', 'U0ALICE01'), bob: person('Bob', 'U0BOB0001'), carol: person('Carol', 'U0CAROL01'), dave: person('Dave', 'U0DAVE001') },
      schedules: {
        gpu: {
          timeZone: 'UTC',
          layers: [{ name: 'hourly', rotation: { members: ['alice', 'bob'], start: local(t0), shift: '1h' } }],
          overrides: overrides.map((o) => ({ person: o.person, from: new Date(o.from).toISOString(), to: new Date(o.to).toISOString(), reason: o.reason })),
        },
      },
    }),
  );
  utimesSync(scheduleFile, stampS, stampS); // a distinct mtime even within one clock tick
}

async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'alert-oncall-'));
  scheduleFile = join(dir, 'schedules.json');
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(ALERT_SEARCH_ATTRIBUTES.map((a) => [a.name, a.type === 'Int' ? 3 : 2])),
  });
  const logger = createLogger('silent');
  const schedules = new ScheduleStore(scheduleFile, { logger });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: WORKFLOW_FILE, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never }),
    activities: { ...pages.activities, ...createOncallActivities({ schedules, logger }) },
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

describe('alertEscalation × on-call schedules (time-skipping)', () => {
  test('rotation, then override, then an edited schedule: each page reaches whoever is on call when the level fires', async () => {
    // Rotation alice [t0, t0+1h), bob [t0+1h, t0+2h); override carol [t0+30m, t0+50m).
    const t0 = Math.floor(Date.now() / MIN) * MIN - MIN;
    const carol = { person: 'carol', from: t0 + 30 * MIN, to: t0 + 50 * MIN, reason: 'swap' };
    writeSchedules(t0, [carol], 1_000);
    const level = (name: string) => ({ name, targets: [{ channel: 'slack', target: { schedule: 'gpu' } }], waitFor: '35m' });
    const policy: EscalationPolicy = { levels: [level('first'), level('second'), level('third')], repeat: 0, autoResolveAfter: '10m', snoozeMax: '1h' };
    const id = 'alert-oncall-1';
    const handle = await env.client.workflow.start<typeof alertEscalation>('alertEscalation', {
      workflowId: id,
      taskQueue: TASK_QUEUE,
      args: [{ alert: { ...testAlert('GPU-oncall-1'), alertId: id }, policy }],
    });
    await eventually('first page', () => pages.pages(id).length === 1);
    assert.deepEqual(pages.pages(id)[0]!.targets, ['U0ALICE01'], 'level 0 at ~t0+1m: the rotation says alice');

    await env.sleep(36 * MIN); // level 1 fires at ~t0+36m: carol's override
    await eventually('second page', () => pages.pages(id).length === 2);
    assert.deepEqual(pages.pages(id)[1]!.targets, ['U0CAROL01']);
    const s1 = await handle.query(stateQuery);
    assert.deepEqual(s1.oncall?.people, [{ schedule: 'gpu', person: 'carol', source: 'override' }]);
    // The Temporal UI's current details say who was paged.
    const meta = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
    assert.match(meta.currentDetails ?? '', /GPU-oncall-1.*level 1 \(second\)/);
    assert.match(meta.currentDetails ?? '', /paged: carol \(gpu\)/);

    // Unedited, level 2 (~t0+71m) would page bob. Edit the file: dave covers t0+60m…t0+2h. No restart.
    writeSchedules(t0, [carol, { person: 'dave', from: t0 + 60 * MIN, to: t0 + 120 * MIN, reason: 'bob is travelling' }], 2_000);
    await env.sleep(35 * MIN);
    await eventually('third page', () => pages.pages(id).length === 3);
    assert.deepEqual(pages.pages(id)[2]!.targets, ['U0DAVE001'], 'the edit changed the next page');
    const third = pages.pages(id)[2]!;
    assert.ok(third.atMs - t0 >= 70 * MIN && third.atMs - t0 < 73 * MIN, `third page at t0+${(third.atMs - t0) / MIN} min`);
    const s2 = await handle.query(stateQuery);
    assert.ok(s2.history.some((h) => h.event === 'on call at level 2: gpu → dave'), JSON.stringify(s2.history.map((h) => h.event)));
    await handle.terminate('test done');
  });

  test('a level whose schedule names nobody still pages its fixed targets, and says why', async () => {
    const t0 = Date.now() + 24 * 60 * MIN; // the rotation starts tomorrow: nobody on call now
    writeSchedules(t0, [], 3_000);
    const policy: EscalationPolicy = {
      levels: [{ name: 'first', targets: [{ channel: 'slack', target: 'C0FALLBACK' }, { channel: 'slack', target: { schedule: 'gpu' } }], waitFor: '5m' }],
      repeat: 0,
      autoResolveAfter: '10m',
      snoozeMax: '1h',
    };
    const id = 'alert-oncall-2';
    const handle = await env.client.workflow.start<typeof alertEscalation>('alertEscalation', {
      workflowId: id,
      taskQueue: TASK_QUEUE,
      args: [{ alert: { ...testAlert('GPU-oncall-2'), alertId: id }, policy }],
    });
    await eventually('first page', () => pages.pages(id).length === 1);
    assert.deepEqual(pages.pages(id)[0]!.targets, ['C0FALLBACK']);
    const s = await handle.query(stateQuery);
    assert.ok(s.history.some((h) => /schedule gpu on slack paged nobody: nobody is on call for "gpu"/.test(h.event)));
    await handle.terminate('test done');
  });
});

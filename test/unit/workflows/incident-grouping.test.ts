/**
 * One incident per episode and shadow mode (issue 10), end to end below the
 * collector: a thermal runaway built on the real 202-column capture →
 * parser → ONNX health scorer → the example rule file's rules (plus a
 * shadow rule) → the signaller → alertEscalation on Temporal's
 * time-skipping test server with recording fake activities.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { alertEscalation } from '../../../workflows/alert-escalation.ts';
import { stateQuery, ALERT_SEARCH_ATTRIBUTES } from '../../../workflows/alert-messages.ts';
import { createAlertSignaller } from '../../../activities/alerts/signal-alert.ts';
import { alertWorkflowId } from '../../../lib/alerts/ids.ts';
import { applyRuleFiring, incidentWorkflowId, MAX_INCIDENT_FIRINGS, parseGroupBy, GroupKeyError } from '../../../lib/alerts/incident.ts';
import { createRuleEngine, parseAlertRules, type RuleEvent } from '../../../lib/alerts/rules.ts';
import { parseText } from '../../../lib/parse/index.ts';
import { createOnnxScorer } from '../../../activities/health/onnx-scorer.ts';
import { realTraceCsv } from '../../../ml/real-traces.ts';
import { createFakeAlertActivities, testAlert, threeLevelPolicy } from '../alerts/escalation-fakes.ts';
import { createShadowLog, shadowRecordOf, SHADOW_LOG_MAX } from '../../../activities/alerts/shadow-log.ts';
import { ConfigError, loadConfig } from '../../../lib/config.ts';

const TEST_SERVER = join(process.env.TELEMETRY_CACHE_DIR ?? join(homedir(), '.cache/telemetry-stack'), 'venv/bin/temporal-test-server');
const WORKFLOW_FILE = fileURLToPath(new URL('../../../workflows/alert-escalation.ts', import.meta.url));
const TASK_QUEUE = 'incident-grouping-unit';
const UUID = 'GPU-7e000000-h100-4a1b-9c2d-000000000007';
const SHADOW_RULE = 'gpu-temp-high-v2-shadow';

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const fakes = createFakeAlertActivities();

async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(ALERT_SEARCH_ATTRIBUTES.map((a) => [a.name, a.type === 'Int' ? 3 : 2])),
  });
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOW_FILE, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never });
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle: bundle, activities: fakes.activities });
  running = worker.run();
});
after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

/** H100 at load; from row 60 extra heat of 0.25 °C/s, fans absent, slowdown at 97 °C; SW then HW thermal slowdown past 93 / 95 °C; cools from row 300. */
function runawayTrace(): string {
  return realTraceCsv({
    board: 'h100',
    rows: 420,
    uuid: UUID,
    row: (i) => {
      const heat = i < 60 ? 0 : i < 300 ? Math.min((i - 60) * 0.25, 38) : Math.max(38 - (i - 300) * 0.8, 0);
      const temp = Math.round(58 + heat);
      const sw = temp >= 93;
      const hw = temp >= 95;
      const mask = (sw ? 0x20 : 0) | (hw ? 0x40 : 0);
      return {
        'temperature.gpu': String(temp),
        'temperature.gpu.tlimit': String(97 - temp),
        'power.draw': '610.00 W',
        'power.draw.instant': '610.00 W',
        'utilization.gpu': '99 %',
        'utilization.memory': '45 %',
        'memory.used': '60000 MiB',
        'memory.free': '21151 MiB',
        'clocks.current.sm': hw ? '1100 MHz' : '1755 MHz',
        'clocks.current.graphics': hw ? '1100 MHz' : '1755 MHz',
        pstate: 'P0',
        'clocks_event_reasons.active': `0x${mask.toString(16).padStart(16, '0')}`,
        'clocks_event_reasons.sw_thermal_slowdown': sw ? 'Active' : 'Not Active',
        'clocks_event_reasons.hw_thermal_slowdown': hw ? 'Active' : 'Not Active',
        'clocks_event_reasons.sw_power_cap': 'Not Active',
      };
    },
  });
}

describe('one incident per episode (issue 10)', () => {
  test('a thermal runaway opens ONE incident with its rule firings inside; the shadow rule is recorded and pages nobody', async () => {
    const exampleRules = JSON.parse(readFileSync(new URL('../../../infra/config/alert-rules.example.json', import.meta.url), 'utf8'));
    exampleRules.rules.push({ name: SHADOW_RULE, kind: 'threshold', severity: 'critical', field: 'temperature_c', op: '>', value: 80, for: '5s', mode: 'shadow' });
    const engine = createRuleEngine(parseAlertRules(exampleRules));
    const { points } = parseText(runawayTrace(), { fileName: 'runaway.csv' });
    const scorer = await createOnnxScorer();
    const events: RuleEvent[] = [];
    try {
      let baselines = {};
      const state = engine.initialState();
      for (let i = 0; i < points.length; i += 60) {
        const batch = points.slice(i, i + 60);
        const scored = await scorer.score(batch, baselines);
        baselines = scored.baselines;
        const clockMs = Number(BigInt(batch[batch.length - 1]!.ts) / 1_000_000n);
        const out = engine.apply(state, batch.map((point, k) => ({ point, health: scored.results[k]!, arrivedMs: clockMs })), clockMs);
        events.push(...out.events);
      }
    } finally {
      await scorer.close();
    }
    const fired = new Set(events.filter((e) => e.type === 'firing').map((e) => e.alert.rule));
    // The five rules of the episode all fired (group `gpu` in the example file), and the shadow one.
    for (const r of ['gpu-temp-rising', 'gpu-temp-high', 'gpu-temp-critical', 'gpu-thermal-slowdown', 'gpu-health-critical', SHADOW_RULE]) {
      assert.ok(fired.has(r), `${r} fired (fired: ${[...fired].join(', ')})`);
    }

    const signaller = createAlertSignaller({ client: env.client, taskQueue: TASK_QUEUE, policyFor: () => threeLevelPolicy });
    for (const e of events) {
      if (e.type === 'firing') await signaller.fire(e.alert);
      else await signaller.recovered(e.alert, e.alert.firedAt);
    }
    const incidentId = incidentWorkflowId({ device: UUID, rule: 'gpu-temp-high', group: 'gpu' });
    assert.equal(incidentId, `alert-${UUID}-@gpu`);
    await eventually('incident posted', () => fakes.of(incidentId, 'notifyPost').length === 1);
    const handle = env.client.workflow.getHandle<typeof alertEscalation>(incidentId);
    await eventually('all firings recorded', async () => {
      const s = await handle.query(stateQuery);
      return (s.firings ?? []).length === 5 && s.status === 'recovered';
    });
    const s = await handle.query(stateQuery);
    assert.deepEqual(
      s.firings!.map((f) => f.rule).sort(),
      ['gpu-health-critical', 'gpu-temp-critical', 'gpu-temp-high', 'gpu-temp-rising', 'gpu-thermal-slowdown'],
    );
    assert.ok(s.firings!.every((f) => !f.active), 'every rule recovered when the GPU cooled');
    // One notification thread: one post, one chain record for the whole episode.
    assert.equal(fakes.of(incidentId, 'notifyPost').length, 1);
    assert.equal(fakes.of(incidentId, 'recordAlertOnChain').length, 1);
    // The page carries its evidence.
    assert.ok(s.alert.triage, 'triage card on the incident');
    assert.ok(s.alert.triage!.decidedBy[0]!.startsWith('rule '));
    // No per-rule workflows, and none for the shadow rule.
    for (const rule of ['gpu-temp-high', 'gpu-temp-critical', SHADOW_RULE]) {
      await assert.rejects(env.client.workflow.getHandle(alertWorkflowId(UUID, rule)).describe(), WorkflowNotFoundError);
    }
    const shadow = signaller.shadow.recent().filter((r) => r.rule === SHADOW_RULE);
    assert.deepEqual(shadow.map((r) => r.type), ['firing', 'recovered']);
    assert.equal(fakes.calls.filter((c) => c.workflowId.includes(SHADOW_RULE)).length, 0, 'nobody paged for the shadow rule');
  });
});

describe('incident keys and firings (pure)', () => {
  test('the default key keeps ungrouped rules on their own ids; host grouping folds devices', () => {
    assert.equal(incidentWorkflowId({ device: 'GPU-1', rule: 'gpu-xid' }), alertWorkflowId('GPU-1', 'gpu-xid'));
    assert.equal(incidentWorkflowId({ device: 'GPU-1', rule: 'r', group: 'gpu' }), 'alert-GPU-1-@gpu');
    const byHost = parseGroupBy('host,group');
    assert.equal(incidentWorkflowId({ device: 'GPU-1', rule: 'r', host: 'n7', group: 'gpu' }, byHost), incidentWorkflowId({ device: 'GPU-2', rule: 'q', host: 'n7', group: 'gpu' }, byHost));
  });

  test(`the shadow log keeps the newest ${SHADOW_LOG_MAX} records`, () => {
    const log = createShadowLog();
    for (let i = 0; i < SHADOW_LOG_MAX + 5; i++) log.record(shadowRecordOf('firing', testAlert(`GPU-${i}`, 'shadow-r'), 't'));
    assert.equal(log.recent().length, SHADOW_LOG_MAX);
    assert.equal(log.recent()[0]!.device, 'GPU-5');
  });

  test('ALERT_GROUP_BY: default device,group; a bad value names the variable', () => {
    assert.deepEqual(parseGroupBy(loadConfig({}).ALERT_GROUP_BY), ['device', 'group']);
    assert.throws(() => loadConfig({ ALERT_GROUP_BY: 'device,rack' }), (e: unknown) => e instanceof ConfigError && e.message.includes('ALERT_GROUP_BY'));
  });

  test('bad grouping keys are rejected by name', () => {
    assert.throws(() => parseGroupBy('device,rack'), (e: unknown) => e instanceof GroupKeyError && /"rack"/.test(e.message));
    assert.throws(() => parseGroupBy('device,device'), GroupKeyError);
    assert.throws(() => parseGroupBy(' '), GroupKeyError);
  });

  test(`firings are bounded at ${MAX_INCIDENT_FIRINGS} rules; the incident recovers when the last rule does`, () => {
    let firings = applyRuleFiring([], { type: 'firing', rule: 'r0', severity: 'warning', summary: 's', at: 't0', values: {} }).firings;
    firings = applyRuleFiring(firings, { type: 'recovered', rule: 'r0', severity: 'warning', summary: 's', at: 't1', values: {} }).firings;
    for (let i = 1; i <= MAX_INCIDENT_FIRINGS; i++) firings = applyRuleFiring(firings, { type: 'firing', rule: `r${i}`, severity: 'critical', summary: 's', at: 't', values: {} }).firings;
    assert.equal(firings.length, MAX_INCIDENT_FIRINGS);
    assert.equal(firings.some((f) => f.rule === 'r0'), false, 'the inactive one went first');
    let r = { firings, allRecovered: false };
    for (let i = 1; i <= MAX_INCIDENT_FIRINGS; i++) {
      r = applyRuleFiring(r.firings, { type: 'recovered', rule: `r${i}`, severity: 'critical', summary: 's', at: 't', values: {} });
      assert.equal(r.allRecovered, i === MAX_INCIDENT_FIRINGS);
    }
  });
});

/**
 * The pipeline watches itself: the real collect and alerts workers as child
 * processes over a per-file stack. Stop the collect worker → the alerts
 * worker's heartbeat raises `pipeline/heartbeat-collector-stopped` within the
 * configured time (HEARTBEAT_STALL_S + one interval); start it again → the
 * alert recovers and resolves. The alert uses the policy file's `pipeline`
 * policy (another channel than the failing path).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { alertWorkflowId } from '../../lib/alerts/ids.ts';
import { loadConfig } from '../../lib/config.ts';
import { stateQuery, type AlertStateView } from '../../workflows/alert-messages.ts';
import { PIPELINE_HEARTBEAT_ID } from '../../workflows/pipeline-heartbeat.ts';
import { HEARTBEAT_RULES } from '../../activities/heartbeat/heartbeat-activities.ts';
import { startTestStack, filteredProcessEnv, type TestStack } from '../support/test-stack.ts';
import { eventually, startAlertsWorker, startCollectWorker, waitForPoller, type ChildHandle } from '../support/processes.ts';
import { temporalClient } from '../support/pipeline.ts';

const STALL_S = 20;
const INTERVAL_S = 2;

let s: TestStack;
let env: Record<string, string>;
let collect: ChildHandle | undefined;
let alerts: ChildHandle | undefined;
let t: { client: Client; close(): Promise<void> };

async function alertState(client: Client, id: string): Promise<AlertStateView | undefined> {
  try {
    return await client.workflow.getHandle(id).query(stateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

before(async () => {
  s = await startTestStack({ env: { PARTITIONS_PER_TOPIC: '2' } });
  const policyFile = join(s.dataDir, 'escalation-policy.json');
  const level = (name: string, channel: string) => ({ name, channel, waitFor: '5m' });
  writeFileSync(
    policyFile,
    JSON.stringify({
      default: { levels: [level('gpu-oncall', 'C0GPUALERT')], autoResolveAfter: '10m' },
      pipeline: { levels: [level('pipeline-oncall', 'C0PIPELINE')], autoResolveAfter: '2s' },
    }),
  );
  env = {
    ...s.env,
    ESCALATION_POLICY_FILE: policyFile,
    HEARTBEAT_INTERVAL_S: String(INTERVAL_S),
    HEARTBEAT_STALL_S: String(STALL_S),
  };
  collect = startCollectWorker(env);
  alerts = startAlertsWorker(env);
  const cfg = loadConfig({ ...filteredProcessEnv(), ...env });
  await Promise.all([
    waitForPoller(env.TEMPORAL_ADDRESS!, cfg.TEMPORAL_NAMESPACE, 'telemetry-collect'),
    waitForPoller(env.TEMPORAL_ADDRESS!, cfg.TEMPORAL_NAMESPACE, 'telemetry-alerts'),
  ]);
  t = await temporalClient(s);
});

after(async () => {
  await t?.close().catch(() => {});
  await Promise.all([collect?.stop(), alerts?.stop()]);
  await s?.stop();
});

describe('pipeline heartbeat', () => {
  test('stop the collect worker → heartbeat alert within the configured time; start it → resolved', async () => {
    const hb = t.client.workflow.getHandle(PIPELINE_HEARTBEAT_ID);
    // Healthy first: the heartbeat runs and reports OK in its current details (Temporal UI).
    await eventually(
      async () => ((await hb.query('__temporal_workflow_metadata').catch(() => undefined)) as { currentDetails?: string } | undefined)?.currentDetails ?? '',
      (d) => d.startsWith('**pipeline OK**'),
      60_000,
      'heartbeat reports OK',
      500,
    );
    const id = alertWorkflowId('pipeline', HEARTBEAT_RULES.stopped);
    assert.equal(await alertState(t.client, id), undefined, 'no alert while collection runs');

    const stoppedAt = Date.now();
    await collect!.stop();
    const raised = await eventually(() => alertState(t.client, id), (v) => v !== undefined, (STALL_S + 4 * INTERVAL_S + 30) * 1_000, 'heartbeat alert', 500);
    const detectS = (Date.now() - stoppedAt) / 1_000;
    console.log(`heartbeat alert ${detectS.toFixed(1)} s after the collect worker stopped (HEARTBEAT_STALL_S=${STALL_S}, interval ${INTERVAL_S} s)`);
    // Raised no earlier than the stall bound allows (the last poll may be up to one long poll before the stop) …
    assert.ok(detectS <= STALL_S + 2 * INTERVAL_S + 10, `raised within the configured time (${detectS} s)`);
    assert.equal(raised!.alert.device, 'pipeline');
    assert.equal(raised!.alert.severity, 'critical');
    assert.match(raised!.alert.summary, /no collect worker has polled telemetry-collect for \d+ s/);
    const history = await t.client.workflow.getHandle(id).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    const args = JSON.parse(Buffer.from(started ?? new Uint8Array()).toString('utf8')) as { policy: { levels: { name: string; channel?: string }[] } };
    assert.deepEqual(args.policy.levels.map((l) => [l.name, l.channel]), [['pipeline-oncall', 'C0PIPELINE']], 'the pipeline policy (its own channel)');

    collect = startCollectWorker(env);
    const resolved = await eventually(() => alertState(t.client, id), (v) => v?.status === 'resolved', 90_000, 'heartbeat alert resolved', 500);
    assert.equal(resolved!.resolved?.by, 'auto');
    assert.ok(resolved!.history.some((h) => h.event.startsWith('recovered at')));
  });
});

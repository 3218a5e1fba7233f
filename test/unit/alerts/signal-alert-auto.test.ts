/** The signaller's policy hook: node set on the alert, one queued check per incident run (bounded memory), only what the policy covers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { createAlertSignaller, MAX_QUEUED_KEYS } from '../../../activities/alerts/signal-alert.ts';
import type { RemediationRequest } from '../../../lib/kube/remediation-types.ts';
import { testAlert, threeLevelPolicy } from './escalation-fakes.ts';

const RESET = "Drain the GPU's jobs, then reset it (nvidia-smi -r) before new work.";

function setup(runOf: (workflowId: string) => string = () => 'run-1') {
  const starts: { workflowId: string; args: unknown[] }[] = [];
  const queued: { req: RemediationRequest; key: string }[] = [];
  // A stand-in for the Temporal client: only signalWithStart is used by fire().
  const client = {
    workflow: {
      async signalWithStart(_type: string, o: { workflowId: string; args: unknown[] }) {
        starts.push(o);
        return { signaledRunId: runOf(o.workflowId) };
      },
    },
  } as unknown as Client;
  const s = createAlertSignaller({
    client,
    policyFor: () => threeLevelPolicy,
    nodeFor: ({ host }) => host,
    autoRemediation: {
      policy: { mode: 'on', actions: ['reset'], maxNodes: 2, maxPercent: 10 },
      enqueue: async (req, key) => void queued.push({ req, key }),
    },
  });
  return { s, starts, queued };
}
const critical = (device: string) => ({
  ...testAlert(device, 'xid'),
  triage: {
    v: 1 as const,
    decidedBy: [],
    driver: {},
    catalog: [],
    holds: [],
    recommendedAction: RESET,
    baseline: [],
    limits: {},
    history: { previousIncidents: 0 },
  },
});

test('the node is set on the alert and a critical reset incident is queued once per run', async () => {
  const { s, starts, queued } = setup();
  await s.fire(critical('GPU-1'));
  await s.fire(critical('GPU-1'));
  assert.equal((starts[0]!.args[0] as { alert: { node?: string } }).alert.node, 'node-1');
  assert.equal(queued.length, 1);
  assert.deepEqual(
    [queued[0]!.req.action, queued[0]!.req.node, queued[0]!.req.by, queued[0]!.key],
    ['quarantine', 'node-1', 'policy', 'alert-GPU-1-xid@run-1'],
  );
});

test('warnings and incidents without a node action are not queued', async () => {
  const { s, queued } = setup();
  await s.fire({ ...critical('GPU-2'), severity: 'warning' });
  await s.fire(testAlert('GPU-3', 'temp'));
  assert.equal(queued.length, 0);
});

test(`the memory of queued runs is bounded at ${MAX_QUEUED_KEYS}: the oldest is forgotten first`, async () => {
  const { s, queued } = setup();
  for (let i = 0; i <= MAX_QUEUED_KEYS; i++) await s.fire(critical(`GPU-b${i}`));
  assert.equal(queued.length, MAX_QUEUED_KEYS + 1);
  await s.fire(critical(`GPU-b${MAX_QUEUED_KEYS}`)); // newest: still remembered
  assert.equal(queued.length, MAX_QUEUED_KEYS + 1);
  await s.fire(critical('GPU-b0')); // oldest: forgotten, queued again (the policy workflow rejects the duplicate)
  assert.equal(queued.length, MAX_QUEUED_KEYS + 2);
});

/** Node buttons on the page: shown with a node, the catalog's recommendation preselected, Release once held; records rendered; ids round-trip. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertMessage, nodeActionButtons, MAX_REMEDIATIONS_SHOWN } from '../../../activities/slack/blocks.ts';
import { buildActionId, parseActionId } from '../../../activities/slack/action-ids.ts';
import { actionsFromPayload } from '../../../api/slack/interactions.ts';
import { makeAlertState } from '../../support/fake-slack-server.ts';
import type { RemediationRecord } from '../../../lib/kube/remediation-types.ts';
import type { TriageCard } from '../../../lib/alerts/types.ts';

const triage = (recommendedAction: string): TriageCard => ({
  v: 1,
  decidedBy: [],
  driver: {},
  catalog: [],
  holds: [],
  recommendedAction,
  baseline: [],
  limits: {},
  history: { previousIncidents: 0 },
});
const rec = (over: Partial<RemediationRecord>): RemediationRecord => ({
  id: 'r',
  action: 'quarantine',
  node: 'node-07',
  by: 'U024BE7LH',
  via: 'slack',
  requestedAt: '2025-03-01T12:01:00.000Z',
  finishedAt: '2025-03-01T12:01:01.000Z',
  outcome: 'done',
  detail: 'quarantined node-07 (cordon, taint, label, condition)',
  api: [],
  ...over,
});

test('no node → no node buttons', () => {
  assert.deepEqual(nodeActionButtons(makeAlertState()), []);
});

test('a reset recommendation preselects Quarantine; "drain the node" preselects Drain', () => {
  const reset = nodeActionButtons(
    makeAlertState({}, { node: 'node-07', triage: triage("Drain the GPU's jobs, then reset it (nvidia-smi -r) before new work.") }),
  );
  assert.deepEqual(
    reset.map((b) => [b.action_id, b.style]),
    [
      ['alert:quarantine', 'primary'],
      ['alert:drain', undefined],
    ],
  );
  const reboot = nodeActionButtons(
    makeAlertState({}, { node: 'node-07', triage: triage('Drain the node and reboot it (the GPU cannot be reset in place).') }),
  );
  assert.deepEqual(
    reboot.map((b) => [b.action_id, b.style]),
    [
      ['alert:quarantine', undefined],
      ['alert:drain', 'primary'],
    ],
  );
});

test('once quarantined: Release offered (also after the incident closed), records shown with outcome and who', () => {
  const held = makeAlertState({ remediations: [rec({})] }, { node: 'node-07' });
  assert.deepEqual(
    nodeActionButtons(held).map((b) => b.action_id),
    ['alert:drain', 'alert:release'],
  );
  assert.deepEqual(
    nodeActionButtons({ ...held, status: 'resolved' }).map((b) => b.action_id),
    ['alert:release'],
  );
  const released = makeAlertState(
    { remediations: [rec({}), rec({ id: 'r2', action: 'release', detail: 'released node-07' })] },
    { node: 'node-07' },
  );
  assert.deepEqual(
    nodeActionButtons(released).map((b) => b.action_id),
    ['alert:quarantine', 'alert:drain'],
  );
  const text = JSON.stringify(alertMessage(released).blocks);
  assert.match(text, /\*quarantine\* `node-07` by <@U024BE7LH> via slack/);
  assert.match(text, /\*Node\*\\nnode-07/);
  assert.match(text, /"block_id":"node_actions"/);
});

test(`at most ${MAX_REMEDIATIONS_SHOWN} records on the message`, () => {
  const many = Array.from({ length: 12 }, (_, i) => rec({ id: `r${i}`, detail: `step ${i}` }));
  const text = JSON.stringify(alertMessage(makeAlertState({ remediations: many }, { node: 'node-07' })).blocks);
  assert.doesNotMatch(text, /step 6\b/);
  assert.match(text, /step 11/);
});

test('node action ids round-trip and reach the endpoint as actions', () => {
  for (const a of ['quarantine', 'drain', 'release'] as const) assert.deepEqual(parseActionId(buildActionId(a)), { action: a });
  assert.equal(parseActionId('alert:cordon'), null);
  const got = actionsFromPayload({
    type: 'block_actions',
    user: { id: 'U1', username: 'alice' },
    actions: [{ action_id: 'alert:drain', value: 'alert-x' }],
  });
  assert.deepEqual(
    got.map((a) => [a.action, a.alertId]),
    [['drain', 'alert-x']],
  );
});

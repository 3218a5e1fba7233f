/** The incident → node step of a page button: unknown alerts and devices without a node are refused by name and counted. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { createRemediationService, RemediationTargetError } from '../../../api/remediation-service.ts';
import { createNodeMap } from '../../../lib/kube/node-map.ts';
import { remediationMetrics } from '../../../activities/remediation/remediation-metrics.ts';
import type { AlertsService } from '../../../api/services.ts';
import { testAlert } from '../alerts/escalation-fakes.ts';

const states: Record<string, unknown> = {
  'alert-GPU-1-xid': { alert: { ...testAlert('GPU-1', 'xid'), host: 'Not A Node!' } },
};
const alerts = { get: async (id: string) => states[id] } as unknown as AlertsService;
// No Temporal call is reached on these paths; the client is never used.
const svc = createRemediationService({
  client: {} as Client,
  alerts,
  nodeMap: createNodeMap(),
  defaults: { drainTimeoutS: 60, releaseOnRecovery: false },
});
const count = async (result: string) =>
  (await remediationMetrics.requests.get()).values.find((v) => v.labels.via === 'slack' && v.labels.result === result)?.value ?? 0;

test('an unknown alert is refused naming it, and counted', async () => {
  const before = await count('unknown_alert');
  await assert.rejects(
    svc.requestForAlert({ alertId: 'alert-nope', action: 'quarantine', by: 'slack:alice', via: 'slack' }),
    (e: unknown) => e instanceof RemediationTargetError && e.problem === 'unknown_alert' && /alert-nope/.test(e.message),
  );
  assert.equal(await count('unknown_alert'), before + 1);
});

test('a device that maps to no node is refused saying how to map it, and counted', async () => {
  const before = await count('no_node');
  await assert.rejects(
    svc.requestForAlert({ alertId: 'alert-GPU-1-xid', action: 'drain', by: 'slack:alice', via: 'slack' }),
    (e: unknown) => e instanceof RemediationTargetError && e.problem === 'no_node' && /KUBE_NODE_MAP/.test(e.message),
  );
  assert.equal(await count('no_node'), before + 1);
});

/** The automatic-quarantine policy and its circuit breaker (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoApplies, decideAutoQuarantine, quarantineCap, type AutoRemediationPolicy } from '../../../lib/kube/remediation-policy.ts';

const policy: AutoRemediationPolicy = { mode: 'on', actions: ['reset', 'reboot'], maxNodes: 2, maxPercent: 50 };
const reset = "Drain the GPU's jobs, then reset it (nvidia-smi -r) before new work.";

test('the cap is the smaller of N nodes and X % of the fleet', () => {
  assert.equal(quarantineCap(policy, 100), 2);
  assert.equal(quarantineCap(policy, 3), 1);
  assert.equal(quarantineCap({ maxNodes: 10, maxPercent: 10 }, 1_000), 10);
  assert.equal(quarantineCap({ maxNodes: 10, maxPercent: 10 }, 9), 0, '10 % of 9 nodes rounds down to none');
});

test('up to the cap it quarantines; the node beyond the cap pages instead, saying why', () => {
  const fleet = { fleetSize: 10, quarantined: [] as string[] };
  assert.equal(decideAutoQuarantine(policy, 'n1', fleet).decision, 'quarantine');
  assert.equal(decideAutoQuarantine(policy, 'n2', { ...fleet, quarantined: ['n1'] }).decision, 'quarantine');
  const third = decideAutoQuarantine(policy, 'n3', { ...fleet, quarantined: ['n1', 'n2'] });
  assert.equal(third.decision, 'page');
  assert.match(third.reason, /circuit breaker open: 2 of 10 nodes already quarantined \(n1, n2\); the cap is 2/);
  assert.match(third.reason, /REMEDIATION_MAX_NODES=2/);
});

test('the percentage bound trips before the node bound on a small fleet', () => {
  const d = decideAutoQuarantine({ ...policy, maxNodes: 100, maxPercent: 10 }, 'n2', { fleetSize: 10, quarantined: ['n1'] });
  assert.equal(d.decision, 'page');
  assert.match(d.reason, /cap is 1/);
});

test('a node already quarantined is not counted twice; shadow mode only says what it would do', () => {
  assert.equal(decideAutoQuarantine(policy, 'n1', { fleetSize: 10, quarantined: ['n1', 'n2'] }).decision, 'already');
  const s = decideAutoQuarantine({ ...policy, mode: 'shadow' }, 'n1', { fleetSize: 10, quarantined: [] });
  assert.equal(s.decision, 'shadow');
  assert.match(s.reason, /would quarantine n1/);
  // Shadow mode still respects the breaker: it records a page, not a would-be quarantine.
  assert.equal(decideAutoQuarantine({ ...policy, mode: 'shadow' }, 'n3', { fleetSize: 10, quarantined: ['n1', 'n2'] }).decision, 'page');
});

test('the breaker lists at most five quarantined nodes in its reason (bounded text)', () => {
  const many = Array.from({ length: 40 }, (_, i) => `n${i}`);
  const d = decideAutoQuarantine({ ...policy, maxNodes: 40, maxPercent: 100 }, 'x', { fleetSize: 100, quarantined: many });
  assert.match(d.reason, /n4, \+35 more/);
});

test('the policy applies only to critical incidents with a listed recommended action and a node', () => {
  assert.equal(autoApplies(policy, { severity: 'critical', recommendedAction: reset, node: 'n1' }), null);
  assert.equal(autoApplies({ ...policy, mode: 'off' }, { severity: 'critical', recommendedAction: reset, node: 'n1' })?.decision, 'skip');
  assert.match(autoApplies(policy, { severity: 'warning', recommendedAction: reset, node: 'n1' })!.reason, /not critical/);
  assert.match(
    autoApplies(policy, {
      severity: 'critical',
      recommendedAction: 'Restart the application; the GPU needs no service unless the XID repeats.',
      node: 'n1',
    })!.reason,
    /recommends no node action/,
  );
  assert.match(
    autoApplies(policy, { severity: 'critical', recommendedAction: "Drain the node's NVLink peers, reset the GPUs", node: 'n1' })!.reason,
    /"drain" is not in REMEDIATION_AUTO_ACTIONS/,
  );
  assert.match(autoApplies(policy, { severity: 'critical', recommendedAction: reset })!.reason, /maps to no Kubernetes node/);
});

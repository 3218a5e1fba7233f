/** The catalog's recommended actions → node remediation (every action text in the catalog is classified). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { recommendationKind, recommendedRemediation } from '../../../lib/kube/recommend.ts';

const catalog = JSON.parse(readFileSync(new URL('../../../lib/health/xid-catalog.json', import.meta.url), 'utf8')) as {
  buckets: Record<string, string>;
  recovery_actions: Record<string, { name: string; recommended_action: string }>;
};

test('catalog buckets: resets and reboots quarantine, "drain the node" drains, application restarts ask nothing', () => {
  const b = catalog.buckets;
  assert.equal(recommendationKind(b.RESET_GPU), 'reset');
  assert.equal(recommendedRemediation(b.RESET_GPU), 'quarantine');
  assert.equal(recommendationKind(b.RESTART_BM), 'drain');
  assert.equal(recommendedRemediation(b.RESTART_BM), 'drain');
  assert.equal(recommendationKind(b.CHECK_MECHANICALS), 'reboot');
  assert.equal(recommendationKind(b.RESTART_APP), undefined);
  assert.equal(recommendationKind(b.IGNORE), undefined);
  assert.equal(recommendationKind(b.CONTACT_SUPPORT), undefined);
  assert.equal(recommendedRemediation(undefined), undefined);
});

test('recovery actions: Reset / Reboot / Drain and Reset ask for a node action; None does not', () => {
  const r = catalog.recovery_actions;
  assert.equal(recommendationKind(r['0']!.recommended_action), undefined);
  assert.equal(recommendationKind(r['1']!.recommended_action), 'reset');
  assert.equal(recommendationKind(r['2']!.recommended_action), 'reboot');
  assert.equal(recommendationKind(r['4']!.recommended_action), 'reset');
});

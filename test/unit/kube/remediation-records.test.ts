/** An incident's remediation records: replace own reports, drop no-op repeats, bounded at MAX_REMEDIATION_RECORDS. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addRemediationRecord,
  appendBounded,
  INCIDENT_RECORD_LIMITS,
  MAX_REMEDIATION_RECORDS,
} from '../../../lib/kube/remediation-records.ts';
import type { RemediationRecord } from '../../../lib/kube/remediation-types.ts';

const rec = (over: Partial<RemediationRecord>): RemediationRecord => ({
  id: 'remediate-n1-quarantine-a',
  action: 'quarantine',
  node: 'n1',
  by: 'alice',
  via: 'slack',
  requestedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.000Z',
  outcome: 'done',
  detail: 'quarantined n1',
  api: [],
  ...over,
});

test('a repeat that changed nothing after a done action adds no record; a new kind of action does', () => {
  const list: RemediationRecord[] = [];
  assert.equal(addRemediationRecord(list, rec({})), true);
  assert.equal(addRemediationRecord(list, rec({ outcome: 'already', requestedAt: '2026-01-01T00:01:00.000Z' })), false);
  assert.equal(addRemediationRecord(list, rec({ id: 'r2', action: 'release', outcome: 'done' })), true);
  assert.equal(list.length, 2);
});

test('the same run reporting again replaces its record', () => {
  const list = [rec({ outcome: 'blocked' })];
  addRemediationRecord(list, rec({ outcome: 'done' }));
  assert.deepEqual(
    list.map((r) => r.outcome),
    ['done'],
  );
});

test(`at most ${MAX_REMEDIATION_RECORDS} records, newest kept`, () => {
  const list: RemediationRecord[] = [];
  for (let i = 0; i < MAX_REMEDIATION_RECORDS; i++) addRemediationRecord(list, rec({ id: `r${i}`, node: `n${i}` }));
  assert.equal(list.length, MAX_REMEDIATION_RECORDS);
  addRemediationRecord(list, rec({ id: 'newest', node: 'nx' }));
  assert.equal(list.length, MAX_REMEDIATION_RECORDS);
  assert.equal(list[0]!.id, 'r1');
  assert.equal(list.at(-1)!.id, 'newest');
});

test('appendBounded keeps the newest lines', () => {
  const lines = ['a', 'b'];
  appendBounded(lines, ['c', 'd', 'e'], 3);
  assert.deepEqual(lines, ['c', 'd', 'e']);
});

test('the incident keeps a drain record compact: last API lines, first evicted/blocked pods', () => {
  const list: RemediationRecord[] = [];
  const many = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i}`);
  addRemediationRecord(
    list,
    rec({
      action: 'drain',
      api: many(120, 'line'),
      evicted: many(110, 'pod'),
      blocked: many(30, 'b').map((pod) => ({ pod, reason: '429' })),
    }),
  );
  const r = list[0]!;
  assert.equal(r.api.length, INCIDENT_RECORD_LIMITS.api);
  assert.equal(r.api.at(-1), 'line119');
  assert.equal(r.evicted!.length, INCIDENT_RECORD_LIMITS.evicted);
  assert.equal(r.blocked!.length, INCIDENT_RECORD_LIMITS.blocked);
  assert.ok(JSON.stringify(list).length < 6_000);
});

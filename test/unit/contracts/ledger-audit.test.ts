/** Pure audit comparison: the record recomputed from the workflow state vs what the chain holds. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRecord, expectedFromState, ledgerMismatchAlert, type AuditResult } from '../../../activities/ledger/ledger-audit.ts';
import { identityHash, ledgerAlertId, resolutionHash } from '../../../activities/ledger/ledger-ids.ts';
import type { LedgerAlertRecord } from '../../../activities/ledger/ledger-client.ts';
import type { AlertState } from '../../../lib/alerts/types.ts';

const C = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const TX = (n: number) => `0x${String(n).repeat(64).slice(0, 64)}`;
const state: AlertState = {
  alert: { alertId: 'alert-GPU-1-temp', device: 'GPU-1', rule: 'temp', severity: 'critical', summary: 's', values: {}, firedAt: '2024-01-31T12:00:00.000Z' },
  status: 'acknowledged',
  level: 0,
  repeats: 0,
  history: [],
  raisedReceipt: { txHash: TX(1), blockNumber: 1, alreadyRecorded: false, contract: C },
  ack: { by: 'U0ALICE', via: 'slack', at: '2024-01-31T12:01:00.000Z', receipt: { txHash: TX(2), blockNumber: 2, alreadyRecorded: false, contract: C } },
};
const key = 'alert-GPU-1-temp@2024-01-31T12:00:00.000Z';
const record: LedgerAlertRecord = {
  id: ledgerAlertId(key),
  deviceHash: identityHash('GPU-1'),
  severity: 'critical',
  raisedAtMs: String(Date.parse('2024-01-31T12:00:00.000Z')),
  recordedBy: '0xf39F',
  acknowledged: { responderHash: identityHash('U0ALICE'), ackedAtMs: String(Date.parse('2024-01-31T12:01:00.000Z')), channel: 'slack', recorder: '0xf39F' },
  resolved: null,
};
const entries = [
  { kind: 'recorded' as const, txHash: TX(1) },
  { kind: 'acknowledged' as const, txHash: TX(2) },
];

describe('audit comparison', () => {
  test('the workflow state and a matching record → no mismatch', () => {
    const exp = expectedFromState(state);
    assert.equal(exp.ledgerKey, key);
    assert.deepEqual(compareRecord(exp, { contract: C, record, entries }), { mismatches: [], pending: [] });
  });

  test('each recomputed field is compared', () => {
    const exp = expectedFromState(state);
    const cases: [Partial<LedgerAlertRecord>, string][] = [
      [{ deviceHash: identityHash('GPU-2') }, 'deviceHash'],
      [{ severity: 'warning' }, 'severity'],
      [{ raisedAtMs: '1' }, 'raisedAtMs'],
      [{ acknowledged: { ...record.acknowledged!, responderHash: identityHash('U0BOB') } }, 'acknowledged.responderHash'],
      [{ acknowledged: { ...record.acknowledged!, ackedAtMs: '5' } }, 'acknowledged.ackedAtMs'],
      [{ acknowledged: { ...record.acknowledged!, channel: 'api' } }, 'acknowledged.channel'],
      [{ acknowledged: null }, 'acknowledged'],
      [{ resolved: { reasonHash: resolutionHash('x', 'y'), resolvedAtMs: '9', recorder: '0x1' } }, 'resolved'],
    ];
    for (const [change, field] of cases) {
      assert.deepEqual(compareRecord(exp, { contract: C, record: { ...record, ...change }, entries }).mismatches.map((m) => m.field), [field], field);
    }
    assert.deepEqual(compareRecord(exp, { contract: '0x0000000000000000000000000000000000000001', record, entries }).mismatches.map((m) => m.field), ['contract']);
    assert.deepEqual(compareRecord(exp, { contract: C, record, entries: [entries[0]!, { kind: 'acknowledged', txHash: TX(3) }] }).mismatches.map((m) => m.field), ['tx.acknowledged']);
  });

  test('an ack still in flight is pending; a claimed receipt with nothing on chain is a mismatch', () => {
    const inFlight: AlertState = { ...state, ack: { ...state.ack!, receipt: undefined } };
    assert.deepEqual(compareRecord(expectedFromState(inFlight), { contract: C, record: { ...record, acknowledged: null }, entries: [entries[0]!] }), {
      mismatches: [],
      pending: ['acknowledged'],
    });
    assert.deepEqual(compareRecord(expectedFromState(state), null).mismatches.map((m) => m.field), ['record']);
  });

  test('the operational alert: device pipeline, one business key, bounded summary', () => {
    const r = { workflowId: 'a', contract: C, confirmations: 3, mismatches: Array.from({ length: 9 }, (_, i) => ({ field: `f${i}`, expected: null, actual: null })) } as unknown as AuditResult;
    const a = ledgerMismatchAlert(r, new Date(0));
    assert.equal(a.device, 'pipeline');
    assert.equal(a.rule, 'ledger-audit-mismatch');
    assert.match(a.summary, /f0, f1, f2, f3, f4, \+4 differ/);
  });
});

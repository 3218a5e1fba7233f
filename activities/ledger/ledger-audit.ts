/**
 * The audit: recompute what the ledger must hold from the alert workflow's state and compare
 * it with what the chain holds. The chain is not trusted to be right; it is checked.
 *
 * Invariant: `verified` is true only when every write the workflow claims (raise, and the
 * ack / resolve it holds a receipt for) is on the ledger with exactly the recomputed fields,
 * in the tx the workflow was told, at the contract it was told; and the ledger holds nothing
 * the workflow does not know (an ack nobody gave). A write still in flight (no receipt in
 * the workflow yet, nothing on chain) is `pending`, not a mismatch.
 */
import type { AlertInput, AlertState } from '../../lib/alerts/types.ts';
import { OPS_DEVICE } from '../collect/collect-activities.ts';
import { ledgerMetrics } from './ledger-metrics.ts';
import { ledgerKey } from '../../lib/alerts/ids.ts';
import { identityHash, ledgerAlertId, resolutionHash } from './ledger-ids.ts';
import type { LedgerAlertRecord, LedgerEventKind } from './ledger-client.ts';
import type { LedgerEntry, LedgerHeadAt, LedgerReader } from './ledger-reader.ts';

export interface AuditMismatch {
  /** Which field disagrees (`deviceHash`, `acknowledged.responderHash`, `tx.acknowledged`, `contract`, …). */
  field: string;
  /** Recomputed from the workflow's state. */
  expected: string | null;
  /** What the chain holds. */
  actual: string | null;
}

export interface AuditResult {
  verified: boolean;
  mismatches: AuditMismatch[];
  /** Writes the workflow started but that have no receipt yet (and are not on chain). */
  pending: LedgerEventKind[];
  /** The on-chain key's clear text (`<alertId>@<firedAt>`), as the audit answered before it verified. */
  alertId: string;
  /** The alert (workflow) id that was audited. */
  workflowId: string;
  /** Same as alertId: the on-chain key. */
  ledgerKey: string;
  ledgerId: string;
  chainId: number;
  /** Contract the record was found at (null: no version holds it). */
  contract: string | null;
  /** The latest write of this alert (ack if acknowledged, …). */
  tx: string | null;
  block: { number: number; hash: string } | null;
  /** Blocks on top of `block`, counting it (1 = just mined). */
  confirmations: number;
  ledgerHead: LedgerHeadAt | null;
  record: LedgerAlertRecord | null;
  events: LedgerEntry[];
}

/** What the ledger must hold, recomputed from the workflow's state with the encoders the writer uses. */
export interface ExpectedRecord {
  ledgerKey: string;
  ledgerId: string;
  deviceHash: string;
  severity: string;
  /** null when firedAt is not a date (the workflow then records its own clock, which the audit cannot recompute). */
  raisedAtMs: string | null;
  acknowledged: null | { responderHash: string; ackedAtMs: string; channel: string; tx: string | null; contract: string | null };
  resolved: null | { reasonHash: string; resolvedAtMs: string; tx: string | null; contract: string | null };
  raisedTx: string | null;
  raisedContract: string | null;
}

export function expectedFromState(state: AlertState): ExpectedRecord {
  const key = ledgerKey(state.alert);
  const raised = Date.parse(state.alert.firedAt);
  return {
    ledgerKey: key,
    ledgerId: ledgerAlertId(key),
    deviceHash: identityHash(state.alert.device, 'device'),
    severity: state.alert.severity,
    raisedAtMs: Number.isFinite(raised) ? String(raised) : null,
    raisedTx: state.raisedReceipt?.txHash || null,
    raisedContract: state.raisedReceipt?.contract ?? null,
    acknowledged: state.ack
      ? {
          responderHash: identityHash(state.ack.by, 'responder'),
          ackedAtMs: String(Date.parse(state.ack.at)),
          channel: state.ack.via,
          tx: state.ack.receipt?.txHash || null,
          contract: state.ack.receipt?.contract ?? null,
        }
      : null,
    resolved: state.resolved
      ? {
          reasonHash: resolutionHash(state.resolved.by, state.resolved.reason),
          resolvedAtMs: String(Date.parse(state.resolved.at)),
          tx: state.resolved.receipt?.txHash || null,
          contract: state.resolved.receipt?.contract ?? null,
        }
      : null,
  };
}

const lower = (s: string | null | undefined): string | null => (s ? s.toLowerCase() : null);

/**
 * Pure comparison of the expected record with what was found. `found` null = no version
 * holds the key. Returns the mismatches and the writes still pending.
 */
export function compareRecord(
  exp: ExpectedRecord,
  found: { contract: string; record: LedgerAlertRecord; entries: Pick<LedgerEntry, 'kind' | 'txHash'>[] } | null,
): { mismatches: AuditMismatch[]; pending: LedgerEventKind[] } {
  const mismatches: AuditMismatch[] = [];
  const pending: LedgerEventKind[] = [];
  const m = (field: string, expected: string | null, actual: string | null): void => {
    if (expected !== actual) mismatches.push({ field, expected, actual });
  };
  if (!found) {
    // The workflow holds a receipt → the chain must hold the record.
    if (exp.raisedTx || exp.acknowledged?.tx || exp.resolved?.tx) m('record', exp.ledgerId, null);
    else pending.push('recorded');
    return { mismatches, pending };
  }
  const { record, contract } = found;
  const txOf = (kind: LedgerEventKind): string | null => lower(found.entries.find((e) => e.kind === kind)?.txHash);

  m('deviceHash', exp.deviceHash, record.deviceHash);
  m('severity', exp.severity, record.severity);
  if (exp.raisedAtMs !== null) m('raisedAtMs', exp.raisedAtMs, record.raisedAtMs);
  if (exp.raisedTx) m('tx.recorded', lower(exp.raisedTx), txOf('recorded'));
  const contracts = [exp.raisedContract, exp.acknowledged?.contract, exp.resolved?.contract].filter((c): c is string => Boolean(c));
  for (const c of new Set(contracts.map((x) => x.toLowerCase()))) m('contract', c, contract.toLowerCase());

  const ack = record.acknowledged;
  if (exp.acknowledged && ack) {
    m('acknowledged.responderHash', exp.acknowledged.responderHash, ack.responderHash);
    m('acknowledged.ackedAtMs', exp.acknowledged.ackedAtMs, ack.ackedAtMs);
    m('acknowledged.channel', exp.acknowledged.channel, ack.channel);
    if (exp.acknowledged.tx) m('tx.acknowledged', lower(exp.acknowledged.tx), txOf('acknowledged'));
  } else if (exp.acknowledged && !ack) {
    if (exp.acknowledged.tx) m('acknowledged', 'acknowledged', null);
    else pending.push('acknowledged');
  } else if (!exp.acknowledged && ack) {
    m('acknowledged', null, `acknowledged (responderHash ${ack.responderHash})`);
  }

  const res = record.resolved;
  if (exp.resolved && res) {
    m('resolved.reasonHash', exp.resolved.reasonHash, res.reasonHash);
    m('resolved.resolvedAtMs', exp.resolved.resolvedAtMs, res.resolvedAtMs);
    if (exp.resolved.tx) m('tx.resolved', lower(exp.resolved.tx), txOf('resolved'));
  } else if (exp.resolved && !res) {
    if (exp.resolved.tx) m('resolved', 'resolved', null);
    else pending.push('resolved');
  } else if (!exp.resolved && res) {
    m('resolved', null, `resolved (reasonHash ${res.reasonHash})`);
  }
  return { mismatches, pending };
}

/**
 * Audits one alert against every ledger version the reader knows. With `state` undefined
 * (the workflow is gone from Temporal's retention) only the chain's record is reported and
 * `verified` is false with a `workflowState` mismatch: nothing was checked.
 */
export async function auditAlert(reader: LedgerReader, input: { alertId: string; state?: AlertState; key?: string }): Promise<AuditResult | null> {
  const exp = input.state ? expectedFromState(input.state) : undefined;
  const key = exp?.ledgerKey ?? input.key ?? input.alertId;
  const found = await reader.findAlert(key);
  if (!found && !exp) return null;
  const { mismatches, pending } = exp
    ? compareRecord(exp, found && { contract: found.deployment.address, record: found.record, entries: found.entries })
    : { mismatches: [{ field: 'workflowState', expected: 'the alert workflow state', actual: null }], pending: [] };
  if (found && found.alsoAt.length > 0) mismatches.push({ field: 'duplicate', expected: found.deployment.address, actual: found.alsoAt.join(',') });

  const last = found?.entries.at(-1);
  ledgerMetrics.audits.inc({ result: mismatches.length > 0 ? 'mismatch' : !found ? 'absent' : pending.length > 0 ? 'pending' : 'verified' });
  const addr = found?.deployment.address ?? reader.deployments[0]?.address;
  const ledgerHead = addr ? await reader.head(addr) : null;
  return {
    verified: mismatches.length === 0 && found !== null,
    mismatches,
    pending,
    alertId: key,
    workflowId: input.alertId,
    ledgerKey: key,
    ledgerId: ledgerAlertId(key),
    chainId: reader.chainId,
    contract: found?.deployment.address ?? null,
    tx: last?.txHash ?? null,
    block: last ? { number: last.blockNumber, hash: last.blockHash } : null,
    confirmations: last && ledgerHead ? ledgerHead.blockNumber - last.blockNumber + 1 : 0,
    ledgerHead,
    record: found?.record ?? null,
    events: found?.entries ?? [],
  };
}

/** Rule name of the operational alert a failed audit raises (device `pipeline`, like the collector's). */
export const LEDGER_MISMATCH_RULE = 'ledger-audit-mismatch';
/** Bound on the fields listed in the alert summary. */
const SUMMARY_FIELDS = 5;

/** The operational alert for a failed audit: one incident (business key pipeline × rule), fed again per mismatch. */
export function ledgerMismatchAlert(r: AuditResult, now = new Date()): AlertInput {
  const fields = r.mismatches.map((m) => m.field);
  const shown = fields.slice(0, SUMMARY_FIELDS).join(', ') + (fields.length > SUMMARY_FIELDS ? `, +${fields.length - SUMMARY_FIELDS}` : '');
  return {
    alertId: '',
    device: OPS_DEVICE,
    rule: LEDGER_MISMATCH_RULE,
    severity: 'critical',
    summary: `ledger audit of ${r.workflowId} failed: ${shown} differ from the workflow state (contract ${r.contract ?? 'none'})`,
    values: { mismatches: r.mismatches.length, confirmations: r.confirmations },
    firedAt: now.toISOString(),
    host: 'api',
  };
}

/**
 * `nodeRemediation`: one workflow per remediation request (quarantine, drain or release of one
 * Kubernetes node), id `remediate-<node>-<action>-<key>` (remediation-messages.ts).
 *
 * - quarantine: cordon + taint + label naming the GPU, then the GpuUnhealthy Node condition.
 *   Policy-driven requests (`auto`) first read the fleet and ask the circuit breaker
 *   (lib/kube/remediation-policy.ts): beyond the cap → `refused` (the incident pages, saying
 *   why); shadow mode → `shadow`, nothing written.
 * - drain: quarantine first (no new pods land while we empty it), then eviction passes through
 *   the Eviction API; pods a PodDisruptionBudget protects (429) are retried on a durable timer
 *   with backoff until the drain timeout, then reported as `blocked` — deleted only when `force`.
 * - release: uncordon (if we cordoned) and remove taint, label, annotation and condition.
 *
 * The record (who asked, what was done, the API's answers) is the result, and is signalled to
 * the incident's alert workflow, which keeps it on its timeline and page.
 * Deterministic: activities do all I/O; time is workflow time.
 */
import * as wf from '@temporalio/workflow';
import type { RemediationActivities } from './remediation-activities.ts';
import type { AlertLedgerActivities } from './alert-activities.ts';
import { LEDGER_REVERT_ERROR } from './alert-activities.ts';
import { REMEDIATION_FAILURE } from './remediation-activities.ts';
import { remediationProgressQuery, remediationRecordedSignal } from './remediation-messages.ts';
import { decideAutoQuarantine } from '../lib/kube/remediation-policy.ts';
import { appendBounded } from '../lib/kube/remediation-records.ts';
import { MAX_RECORD_LINES, type RemediationRecord, type RemediationRequest } from '../lib/kube/remediation-types.ts';

// The API server may be briefly away (upgrade, leader change): keep retrying for a while with
// backoff; a permanent answer (403 RBAC, 404 node, 422 patch) stops at once.
const kube = wf.proxyActivities<RemediationActivities>({
  startToCloseTimeout: '60s',
  scheduleToCloseTimeout: '15 minutes',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: [REMEDIATION_FAILURE.permanent, REMEDIATION_FAILURE.notConfigured],
  },
});

// The ledger (the alert ledger's activities, same worker): a remediation is recorded as its own
// entry — raised = asked (who, node), resolved = what was done and the API's answers (hashed with `by`).
// Bounded: a chain outage must not hold the record back for long; a failure is noted in the record.
const ledger = wf.proxyActivities<AlertLedgerActivities>({
  startToCloseTimeout: '60s',
  scheduleToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [LEDGER_REVERT_ERROR] },
});

/** Ledger id of a remediation run: unique per run (the chain records an id once). */
export const remediationLedgerId = (workflowId: string, runId: string): string => `remediation:${workflowId}/${runId}`;
/** What the ledger's resolution hashes (with `by`): action, outcome, detail and the API's answers, bounded. */
export function remediationLedgerText(r: RemediationRecord): string {
  return `${r.action} ${r.node}${r.gpu ? ` gpu ${r.gpu}` : ''} via ${r.via}: ${r.outcome} — ${r.detail} | api: ${r.api.join('; ')}`.slice(
    0,
    4_000,
  );
}

/** Default drain timeout when the request names none, seconds. */
export const DEFAULT_DRAIN_TIMEOUT_S = 600;
/** Waits between drain passes while budgets block: 5 s doubling to 60 s. */
const DRAIN_BACKOFF_MS = { initial: 5_000, max: 60_000 } as const;

export async function nodeRemediation(req: RemediationRequest): Promise<RemediationRecord> {
  const iso = (ms: number) => new Date(ms).toISOString();
  const requestedAt = iso(Date.now());
  const rec: RemediationRecord = {
    id: wf.workflowInfo().workflowId,
    action: req.action,
    node: req.node,
    gpu: req.gpu,
    by: req.by,
    via: req.via,
    requestedAt,
    finishedAt: requestedAt,
    outcome: 'failed',
    detail: 'running',
    api: [],
    ...(req.releaseOnRecovery ? { releaseOnRecovery: true } : {}),
  };
  wf.setHandler(remediationProgressQuery, () => rec);
  const note = (lines: string[]) => appendBounded(rec.api, lines, MAX_RECORD_LINES);

  try {
    await run();
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    const cause = err instanceof wf.ActivityFailure ? (err.cause ?? err) : err;
    rec.outcome = 'failed';
    rec.detail = `${req.action} failed: ${cause instanceof Error ? cause.message : String(cause)}`;
  }
  rec.finishedAt = iso(Date.now());
  // Nothing done (a repeat) → nothing to prove; everything else, including shadow and refusals, is recorded.
  if (rec.outcome !== 'already') await recordOnLedger();

  if (req.alertId) {
    try {
      await wf.getExternalWorkflowHandle(req.alertId).signal(remediationRecordedSignal, rec);
    } catch (err) {
      // The incident may be closed already: the record stays this workflow's result.
      wf.log.warn('remediation: incident not signalled', { alertId: req.alertId, error: String(err) });
    }
  }
  return rec;

  async function recordOnLedger(): Promise<void> {
    const info = wf.workflowInfo();
    const alertId = remediationLedgerId(info.workflowId, info.firstExecutionRunId);
    try {
      await ledger.recordAlertOnChain({
        alertId,
        device: `node:${req.node}`,
        severity: 'critical',
        raisedAtMs: Date.parse(rec.requestedAt),
      });
      const receipt = await ledger.recordResolveOnChain({
        alertId,
        by: req.by,
        reason: remediationLedgerText(rec),
        resolvedAtMs: Date.parse(rec.finishedAt),
      });
      if (receipt) rec.ledger = { id: alertId, txHash: receipt.txHash, blockNumber: receipt.blockNumber };
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      const cause = err instanceof wf.ActivityFailure ? (err.cause ?? err) : err;
      rec.ledger = { id: alertId, error: cause instanceof Error ? cause.message : String(cause) };
    }
  }

  async function quarantine(): Promise<boolean> {
    const r = await kube.quarantineNode({ node: req.node, gpu: req.gpu, alertId: req.alertId, by: req.by, at: requestedAt });
    note(r.api);
    return r.changed;
  }

  async function run(): Promise<void> {
    if (req.action === 'release') {
      const r = await kube.releaseNode({ node: req.node, gpu: req.gpu, by: req.by, at: requestedAt });
      note(r.api);
      rec.outcome = r.changed ? 'done' : 'already';
      rec.detail = r.changed
        ? r.api.some((l) => l.includes('GpuUnhealthy=True'))
          ? `released GPU ${req.gpu} of ${req.node}; the node stays quarantined for its other faulty GPU(s)`
          : `released ${req.node}`
        : `${req.node} carried no quarantine of ours${req.gpu ? ` for ${req.gpu}` : ''}`;
      return;
    }
    if (req.auto) {
      if (req.action !== 'quarantine') throw wf.ApplicationFailure.nonRetryable('policy only quarantines', 'BadRemediationRequest');
      const fleet = await kube.fleetQuarantineState({});
      const d = decideAutoQuarantine(req.auto, req.node, fleet);
      if (d.decision !== 'quarantine') {
        rec.outcome = d.decision === 'page' ? 'refused' : d.decision === 'shadow' ? 'shadow' : 'already';
        rec.detail = d.reason;
        return;
      }
      const changed = await quarantine();
      rec.outcome = changed ? 'done' : 'already';
      rec.detail = `${changed ? 'quarantined' : 'already quarantined'} ${req.node} by policy: ${d.reason}`;
      return;
    }
    if (req.action === 'quarantine') {
      const changed = await quarantine();
      rec.outcome = changed ? 'done' : 'already';
      rec.detail = changed ? `quarantined ${req.node} (cordon, taint, label, condition)` : `${req.node} was already quarantined`;
      return;
    }
    await drain();
  }

  async function drain(): Promise<void> {
    await quarantine();
    const timeoutMs = (req.drainTimeoutS ?? DEFAULT_DRAIN_TIMEOUT_S) * 1000;
    const deadline = Date.now() + timeoutMs;
    const evicted = new Set<string>();
    let wait: number = DRAIN_BACKOFF_MS.initial;
    for (let pass = 1; ; pass++) {
      const p = await kube.drainPass({ node: req.node, gracePeriodS: req.gracePeriodS });
      note(p.api);
      for (const e of p.evicted) evicted.add(e);
      rec.evicted = [...evicted].slice(0, MAX_RECORD_LINES);
      rec.blocked = p.blocked.slice(0, MAX_RECORD_LINES);
      if (p.blocked.length === 0) {
        rec.outcome = 'done';
        rec.detail = `drained ${req.node}: ${evicted.size} pod(s) evicted in ${pass} pass(es)${p.skipped.length ? `, ${p.skipped.length} DaemonSet/mirror pod(s) left` : ''}`;
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      rec.detail = `pass ${pass}: ${p.blocked.length} pod(s) blocked (${p.blocked[0]!.reason}); retrying`;
      await wf.sleep(Math.min(wait, left));
      wait = Math.min(wait * 2, DRAIN_BACKOFF_MS.max);
    }
    const blocked = rec.blocked ?? [];
    if (req.force) {
      const r = await kube.forceDeletePods({ node: req.node, pods: blocked.map((b) => b.pod), gracePeriodS: req.gracePeriodS });
      note(r.api);
      rec.outcome = 'done';
      rec.detail = `drained ${req.node} by force after ${timeoutMs / 1000} s: ${blocked.length} pod(s) deleted past their disruption budget, ${evicted.size} evicted`;
      return;
    }
    rec.outcome = 'blocked';
    rec.detail =
      `drain of ${req.node} stopped after ${timeoutMs / 1000} s: ${blocked.length} pod(s) still protected by a PodDisruptionBudget ` +
      `(${blocked
        .slice(0, 3)
        .map((b) => b.pod)
        .join(', ')}); not forced — ask again with force to delete them`;
  }
}

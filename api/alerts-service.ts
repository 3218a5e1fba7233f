/**
 * Alert operations over Temporal: list through visibility (search
 * attributes), read through the `state` query, acknowledge through the
 * `acknowledge` Update (returns the ledger receipt), resolve/snooze through
 * signals. Shared by the REST API and the CLI (`telemetry-stack alerts`).
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateStage, type Client } from '@temporalio/client';
import type { AckChannel, AlertState } from '../lib/alerts/types.ts';
import { acknowledgeUpdate, resolveSignal, snoozeSignal, stateQuery } from '../workflows/alert-messages.ts';
import type { AckAnswer, AlertsService, AlertSummary } from './services.ts';
import { hasControlChar } from './control-chars.ts';
import { AlertBusyError, AlertClosedError, AlertNotFoundError, AlertRejectedError } from './alert-errors.ts';
import type { EscalationPolicy } from '../lib/alerts/policy.ts';
import { ledgerMismatchAlert, type AuditResult } from '../activities/ledger/ledger-audit.ts';
import { createAlertSignaller } from '../activities/alerts/signal-alert.ts';

/** The read-only ledger audit (api/audit-reader.ts). */
export interface AuditReader {
  auditAlert(input: { alertId: string; state?: AlertState }): Promise<AuditResult | null>;
  /** Escalation policy of the operational alert a mismatch raises. */
  opsPolicy: EscalationPolicy;
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** How long an ack waits for the ledger receipt before answering `chain: 'pending'` (under the API's 5 s promise). */
export const DEFAULT_ACK_ANSWER_MS = 4_000;

const timeout = (ms: number) =>
  new Promise<typeof TIMED_OUT>((resolve) => {
    setTimeout(() => resolve(TIMED_OUT), ms).unref();
  });
const TIMED_OUT = Symbol('timed out');

export interface AlertsServiceOptions {
  audit?: AuditReader;
  /** Bound on an ack's answer, ms (the ledger write goes on in the workflow). */
  ackAnswerMs?: number;
}

export function createAlertsService(client: Client, auditOrOptions?: AuditReader | AlertsServiceOptions): AlertsService {
  const opts: AlertsServiceOptions = auditOrOptions && 'auditAlert' in auditOrOptions ? { audit: auditOrOptions } : (auditOrOptions ?? {});
  const audit = opts.audit;
  const ackAnswerMs = opts.ackAnswerMs ?? DEFAULT_ACK_ANSWER_MS;
  const handle = (id: string) => client.workflow.getHandle(id);
  /** Temporal's errors as ours: a completed workflow (its state still readable) is closed, not missing. */
  const classify = async (id: string, err: unknown): Promise<never> => {
    if (err instanceof WorkflowNotFoundError) {
      const exists = await svc.get(id).then(
        (s) => s !== undefined,
        () => false,
      );
      throw exists ? new AlertClosedError(id, { cause: err }) : new AlertNotFoundError(id, { cause: err });
    }
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as Error | undefined;
      throw new AlertRejectedError(id, cause?.message ?? err.message, { cause: err });
    }
    throw err;
  };
  const svc: AlertsService = {
    async list({ status, device, limit = 100 }) {
      // No alert carries a control character in these; and a NUL in a visibility query stalls the frontend.
      if (hasControlChar(status) || hasControlChar(device)) return [];
      const clauses = ['WorkflowType = "alertEscalation"'];
      if (status) clauses.push(`AlertStatus = ${quote(status)}`);
      if (device) clauses.push(`AlertDevice = ${quote(device)}`);
      const out: AlertSummary[] = [];
      for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
        const sa = wf.searchAttributes as Record<string, unknown[] | undefined>;
        const first = <T>(k: string) => sa?.[k]?.[0] as T | undefined;
        out.push({
          id: wf.workflowId,
          device: first<string>('AlertDevice'),
          rule: first<string>('AlertRule'),
          severity: first<string>('AlertSeverity'),
          status: first<string>('AlertStatus'),
          level: first<number>('AlertLevel'),
          startedAt: wf.startTime.toISOString(),
          closedAt: wf.closeTime?.toISOString(),
          workflowStatus: wf.status.name,
        });
        if (out.length >= limit) break;
      }
      return out;
    },
    async get(id) {
      try {
        return await handle(id).query(stateQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },
    async ack(id: string, by: string, via: AckChannel): Promise<AckAnswer> {
      // Accepted (validated and recorded in the workflow) first, then the receipt, both bounded:
      // the ledger activity retries through a chain outage for up to a day, the caller must not.
      const started = Date.now();
      const accepted = await Promise.race([
        handle(id).startUpdate(acknowledgeUpdate, { args: [{ by, via }], waitForStage: WorkflowUpdateStage.ACCEPTED }),
        timeout(ackAnswerMs),
      ]).catch((err: unknown) => classify(id, err));
      if (accepted === TIMED_OUT) throw new AlertBusyError(id, ackAnswerMs);
      const left = Math.max(0, ackAnswerMs - (Date.now() - started));
      const result = await Promise.race([accepted.result(), timeout(left)]).catch((err: unknown) => classify(id, err));
      if (result === TIMED_OUT) return { receipt: null, chain: 'pending', state: await svc.get(id).catch(() => undefined) };
      return { receipt: result.receipt, chain: result.receipt ? 'recorded' : 'none', state: result.state };
    },
    async resolve(id, by, reason) {
      await handle(id)
        .signal(resolveSignal, { by, reason })
        .catch((err: unknown) => classify(id, err));
    },
    async snooze(id, by, duration) {
      await handle(id)
        .signal(snoozeSignal, { by, duration })
        .catch((err: unknown) => classify(id, err));
    },
    async audit(id) {
      if (!audit) return null;
      // The on-chain key is per episode (alert id @ firedAt); a key given directly is accepted too.
      const state = (await svc.get(id).catch(() => undefined)) as AlertState | undefined;
      const result = await audit.auditAlert({ alertId: id, state });
      // A ledger that disagrees with the workflow is an incident about the pipeline itself:
      // the same operational-alert path as the collector's (device `pipeline`), one incident
      // for all mismatches (business-key workflow id), never one per audited alert.
      if (result && result.mismatches.length > 0 && state) {
        const signaller = createAlertSignaller({ client, policyFor: () => audit.opsPolicy });
        await signaller.fire(ledgerMismatchAlert(result));
      }
      return result;
    },
  };
  return svc;
}

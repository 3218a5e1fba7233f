/**
 * Alert operations over Temporal: list through visibility (search
 * attributes), read through the `state` query, acknowledge through the
 * `acknowledge` Update (returns the ledger receipt), resolve/snooze through
 * signals. Shared by the REST API and the CLI (`telemetry-stack alerts`).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { AckChannel, AlertState } from '../lib/alerts/types.ts';
import { acknowledgeUpdate, resolveSignal, snoozeSignal, stateQuery } from '../workflows/alert-messages.ts';
import type { AlertsService, AlertSummary } from './services.ts';
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

export function createAlertsService(client: Client, audit?: AuditReader): AlertsService {
  const handle = (id: string) => client.workflow.getHandle(id);
  const svc: AlertsService = {
    async list({ status, device, limit = 100 }) {
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
    async ack(id: string, by: string, via: AckChannel) {
      return handle(id).executeUpdate(acknowledgeUpdate, { args: [{ by, via }] });
    },
    async resolve(id, by, reason) {
      await handle(id).signal(resolveSignal, { by, reason });
    },
    async snooze(id, by, duration) {
      await handle(id).signal(snoozeSignal, { by, duration });
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

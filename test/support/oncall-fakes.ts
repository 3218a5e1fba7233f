/**
 * Recording fakes of the escalation's channel and ledger activities for the
 * on-call tests (notifier boundary: notifyPost / notifyFollowUp / notifyUpdate),
 * so those tests exercise the REAL on-call activity (schedules, silences)
 * while asserting exactly who each page reached and when (server time).
 */
import { Context } from '@temporalio/activity';
import type { AlertLedgerActivities, AlertNotifyActivities } from '../../workflows/alert-activities.ts';

export interface PageCall {
  kind: 'post' | 'followUp' | 'update';
  workflowId: string;
  /** Server time of the attempt, ms (skipped time on the time-skipping server). */
  atMs: number;
  level: number;
  targets: string[];
  status: string;
}

export function createPageRecorder() {
  const calls: PageCall[] = [];
  const rec = (kind: PageCall['kind'], input: { state: { level: number; status: string }; targets?: string[]; level?: { index: number } }) => {
    const info = Context.current().info;
    calls.push({
      kind,
      workflowId: info.workflowExecution?.workflowId ?? '',
      atMs: info.currentAttemptScheduledTimestampMs,
      level: input.level?.index ?? input.state.level,
      targets: input.targets ?? [],
      status: input.state.status,
    });
  };
  const activities: AlertNotifyActivities & AlertLedgerActivities = {
    async notifyPost(input) {
      rec('post', input);
      return { channel: input.channel, kind: 'slack', id: `C0TEST:${calls.length}` };
    },
    async notifyFollowUp(input) {
      rec('followUp', input);
      return null;
    },
    async notifyUpdate(input) {
      rec('update', input);
      return null;
    },
    async recordAlertOnChain() {
      return null;
    },
    async recordAckOnChain() {
      return null;
    },
    async recordResolveOnChain() {
      return null;
    },
  };
  return {
    activities,
    calls,
    /** Pages (post + follow-ups) of one workflow, in order. */
    pages: (workflowId: string) => calls.filter((c) => c.workflowId === workflowId && c.kind !== 'update'),
  };
}

/**
 * Recording fakes of the escalation workflow's activities (Temporal's
 * documented practice for workflow unit tests), shared by the time-skipping
 * unit test and the dev-server integration test. Each call is recorded with
 * the server's schedule time of that attempt (skipped time on the test server).
 */
import { Context } from '@temporalio/activity';
import type { AlertActivities } from '../../../workflows/alert-activities.ts';
import type { AlertInput, ChainReceipt } from '../../../lib/alerts/types.ts';
import type { EscalationPolicy } from '../../../lib/alerts/policy.ts';
import { resolveTargets } from '../../../lib/oncall/targets.ts';

export interface FakeCall {
  name: keyof AlertActivities;
  /** Server time the attempt was scheduled, ms. */
  atMs: number;
  workflowId: string;
  input: any;
}

export function createFakeAlertActivities() {
  const calls: FakeCall[] = [];
  const chain = new Map<string, ChainReceipt>();
  let block = 0;
  /** While set, recordResolveOnChain waits for it (to observe the resolved-but-running window). */
  let resolveGate: Promise<void> | undefined;
  const rec = (name: keyof AlertActivities, input: unknown) => {
    const info = Context.current().info;
    calls.push({ name, atMs: info.currentAttemptScheduledTimestampMs, workflowId: info.workflowExecution?.workflowId ?? '', input });
  };
  // Idempotent like the real ledger: a second record of the same fact returns the first tx, flagged.
  const ledger = (key: string): ChainReceipt => {
    const prev = chain.get(key);
    if (prev) return { ...prev, alreadyRecorded: true };
    block++;
    const receipt = { txHash: `0x${block.toString(16).padStart(64, '0')}`, blockNumber: block, alreadyRecorded: false };
    chain.set(key, receipt);
    return receipt;
  };
  const activities: AlertActivities = {
    async postAlertMessage(input) {
      rec('postAlertMessage', input);
      return { channel: input.channel ?? 'C-DEFAULT', ts: `${1_700_000_000 + calls.length}.000100` };
    },
    async updateAlertMessage(input) {
      rec('updateAlertMessage', input);
    },
    async postEscalationReply(input) {
      rec('postEscalationReply', input);
    },
    // Notifier boundary: one call per channel and page; Slack-like refs so `state.slack` is filled as by the real adapter.
    async notifyPost(input) {
      rec('notifyPost', input);
      const ts = `${1_700_000_000 + calls.length}.000100`;
      const conversation = input.targets.find((t) => t.startsWith('C')) ?? 'C-DEFAULT';
      if (input.channel !== 'slack') return { channel: input.channel, kind: 'webhook', id: ts };
      return { channel: input.channel, kind: 'slack', id: ts, slack: { channel: conversation, ts } };
    },
    async notifyUpdate(input) {
      rec('notifyUpdate', input);
      return null;
    },
    async notifyFollowUp(input) {
      rec('notifyFollowUp', input);
      return null;
    },
    async recordAlertOnChain(input) {
      rec('recordAlertOnChain', input);
      return ledger(`raise:${input.alertId}:${input.raisedAtMs}`);
    },
    async recordAckOnChain(input) {
      rec('recordAckOnChain', input);
      return ledger(`ack:${input.alertId}`);
    },
    // No schedules, no silences: fixed targets pass through (tests of lib/oncall register the real activity instead).
    async preparePage(input) {
      rec('preparePage', input);
      return resolveTargets({ targets: input.targets ?? [] }, input.atMs, undefined);
    },
    async recordResolveOnChain(input) {
      rec('recordResolveOnChain', input);
      if (resolveGate) await resolveGate;
      return ledger(`resolve:${input.alertId}`);
    },
  };
  return {
    activities,
    calls,
    /** Holds recordResolveOnChain until the returned function is called. */
    holdResolve(): () => void {
      let release!: () => void;
      resolveGate = new Promise((r) => (release = r));
      return () => {
        resolveGate = undefined;
        release();
      };
    },
    /** Calls of one workflow (optionally of one activity), in execution order. */
    of(workflowId: string, name?: keyof AlertActivities): FakeCall[] {
      return calls.filter((c) => c.workflowId === workflowId && (name === undefined || c.name === name));
    },
  };
}

export function testAlert(device = 'GPU-0a1b2c3d', rule = 'gpu-temp-high'): AlertInput {
  return {
    alertId: `alert-${device}-${rule}`,
    device,
    rule,
    severity: 'critical',
    summary: 'temperature_c 91 > 85 for 30s',
    model: 'NVIDIA L4',
    host: 'node-1',
    values: { temperature_c: 91 },
    firedAt: '2024-01-31T12:34:56.000Z',
  };
}

export const threeLevelPolicy: EscalationPolicy = {
  levels: [
    { name: 'on-call', channel: 'C-ONCALL', users: ['U0ONCALL1'], waitFor: '5m' },
    { name: 'secondary', users: ['U0SECOND1'], waitFor: '10m' },
    { name: 'lead', users: ['U0LEAD001'], groups: ['S0GPUTEAM'], waitFor: '15m' },
  ],
  repeat: 1,
  autoResolveAfter: '10m',
  snoozeMax: '1h',
};

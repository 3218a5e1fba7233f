/**
 * Wire contract of the `alertEscalation` workflow: signals, updates, queries,
 * search attributes and the task queue. The API, the Slack endpoint and the
 * CLI import these constants to talk to the workflow. Safe for the workflow
 * sandbox (only @temporalio/workflow / @temporalio/common, no I/O).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { AckChannel, AlertState, ChainReceipt } from '../lib/alerts/types.ts';
import { SEARCH_ATTRIBUTES } from '../lib/temporal-names.ts';
import type { ActiveSilence } from '../lib/oncall/silence-match.ts';
import type { RuleFiringInput } from '../lib/alerts/incident.ts';

export type { RuleFiringInput } from '../lib/alerts/incident.ts';

/** Task queue served by the alerts worker. */
export const ALERTS_TASK_QUEUE = 'telemetry-alerts';

export interface AcknowledgeInput {
  by: string;
  via: AckChannel;
}
export interface AcknowledgeResult {
  /** The ledger transaction (null when no chain is configured). */
  receipt: ChainReceipt | null;
  state: AlertStateView;
}
export interface ResolveInput {
  by: string;
  reason: string;
}
export interface RecoveredInput {
  /** When the condition cleared (ISO 8601, data time). */
  at: string;
}
export interface FiringAgainInput {
  /** When the condition (re)started (ISO 8601, data time). */
  at: string;
  values: Record<string, number>;
}
export interface SnoozeInput {
  by: string;
  /** ms-style duration ("30m"); capped by the policy's snoozeMax. */
  duration: string;
}

/** AlertState plus when the next page happens (absent when nothing is scheduled). */
export interface AlertStateView extends AlertState {
  nextEscalationAt?: string;
  /** When the alert resolves itself if it stays quiet (recovered alerts only). */
  autoResolveAt?: string;
}

/** Acknowledge and wait for the ledger receipt (API, CLI). Rejected when the alert is resolved. */
export const acknowledgeUpdate = defineUpdate<AcknowledgeResult, [AcknowledgeInput]>('acknowledge');
/** Acknowledge, fire-and-forget (Slack interactivity must answer within 3 s). Same effect as the update. */
export const acknowledgeSignal = defineSignal<[AcknowledgeInput]>('acknowledgeSignal');
/** Close the alert by hand: records on chain, updates Slack, completes the workflow. */
export const resolveSignal = defineSignal<[ResolveInput]>('resolve');
/** The rule engine saw the condition clear: starts the auto-resolve quiet period. */
export const recoveredSignal = defineSignal<[RecoveredInput]>('recovered');
/** The condition is (still or again) firing; also the initial signal of signalWithStart, so harmless on first start. */
export const firingAgainSignal = defineSignal<[FiringAgainInput]>('firingAgain');
/** Pause escalation for a while (the remaining wait of the current level resumes afterwards). */
export const snoozeSignal = defineSignal<[SnoozeInput]>('snooze');
/** A silence matching this alert started (sent by the silence service to every matching running alert): pause paging until it ends. */
export const silenceSignal = defineSignal<[ActiveSilence]>('silence');
/** A silence was ended early (`silence remove`): the alert resumes or resolves per the silence's `onEnd`. */
export const unsilenceSignal = defineSignal<[UnsilenceInput]>('unsilence');
export interface UnsilenceInput {
  id: string;
  by: string;
}
/**
 * A rule of a grouped incident fired or recovered (lib/alerts/incident.ts): recorded in `firings`;
 * a firing acts as `firingAgain`, the last active rule's recovery as `recovered`. Also the initial
 * signal of a grouped incident's signalWithStart.
 */
export const ruleFiringSignal = defineSignal<[RuleFiringInput]>('ruleFiring');
/** Current state for Slack/CLI/API. */
export const stateQuery = defineQuery<AlertStateView>('state');

/** Custom search attributes so alerts can be listed and filtered in the Temporal UI / visibility API. */
export const AlertDeviceKey = defineSearchAttributeKey('AlertDevice', SearchAttributeType.KEYWORD);
export const AlertSeverityKey = defineSearchAttributeKey('AlertSeverity', SearchAttributeType.KEYWORD);
export const AlertStatusKey = defineSearchAttributeKey('AlertStatus', SearchAttributeType.KEYWORD);
export const AlertLevelKey = defineSearchAttributeKey('AlertLevel', SearchAttributeType.INT);
export const AlertRuleKey = defineSearchAttributeKey('AlertRule', SearchAttributeType.KEYWORD);

/** What the stack registers on the dev server: `--search-attribute AlertDevice=Keyword …` (one list, in lib). */
export const ALERT_SEARCH_ATTRIBUTES = SEARCH_ATTRIBUTES;

/** Same list as typed keys (TestWorkflowEnvironment.createLocal({ server: { searchAttributes } }), operator API). */
export const ALERT_SEARCH_ATTRIBUTE_KEYS = [AlertDeviceKey, AlertSeverityKey, AlertStatusKey, AlertLevelKey, AlertRuleKey];

/** `temporal server start-dev` arguments registering the attributes. */
export function alertSearchAttributeArgs(): string[] {
  return ALERT_SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a.name}=${a.type}`]);
}

/**
 * Wire types shared by the alert stage: the rule engine (activities), the
 * escalation workflow, the Slack and ledger activities, the API and the CLI.
 * Everything here must be JSON-serialisable (it crosses Temporal payloads).
 */

export type Severity = 'warning' | 'critical';
export type HealthClass = 'healthy' | 'degraded' | 'critical';

/** Lifecycle of one alert workflow. */
export type AlertStatus = 'firing' | 'acknowledged' | 'snoozed' | 'recovered' | 'resolved';

/** Who acknowledged, and through which surface. */
export type AckChannel = 'slack' | 'api' | 'console';

/** Input of `alertEscalation`, produced by the rule engine when a rule fires. */
export interface AlertInput {
  /** Stable id: `alert-<device>-<rule>` (see alertWorkflowId). */
  alertId: string;
  device: string;
  rule: string;
  severity: Severity;
  /** One-line human summary, e.g. "temperature_c 97 > 90 for 30s". */
  summary: string;
  model?: string;
  host?: string;
  /** The values that made the rule fire. */
  values: Record<string, number>;
  health?: { class: HealthClass; score: number; reasons: string[] };
  /** When the condition started (ISO 8601). */
  firedAt: string;
}

/** Where the alert's Slack message lives (for chat.update and thread replies). */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** A transaction on the ledger chain, returned to the workflow and shown in Slack. */
export interface ChainReceipt {
  txHash: string;
  blockNumber: number;
  /** True when the chain already had this record (an idempotent retry). */
  alreadyRecorded: boolean;
}

/** Snapshot returned by the `state` query and rendered in Slack/CLI/API. */
export interface AlertState {
  alert: AlertInput;
  status: AlertStatus;
  /** Current escalation level index (0-based). */
  level: number;
  /** How many times the whole policy has been repeated. */
  repeats: number;
  ack?: { by: string; via: AckChannel; at: string; receipt?: ChainReceipt };
  resolved?: { by: string; at: string; receipt?: ChainReceipt; reason: string };
  snoozedUntil?: string;
  recoveredAt?: string;
  slack?: SlackMessageRef;
  raisedReceipt?: ChainReceipt;
  history: { at: string; event: string }[];
}

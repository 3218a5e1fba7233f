/**
 * Wire types shared by the alert stage: the rule engine (activities), the
 * escalation workflow, the Slack and ledger activities, the API and the CLI.
 * Everything here must be JSON-serialisable (it crosses Temporal payloads).
 */

import type { RemediationRecord } from '../kube/remediation-types.ts';

export type Severity = 'warning' | 'critical';
export type HealthClass = 'healthy' | 'degraded' | 'critical';

/** Lifecycle of one alert workflow. */
export type AlertStatus = 'firing' | 'acknowledged' | 'snoozed' | 'silenced' | 'recovered' | 'resolved';

/** Who acknowledged, and through which surface. */
export type AckChannel = 'slack' | 'api' | 'console' | 'email' | 'ntfy' | 'webhook';

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
  /** The rule's group (alert rules `group`): firings of one device and group form one incident. */
  group?: string;
  /** Kubernetes node of the device (lib/kube/node-map.ts), when known: enables the node actions on the page. */
  node?: string;
  /** `shadow`: the rule scores and records but pages nobody (alert rules `mode`). Absent = `page`. */
  mode?: RuleMode;
  /** Evidence for the page (lib/alerts/triage.ts): deterministic, built only from the data. */
  triage?: TriageCard;
}

/** `page` pages people; `shadow` records the firing only (to compare a new rule or model on live data). */
export type RuleMode = 'page' | 'shadow';

/** The triage card of an alert: what the driver says, the catalog, what moved, the device's history, who decided. */
export interface TriageCard {
  v: 1;
  /** `rule <name> (<kind>)`, plus the health layers that decided when a health verdict is attached. */
  decidedBy: string[];
  /** The driver's fault signals on the deciding point (lib/point.ts FIELD_DOCS names). */
  driver: Record<string, number>;
  /** Catalog entries (XID / recovery action) with their recommended action and source. */
  catalog: { kind: string; code: number; name: string; severity: string; recommended_action: string; source: string }[];
  /** Sticky driver states still in force, with what clears them. */
  holds: { cause: string; class: string; since: string; action: string; clearsWhen: string }[];
  /** The first critical catalog/hold action, else the first one; absent when the data names none. */
  recommendedAction?: string;
  /** What moved versus the device's own range. */
  baseline: { field: string; value: number; mean: number; sd: number; z: number }[];
  /** What moved versus peers of the same model on the same host. */
  peers?: { field: string; value: number; median: number; n: number; z: number };
  /** Device limits used (headroom, slowdown temperature, power limits). */
  limits: Record<string, number>;
  /** This GPU's earlier unhealthy episodes known to the health scorer (data time); MTBI in hours. */
  history: { previousIncidents: number; lastIncidentAt?: string; mtbiHours?: number };
}

/** One rule firing inside an incident (an incident groups a device's overlapping firings). */
export interface IncidentFiring {
  rule: string;
  severity: Severity;
  summary: string;
  firstAt: string;
  lastAt: string;
  /** Times this rule (re)fired inside the incident. */
  count: number;
  /** False once the rule recovered (it may fire again). */
  active: boolean;
}

/** Where the alert's Slack message lives (for chat.update and thread replies). */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** A page's location as the state shows it (lib/notify/notifier.ts `NotifyRef`; kept structural to avoid an import cycle). */
export interface NotifyRefView {
  channel: string;
  kind: 'slack' | 'webhook' | 'email' | 'ntfy';
  id: string;
  data?: Record<string, string | number | boolean | string[]>;
  digest?: boolean;
  slack?: SlackMessageRef;
}

/** A transaction on the ledger chain, returned to the workflow and shown in Slack. */
export interface ChainReceipt {
  txHash: string;
  blockNumber: number;
  /** True when the chain already had this record (an idempotent retry). */
  alreadyRecorded: boolean;
  /** Ledger contract that holds the record (the audit checks it is the one it reads). */
  contract?: string;
  chainId?: number;
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
  /** Where the alert was paged, one entry per channel (opaque refs owned by activities/notify adapters). */
  notifications?: NotifyRefView[];
  raisedReceipt?: ChainReceipt;
  /** The silence pausing this alert (status `silenced`); lib/oncall/silence-match.ts `ActiveSilence`. */
  silence?: { id: string; endsAt: string; onEnd: 'resume' | 'resolve'; reason: string; by: string };
  /** Who the last page reached through on-call schedules (resolved when that level fired). */
  oncall?: { level: number; at: string; people: { schedule: string; person: string | null; source: string }[] };
  history: { at: string; event: string }[];
  /** Rule firings grouped into this incident (bounded, lib/alerts/incident.ts MAX_INCIDENT_FIRINGS). */
  firings?: IncidentFiring[];
  /** Node remediations run for this incident (quarantine/drain/release; newest last, bounded and compacted by lib/kube/remediation-records.ts). */
  remediations?: RemediationRecord[];
}

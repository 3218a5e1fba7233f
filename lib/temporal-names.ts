/** Task queues and workflow ids: defined once, derived from business keys. */

export const TASK_QUEUES = {
  collect: 'telemetry-collect',
  alerts: 'telemetry-alerts',
} as const;

/** One long-running collector per partition. */
export function collectorWorkflowId(partition: number): string {
  return `collector-p${partition}`;
}

/**
 * Custom search attributes of alert workflows, registered on the Temporal
 * server at start-up so alerts are filterable in the Temporal UI (e.g.
 * `AlertStatus="firing"`). The typed keys are in workflows/alert-messages.ts.
 */
export const SEARCH_ATTRIBUTES = [
  { name: 'AlertDevice', type: 'Keyword' },
  { name: 'AlertSeverity', type: 'Keyword' },
  { name: 'AlertStatus', type: 'Keyword' },
  { name: 'AlertLevel', type: 'Int' },
  { name: 'AlertRule', type: 'Keyword' },
] as const satisfies readonly { name: string; type: 'Keyword' | 'Int' }[];

/** prom-client metrics of node remediation, on the alerts worker's /metrics. */
import { Counter, Gauge } from 'prom-client';

export const remediationMetrics = {
  actions: new Counter({
    name: 'telemetry_remediation_actions_total',
    help: 'Node changes written by remediation (quarantine, release)',
    labelNames: ['action'] as const,
  }),
  evictions: new Counter({
    name: 'telemetry_remediation_evictions_total',
    help: 'Eviction API answers during drains (evicted, blocked = 429 by a PodDisruptionBudget, retry = other transient answer)',
    labelNames: ['result'] as const,
  }),
  apiErrors: new Counter({
    name: 'telemetry_remediation_kube_errors_total',
    help: 'Kubernetes API errors seen by remediation, by class',
    labelNames: ['code'] as const,
  }),
  requests: new Counter({
    name: 'telemetry_remediation_requests_total',
    help: 'Node action requests by surface (slack, api, cli, policy) and result (started, unknown_alert, no_node)',
    labelNames: ['via', 'result'] as const,
  }),
  quarantined: new Gauge({
    name: 'telemetry_remediation_quarantined_nodes',
    help: 'Nodes carrying the gpu-unhealthy label at the last circuit-breaker check',
  }),
};

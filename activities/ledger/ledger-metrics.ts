/** prom-client metrics of the ledger's proof side (audit, receipts, anchors), on the API's and the alerts worker's /metrics. */
import { Counter } from 'prom-client';

export const ledgerMetrics = {
  audits: new Counter({ name: 'telemetry_ledger_audits_total', help: 'Ledger audits by result (verified, mismatch, pending, absent)', labelNames: ['result'] as const }),
  receipts: new Counter({ name: 'telemetry_ledger_receipts_total', help: 'Standalone receipts issued (ok) or not (error)', labelNames: ['result'] as const }),
  anchors: new Counter({
    name: 'telemetry_ledger_anchors_total',
    help: 'Checkpoint anchoring attempts by result (anchored, unchanged, refused = a witness refused, error)',
    labelNames: ['result'] as const,
  }),
};

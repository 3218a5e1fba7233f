/** Helpers shared by the pipeline end-to-end tests. */
import { Client, Connection } from '@temporalio/client';
import { InfluxReader } from '../../lib/influx/query.ts';
import type { TestStack } from './test-stack.ts';
import type { AlertInput } from '../../lib/alerts/types.ts';
import { eventually } from './processes.ts';

export function readerFor(s: TestStack): InfluxReader {
  const ep = s.stack.endpoints.influxdb!;
  return new InfluxReader({ url: ep.url, token: ep.token, org: ep.org, bucket: ep.bucket });
}

/** Waits until exactly `n` points are stored (and stays there for `settleMs`: no late duplicates). */
export async function waitForCount(s: TestStack, n: number, timeoutMs: number, range: { from?: string; to?: string; device?: string } = {}): Promise<number> {
  const r = readerFor(s);
  await eventually(() => r.countPoints(range), (c) => c >= n, timeoutMs, `count to reach ${n}`, 1_000);
  return r.countPoints(range);
}

export async function temporalClient(s: TestStack): Promise<{ client: Client; close(): Promise<void> }> {
  const conn = await Connection.connect({ address: s.stack.endpoints.temporal!.address });
  return { client: new Client({ connection: conn, namespace: s.cfg.TEMPORAL_NAMESPACE }), close: () => conn.close() };
}

/** A critical temperature alert fired a minute ago on `device`: what the alert-flow tests signal. */
export function criticalTempAlert(device: string): AlertInput {
  return {
    alertId: '',
    device,
    rule: 'gpu-temp-critical',
    severity: 'critical',
    summary: 'temperature_c 97 > 90',
    values: { temperature_c: 97 },
    firedAt: new Date(Date.now() - 60_000).toISOString(),
  };
}

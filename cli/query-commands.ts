/** `query` and `alerts`: thin shells over InfluxReader and the alerts service. */
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../lib/config.ts';
import { InfluxReader } from '../lib/influx/query.ts';
import { resolveEndpoints } from '../infra/stack/endpoints.ts';
import { createAlertsService } from '../api/alerts-service.ts';
import type { AlertsService } from '../api/services.ts';

export function reader(cfg: Config): InfluxReader {
  return new InfluxReader(resolveEndpoints(cfg).influxdb);
}

export async function withAlerts<T>(cfg: Config, fn: (svc: AlertsService) => Promise<T>): Promise<T> {
  const ep = resolveEndpoints(cfg);
  const connection = await Connection.connect({ address: ep.temporal.address });
  try {
    return await fn(createAlertsService(new Client({ connection, namespace: ep.temporal.namespace })));
  } finally {
    await connection.close();
  }
}

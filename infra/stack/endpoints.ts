/**
 * Where the servers are, for every process that is not `up` itself (workers,
 * API, CLI commands): explicit env settings win; otherwise the run state that
 * `up` wrote to DATA_DIR/run/stack.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../../lib/config.ts';
import { readState } from './state.ts';
import type { StackEndpoints } from './stack.ts';

export class StackNotRunningError extends Error {
  override name = 'StackNotRunningError';
  constructor(readonly component: string, readonly envVar: string) {
    super(`${component} is not configured and no local stack is running: run \`telemetry-stack up\` first, or set ${envVar}.`);
  }
}

/** Only the NATS URL, for commands that need nothing else (`dlq`): env first, else the running stack's. */
export function resolveNatsUrl(cfg: Config, dataDir = resolve(cfg.DATA_DIR)): string {
  const url = cfg.NATS_URL ?? (readState(dataDir)?.components.nats?.url as string | undefined);
  if (!url) throw new StackNotRunningError('NATS', 'NATS_URL');
  return url;
}

export function resolveEndpoints(cfg: Config, dataDir = resolve(cfg.DATA_DIR)): Required<StackEndpoints> {
  const state = readState(dataDir);
  const c = state?.components ?? {};
  const temporalAddress = cfg.TEMPORAL_ADDRESS ?? (c.temporal?.address as string | undefined);
  if (!temporalAddress) throw new StackNotRunningError('Temporal', 'TEMPORAL_ADDRESS');
  const natsUrl = cfg.NATS_URL ?? (c.nats?.url as string | undefined);
  if (!natsUrl) throw new StackNotRunningError('NATS', 'NATS_URL');
  const influxUrl = cfg.INFLUXDB_URL ?? (c.influxdb?.url as string | undefined);
  if (!influxUrl) throw new StackNotRunningError('InfluxDB', 'INFLUXDB_URL');
  const tokenFile = cfg.INFLUXDB_TOKEN_FILE ?? (c.influxdb?.tokenFile as string | undefined) ?? join(dataDir, 'influx-token');
  const token = cfg.INFLUXDB_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (!token) throw new StackNotRunningError('InfluxDB token', 'INFLUXDB_TOKEN or INFLUXDB_TOKEN_FILE');
  const rpcUrl = cfg.CHAIN_RPC_URL ?? (c.chain?.rpcUrl as string | undefined);
  if (!rpcUrl) throw new StackNotRunningError('EVM chain', 'CHAIN_RPC_URL');
  return {
    temporal: { address: temporalAddress, namespace: cfg.TEMPORAL_NAMESPACE, ui: c.temporal?.ui as string | undefined },
    nats: { url: natsUrl, monitorUrl: c.nats?.monitor as string | undefined },
    influxdb: { url: influxUrl, token, org: cfg.INFLUXDB_ORG, bucket: cfg.INFLUXDB_BUCKET, tokenFile },
    chain: { rpcUrl, chainId: Number(c.chain?.chainId ?? 0) },
  };
}

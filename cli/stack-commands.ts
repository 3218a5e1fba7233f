/**
 * `up`, `down`, `status`: a thin shell over infra/stack. `up` starts the
 * servers (or uses external ones from env), then the workers and the API, and
 * owns them all: Ctrl-C or `down` stops exactly what it started.
 */
import { spawn } from 'node:child_process';
import { openSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../lib/config.ts';
import { connectNats, ensureTopology } from '../lib/stream/jetstream.ts';
import { startStack, type RunningStack } from '../infra/stack/stack.ts';
import { clearState, readState, writeState, type StackState } from '../infra/stack/state.ts';
import { httpOk, isAlive, stopPid, waitUntilReady, type ManagedServer } from '../infra/stack/process.ts';
import { rpcCall } from '../infra/stack/chain.ts';
import { maskToken } from '../infra/stack/influxdb.ts';
import { resolveEndpoints } from '../infra/stack/endpoints.ts';
import { taskQueueHasPollers, temporalReady } from '../infra/stack/temporal.ts';
import { REPO_ROOT, spawnService, type ServiceName } from './services.ts';

export interface UpOptions {
  detach?: boolean;
  workers?: boolean;
  api?: boolean;
  /** Called once everything is up (npm start replays the sample here). */
  afterUp?: (stack: UpHandle) => Promise<void>;
  log?: (msg: string) => void;
}

export interface UpHandle {
  stack: RunningStack;
  services: Map<ServiceName, ManagedServer>;
  stop(): Promise<void>;
  /** Resolves when the stack is stopped (signal or `down`). */
  done: Promise<void>;
}

export class AlreadyRunningError extends Error {
  override name = 'AlreadyRunningError';
}

/** Starts everything and returns once ready. Does not install signal handlers (see runUp). */
export async function up(cfg: Config, opts: UpOptions = {}): Promise<UpHandle> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const dataDir = resolve(cfg.DATA_DIR);
  const prior = readState(dataDir);
  if (prior && isAlive(prior.ownerPid))
    throw new AlreadyRunningError(`the stack is already running (pid ${prior.ownerPid}); run \`telemetry-stack down\` first`);
  const t0 = performance.now();
  const stack = await startStack({ cfg, dataDir, onProgress: log });
  const state: StackState = { ownerPid: process.pid, startedAt: new Date().toISOString(), components: stack.components };
  writeState(dataDir, state);
  log(`servers ready in ${((performance.now() - t0) / 1_000).toFixed(1)} s`);

  // Stream topology before any service: producers and consumers agree on it.
  const nc = await connectNats(stack.endpoints.nats!.url, 'telemetry-up');
  await ensureTopology(await nc.jetstreamManager(), cfg);
  await nc.close();

  const services = new Map<ServiceName, ManagedServer>();
  const stopAll = async () => {
    await Promise.all([...services.values()].map((s) => s.stop()));
    await stack.stop();
    const s = readState(dataDir);
    if (s?.ownerPid === process.pid) clearState(dataDir);
  };
  try {
    const want: ServiceName[] = [];
    if (opts.workers !== false) want.push('alerts-worker', 'collect-worker');
    if (opts.api !== false) want.push('api');
    for (const name of want) {
      const { child, server, logFile } = spawnService(name, { dataDir });
      services.set(name, server);
      state.components[name] = { pid: server.pid, log: logFile };
      writeState(dataDir, state);
      if (name === 'api') {
        const url = `http://${cfg.API_HOST}:${cfg.API_PORT}`;
        await waitUntilReady('api', () => httpOk(`${url}/ready`), { timeoutMs: 60_000, child, logFile });
        state.components.api = { ...state.components.api, url, docs: `${url}/docs` };
      } else {
        const queue = name === 'collect-worker' ? 'telemetry-collect' : 'telemetry-alerts';
        await waitUntilReady(name, () => taskQueueHasPollers(stack.endpoints.temporal!.address, cfg.TEMPORAL_NAMESPACE, queue), {
          timeoutMs: 120_000,
          child,
          logFile,
          intervalMs: 500,
        });
        state.components[name] = { ...state.components[name], taskQueue: queue };
      }
      writeState(dataDir, state);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  log(`stack up in ${((performance.now() - t0) / 1_000).toFixed(1)} s`);
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping: Promise<void> | undefined;
  return {
    stack,
    services,
    done,
    stop: () => (stopping ??= stopAll().finally(resolveDone)),
  };
}

export function printUrls(cfg: Config, h: UpHandle, out: (s: string) => void = console.log): void {
  const c = h.stack.components;
  out('');
  out(`  Temporal UI   ${c.temporal?.ui ?? '(external)'}   namespace ${cfg.TEMPORAL_NAMESPACE}`);
  out(`  Temporal      ${c.temporal?.address ?? cfg.TEMPORAL_ADDRESS}`);
  out(`  API           http://${cfg.API_HOST}:${cfg.API_PORT}   (OpenAPI: /docs)`);
  if (cfg.CONSOLE_ENABLED) out(`  Console       http://${cfg.API_HOST}:${cfg.API_PORT}/   (log in with an API key; development: dev-admin-key)`);
  out(`  InfluxDB      ${c.influxdb?.url ?? cfg.INFLUXDB_URL}   org ${cfg.INFLUXDB_ORG}, bucket ${cfg.INFLUXDB_BUCKET}, token ${h.stack.endpoints.influxdb ? maskToken(h.stack.endpoints.influxdb.token) : '?'} (in ${c.influxdb?.tokenFile ?? 'INFLUXDB_TOKEN'})`);
  out(`  NATS          ${c.nats?.url ?? cfg.NATS_URL}   monitor ${c.nats?.monitor ?? '-'}`);
  out(`  EVM chain     ${c.chain?.rpcUrl ?? cfg.CHAIN_RPC_URL}   chain id ${c.chain?.chainId ?? '?'}`);
  out('');
}

/** Foreground `up`: Ctrl-C / SIGTERM stops everything it started. */
export async function runUp(cfg: Config, opts: UpOptions = {}): Promise<void> {
  const h = await up(cfg, opts);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      console.error(`\n${sig}: stopping the stack…`);
      void h.stop();
    });
  printUrls(cfg, h);
  // A service that dies is reported; the rest keeps running.
  for (const [name, s] of h.services)
    void (async () => {
      while (isAlive(s.pid)) await sleep(1_000);
      console.error(`${name} exited; see ${join(resolve(cfg.DATA_DIR), 'logs', `${name}.log`)}`);
    })();
  await opts.afterUp?.(h);
  await h.done;
}

/** `up --detach`: re-runs `up` in the background and returns once it is ready. */
export async function upDetached(cfg: Config, argv: string[]): Promise<void> {
  const dataDir = resolve(cfg.DATA_DIR);
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const logFile = join(dataDir, 'logs', 'up.log');
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'cli/main.ts'), ...argv.filter((a) => a !== '--detach' && a !== '-d')], {
    cwd: process.cwd(),
    env: process.env,
    stdio: ['ignore', out, out],
    detached: true,
  });
  child.unref();
  const deadline = Date.now() + 45 * 60_000; // the first run may build influxd
  while (Date.now() < deadline) {
    const s = readState(dataDir);
    if (s && s.ownerPid === child.pid && s.components.api?.url !== undefined && s.components['collect-worker']?.taskQueue) {
      console.log(`stack running in the background (pid ${child.pid}); logs: ${logFile}; stop with \`telemetry-stack down\``);
      return;
    }
    if (child.exitCode !== null || !isAlive(child.pid!)) throw new Error(`background up exited; see ${logFile}`);
    await sleep(500);
  }
  throw new Error(`background up not ready in time; see ${logFile}`);
}

/** Stops the stack `up` started: asks the owner to stop, then cleans up whatever is left. */
export async function down(cfg: Config, log: (s: string) => void = console.error): Promise<boolean> {
  const dataDir = resolve(cfg.DATA_DIR);
  const s = readState(dataDir);
  if (!s) {
    log('no stack is running');
    return false;
  }
  if (isAlive(s.ownerPid) && s.ownerPid !== process.pid) {
    await stopPid(s.ownerPid, 60_000);
  }
  // Owner gone (crashed or killed): stop any component it left behind, by recorded pid only.
  for (const [name, c] of Object.entries(s.components)) {
    if (c.pid && isAlive(c.pid)) {
      log(`stopping leftover ${name} (pid ${c.pid})`);
      await stopPid(c.pid);
    }
  }
  clearState(dataDir);
  log('stack stopped');
  return true;
}

export interface ComponentStatus {
  up: boolean;
  [key: string]: unknown;
}

/** Health of every component; JSON shape documented in the README. */
export async function status(cfg: Config): Promise<{ components: Record<string, ComponentStatus> }> {
  const dataDir = resolve(cfg.DATA_DIR);
  const s = readState(dataDir);
  const comps = s?.components ?? {};
  const out: Record<string, ComponentStatus> = {};
  let ep: ReturnType<typeof resolveEndpoints> | undefined;
  try {
    ep = resolveEndpoints(cfg, dataDir);
  } catch {
    ep = undefined;
  }
  const t = comps.temporal ?? {};
  out.temporal = {
    up: ep ? await temporalReady(ep.temporal.address, cfg.TEMPORAL_NAMESPACE).catch(() => false) : false,
    address: ep?.temporal.address ?? cfg.TEMPORAL_ADDRESS ?? null,
    ui: (t.ui as string | undefined) ?? null,
    namespace: cfg.TEMPORAL_NAMESPACE,
    version: t.version ?? null,
    binary: t.source ? `${t.source}: ${t.binary}` : null,
  };
  const n = comps.nats ?? {};
  let jetstream = false;
  if (ep) {
    try {
      const nc = await connectNats(ep.nats.url, 'telemetry-status');
      try {
        const info = await (await nc.jetstreamManager()).getAccountInfo();
        jetstream = info.streams >= 0;
      } finally {
        await nc.close();
      }
    } catch {
      jetstream = false;
    }
  }
  out.nats = { up: jetstream, url: ep?.nats.url ?? null, monitor: n.monitor ?? null, jetstream, version: n.version ?? null, binary: n.source ? `${n.source}: ${n.binary}` : null };
  const i = comps.influxdb ?? {};
  out.influxdb = {
    up: ep ? await httpOk(`${ep.influxdb.url}/health`).catch(() => false) : false,
    url: ep?.influxdb.url ?? null,
    org: cfg.INFLUXDB_ORG,
    bucket: cfg.INFLUXDB_BUCKET,
    version: i.version ?? null,
    binary: i.source ? `${i.source}: ${i.binary}` : null,
  };
  const ch = comps.chain ?? {};
  let block: number | null = null;
  let chainId: number | null = null;
  if (ep) {
    try {
      chainId = Number(BigInt(await rpcCall<string>(ep.chain.rpcUrl, 'eth_chainId')));
      block = Number(BigInt(await rpcCall<string>(ep.chain.rpcUrl, 'eth_blockNumber')));
    } catch {
      /* down */
    }
  }
  out.chain = { up: chainId !== null, rpcUrl: ep?.chain.rpcUrl ?? null, chainId, block, kind: ch.kind ?? (ch.external ? 'external' : null) };
  const api = comps.api ?? {};
  out.api = {
    up: api.url ? await httpOk(`${api.url as string}/health`).catch(() => false) : false,
    url: api.url ?? null,
    docs: api.docs ?? null,
    pid: api.pid ?? null,
  };
  for (const w of ['collect-worker', 'alerts-worker'] as const) {
    const c = comps[w] ?? {};
    out[w] = { up: Boolean(c.pid && isAlive(c.pid)), pid: c.pid ?? null, taskQueue: c.taskQueue ?? null };
  }
  return { components: out };
}

/**
 * One benchmark's own stack: an isolated stack (infra/stack/isolated-stack.ts:
 * free ports, temp data dir, removed at the end), the JetStream topology, and
 * the workers / API as child processes started from an isolated environment,
 * each waited for until it really serves. Knows the pid of every process a
 * benchmark measures. Ctrl-C during a benchmark stops every stack still up.
 */
import { httpOk, waitUntilReady, type ManagedServer } from '../../infra/stack/process.ts';
import { isolatedProcessEnv, startIsolatedStack, type IsolatedStack } from '../../infra/stack/isolated-stack.ts';
import { ALL_COMPONENTS, type ComponentName, type RunningStack } from '../../infra/stack/stack.ts';
import { taskQueueHasPollers } from '../../infra/stack/temporal.ts';
import type { Config } from '../../lib/config.ts';
import { connectNats, ensureTopology } from '../../lib/stream/jetstream.ts';
import { TASK_QUEUES } from '../../lib/temporal-names.ts';
import type { JetStreamManager, NatsConnection } from 'nats';
import { spawnService, type ServiceName } from '../services.ts';

/** Stand-in chain URL for stacks without anvil: every process resolves all endpoints, but the collect path never calls the chain. */
const NO_CHAIN_RPC_URL = 'http://127.0.0.1:9/no-chain-in-this-benchmark';

/** Measured processes: the servers and this stack's children. */
export type ProcessRole = 'temporal' | 'nats' | 'influxd' | 'chain' | ServiceName;

export interface BenchStackOptions {
  /** Settings for the stack and every child (PARTITIONS_PER_TOPIC, HEALTH_BACKEND, …). */
  env?: Record<string, string>;
  /** Start anvil (the alerts worker records alerts on chain). */
  chain?: boolean;
  services?: ServiceName[];
  log: (msg: string) => void;
}

export interface BenchStack {
  cfg: Config;
  /** Complete environment for a child pointed at this stack (nothing inherited that points elsewhere). */
  childEnv: Record<string, string>;
  dataDir: string;
  /** The servers themselves (the chaos suite stops and restarts them; a restarted one is pushed onto `servers`). */
  running: RunningStack;
  nc: NatsConnection;
  jsm: JetStreamManager;
  influx: { url: string; token: string; org: string; bucket: string };
  /** Base URL of the API child (once started). */
  apiUrl: string;
  pids(): Partial<Record<ProcessRole, number>>;
  /** Starts a child and waits until it serves; `env` adds settings for this child only. */
  startService(name: ServiceName, env?: Record<string, string>): Promise<void>;
  stopService(name: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

/** What must be undone if the benchmark is interrupted: stacks still up, temp dirs, in-process servers. */
const cleanups = new Set<() => Promise<void> | void>();
let interruptInstalled = false;

/** Registers `undo` to run on SIGINT/SIGTERM; returns the function that unregisters it (call it once undone). */
export function onInterrupt(undo: () => Promise<void> | void): () => void {
  cleanups.add(undo);
  return () => cleanups.delete(undo);
}

/** On SIGINT/SIGTERM: run every registered cleanup (stacks, children, temp dirs), then exit 130. */
export function stopStacksOnInterrupt(): void {
  if (interruptInstalled) return;
  interruptInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      console.error(`\n${sig}: stopping the benchmark's servers…`);
      void Promise.allSettled([...cleanups].map(async (undo) => undo())).then(() => process.exit(130));
    });
}

export async function startBenchStack(o: BenchStackOptions): Promise<BenchStack> {
  const components: ComponentName[] = o.chain ? ALL_COMPONENTS : ['temporal', 'nats', 'influxdb'];
  const t0 = performance.now();
  const iso: IsolatedStack = await startIsolatedStack({
    components,
    tempPrefix: 'telemetry-bench-',
    // BENCH_KEEP_DATA=1 keeps the stack's data dir (service logs in logs/) for a look after the run.
    keepData: process.env.BENCH_KEEP_DATA === '1',
    env: { ...(o.chain ? {} : { CHAIN_RPC_URL: NO_CHAIN_RPC_URL }), ...o.env },
  });
  const childEnv = { ...isolatedProcessEnv(), ...iso.env };
  const ep = iso.stack.endpoints;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  try {
    nc = await connectNats(ep.nats!.url, 'telemetry-bench');
    jsm = await nc.jetstreamManager();
    // The topology before any child: ingest, API and collectors agree on it.
    await ensureTopology(jsm, iso.cfg);
  } catch (err) {
    await iso.stop();
    throw err;
  }
  o.log(`servers up in ${((performance.now() - t0) / 1_000).toFixed(1)} s (${components.join(', ')}; data in ${iso.dataDir})`);
  const services = new Map<ServiceName, ManagedServer>();
  let stopping: Promise<void> | undefined;
  let unregister = () => {};

  const stack: BenchStack = {
    cfg: iso.cfg,
    childEnv,
    dataDir: iso.dataDir,
    running: iso.stack,
    nc,
    jsm,
    influx: { url: ep.influxdb!.url, token: ep.influxdb!.token, org: ep.influxdb!.org, bucket: ep.influxdb!.bucket },
    apiUrl: `http://127.0.0.1:${iso.cfg.API_PORT}`,
    pids() {
      const out: Partial<Record<ProcessRole, number>> = {};
      for (const s of iso.stack.servers) out[s.name === 'influxdb' ? 'influxd' : (s.name as ProcessRole)] = s.pid;
      for (const [name, s] of services) out[name] = s.pid;
      return out;
    },
    async startService(name, env) {
      const { child, server, logFile } = spawnService(name, { dataDir: iso.dataDir, env: { ...iso.env, ...env }, baseEnv: isolatedProcessEnv() });
      services.set(name, server);
      const ready =
        name === 'api'
          ? () => httpOk(`${stack.apiUrl}/ready`)
          : () => taskQueueHasPollers(ep.temporal!.address, iso.cfg.TEMPORAL_NAMESPACE, name === 'collect-worker' ? TASK_QUEUES.collect : TASK_QUEUES.alerts);
      await waitUntilReady(name, ready, { timeoutMs: 180_000, child, logFile, intervalMs: 300 });
    },
    async stopService(name) {
      await services.get(name)?.stop();
      services.delete(name);
    },
    stop() {
      stopping ??= (async () => {
        await Promise.allSettled([...services.values()].map((s) => s.stop()));
        await nc.close().catch(() => {});
        await iso.stop();
        unregister();
      })();
      return stopping;
    },
  };
  unregister = onInterrupt(() => stack.stop());
  try {
    const t1 = performance.now();
    await Promise.all((o.services ?? []).map((name) => stack.startService(name)));
    if (o.services?.length) o.log(`${o.services.join(', ')} ready in ${((performance.now() - t1) / 1_000).toFixed(1)} s`);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

/**
 * The chaos suite's one stack, shared by every scenario (each scenario owns
 * its host, devices and alert, so nothing it counts overlaps another's): the
 * bench stack (cli/bench/bench-stack.ts) with anvil, both workers and the API
 * as child processes, the local Slack stand-in in THIS process, and two more
 * API children whose clock is skewed by ±10 min (the clock-skew scenario).
 *
 * Faults act on the real servers: `outage()` stops one (SIGTERM or SIGKILL),
 * keeps it down, and starts it again on the same port and data, as an
 * operator's restart would; the restarted server replaces the old one in the
 * stack, so `stop()` still ends everything.
 *
 * Hazard: the Slack stand-in serves the alerts worker from this process;
 * nothing here may block the event loop (no sync child processes).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ANVIL_DEV_KEY, startAnvil } from '../../infra/stack/chain.ts';
import { FakeSlackServer } from '../../infra/stack/fake-slack-server.ts';
import { startInflux } from '../../infra/stack/influxdb.ts';
import { startNats } from '../../infra/stack/nats.ts';
import { freePort, httpOk, isAlive, waitUntilReady, type ManagedServer } from '../../infra/stack/process.ts';
import { startTemporal } from '../../infra/stack/temporal.ts';
import { isolatedProcessEnv } from '../../infra/stack/isolated-stack.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal-names.ts';
import { loadLedgerAddress } from '../../activities/ledger/ledger-activities.ts';
import { LedgerClient } from '../../activities/ledger/ledger-client.ts';
import { onInterrupt, startBenchStack, type BenchStack } from '../bench/bench-stack.ts';
import { spawnService } from '../services.ts';
import { CHAOS_RULE } from './chaos-data.ts';

export const CHAOS_CHANNEL = 'C0CHAOSALERT';
/** The skew of the clock-skew scenario's API children, seconds (the issue's ±10 min). */
export const CLOCK_SKEW_S = 600;

export type ChaosServer = 'nats' | 'influxdb' | 'temporal' | 'chain';

export interface ChaosStackOptions {
  health: boolean;
  log: (msg: string) => void;
}

export interface ChaosStack {
  bench: BenchStack;
  slack: FakeSlackServer;
  signingSecret: string;
  /** Base URLs of the API children whose clock runs CLOCK_SKEW_S ahead / behind. */
  skewedApiUrl: { ahead: string; behind: string };
  /** Stops `server` (SIGKILL with `kill`, else SIGTERM) and waits until it is gone. */
  stopServer(server: ChaosServer, o?: { kill?: boolean }): Promise<void>;
  /** Starts `server` again on its port and data; resolves once it serves. */
  startServer(server: ChaosServer): Promise<void>;
  /** stopServer, `downMs` down, startServer. */
  outage(server: ChaosServer, o: { downMs: number; kill?: boolean }): Promise<void>;
  /** SIGKILL a worker and start a new one (resolves once it polls again). */
  killWorker(name: 'collect-worker' | 'alerts-worker'): Promise<void>;
  ledger(): Promise<LedgerClient>;
  stop(): Promise<void>;
}

export async function startChaosStack(o: ChaosStackOptions): Promise<ChaosStack> {
  const slack = await new FakeSlackServer().start();
  // A fresh secret per run: this throw-away stack accepts clicks signed with it and nothing else.
  const signingSecret = randomBytes(24).toString('hex');
  let bench: BenchStack;
  try {
    bench = await startBenchStack({
      chain: true,
      log: o.log,
      env: {
        PARTITIONS_PER_TOPIC: '2',
        HEALTH_BACKEND: o.health ? 'onnx' : 'off',
        // Outages of 30 s must be retried through, not exhausted: short steps, many attempts.
        RETRY_INITIAL_MS: '300',
        RETRY_MAX_MS: '2000',
        RETRY_ATTEMPTS: '500',
        // A batch fetched by a killed or failed attempt comes back after this (the default 30 s would dominate every scenario).
        VISIBILITY_TIMEOUT: '10',
        HTTP_TIMEOUT: '5000',
        // The heartbeat would (rightly) page about the collector during the outages; the scenarios count only their own alert.
        HEARTBEAT_INTERVAL_S: '0',
        SLACK_BOT_TOKEN: `xoxb-chaos-${randomBytes(6).toString('hex')}`,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: slack.apiUrl,
        SLACK_CHANNEL: CHAOS_CHANNEL,
        // With CHAIN_RPC_URL set (the stack sets it) the worker does not fall back to anvil's dev key; this chain is throw-away.
        CHAIN_PRIVATE_KEY: ANVIL_DEV_KEY,
      },
    });
  } catch (err) {
    await slack.stop();
    throw err;
  }
  const { dataDir } = bench;
  const rulesFile = join(dataDir, 'chaos-rules.json');
  const policyFile = join(dataDir, 'chaos-escalation.json');
  writeFileSync(rulesFile, JSON.stringify({ rules: [CHAOS_RULE] }, null, 2));
  // One level with a long wait: no escalation during a run, so every page counted is the alert's first post.
  writeFileSync(policyFile, JSON.stringify({ default: { levels: [{ name: 'on-call', channel: CHAOS_CHANNEL, users: ['U0CHAOS01'], waitFor: '30m' }], repeat: 0, autoResolveAfter: '2h', snoozeMax: '1h' } }, null, 2));
  Object.assign(bench.childEnv, { ALERT_RULES_FILE: rulesFile, ESCALATION_POLICY_FILE: policyFile });
  const serviceEnv = { ALERT_RULES_FILE: rulesFile, ESCALATION_POLICY_FILE: policyFile };
  const extra: ManagedServer[] = [];
  // The skewed API children are not the bench stack's: Ctrl-C / SIGTERM must stop them too.
  const unregister = onInterrupt(async () => void (await Promise.allSettled(extra.map((s) => s.stop()))));
  const stopAll = async () => {
    await Promise.allSettled(extra.map((s) => s.stop()));
    unregister();
    await bench.stop();
    await slack.stop();
  };
  try {
    const t0 = performance.now();
    // The alerts worker deploys the ledger; the API reads its address at start-up, so it comes after.
    await Promise.all([bench.startService('collect-worker', serviceEnv), bench.startService('alerts-worker', serviceEnv)]);
    const skewed = async (offsetS: number): Promise<string> => {
      const port = await freePort();
      const { child, server, logFile } = spawnService('api', {
        dataDir,
        env: { ...bench.childEnv, ...serviceEnv, API_PORT: String(port), API_CLOCK_OFFSET_S: String(offsetS) },
        baseEnv: isolatedProcessEnv(),
      });
      extra.push(server);
      const url = `http://127.0.0.1:${port}`;
      await waitUntilReady(`api (clock ${offsetS > 0 ? '+' : ''}${offsetS} s)`, () => httpOk(`${url}/ready`), { timeoutMs: 180_000, child, logFile, intervalMs: 300 });
      return url;
    };
    const [, ahead, behind] = await Promise.all([bench.startService('api', serviceEnv), skewed(CLOCK_SKEW_S), skewed(-CLOCK_SKEW_S)]);
    o.log(`workers and 3 API processes ready in ${((performance.now() - t0) / 1_000).toFixed(1)} s`);

    const cfg = bench.cfg;
    const component = (name: string) => bench.running.components[name]!;
    const restart: Record<ChaosServer, () => Promise<ManagedServer>> = {
      nats: async () => startNats({ bin: component('nats').binary as string, dataDir, port: cfg.NATS_PORT, monitorPort: cfg.NATS_MONITOR_PORT }),
      influxdb: async () => startInflux({ bin: component('influxdb').binary as string, dataDir, port: cfg.INFLUXDB_PORT, org: cfg.INFLUXDB_ORG, bucket: cfg.INFLUXDB_BUCKET }),
      temporal: async () =>
        startTemporal({
          bin: component('temporal').binary as string,
          dataDir: join(dataDir, 'temporal'),
          port: cfg.TEMPORAL_PORT,
          uiPort: cfg.TEMPORAL_UI_PORT,
          namespace: cfg.TEMPORAL_NAMESPACE,
          searchAttributes: [...SEARCH_ATTRIBUTES],
          headless: true,
        }),
      chain: async () => {
        const node = await startAnvil({ port: cfg.CHAIN_PORT, dataDir, bin: component('chain').binary as string });
        return { name: 'chain', pid: node.pid, stop: () => node.stop() };
      },
    };
    const clients: LedgerClient[] = [];
    const stopServer = async (server: ChaosServer, f?: { kill?: boolean }) => {
      const current = [...bench.running.servers].reverse().find((s) => s.name === server);
      if (!current) throw new Error(`no ${server} in the chaos stack`);
      if (f?.kill) {
        process.kill(current.pid, 'SIGKILL');
        while (isAlive(current.pid)) await sleep(20);
      }
      await current.stop();
    };
    const startServer = async (server: ChaosServer) => {
      bench.running.servers.push(await restart[server]());
    };

    return {
      bench,
      slack,
      signingSecret,
      skewedApiUrl: { ahead, behind },
      stopServer,
      startServer,
      async outage(server, f) {
        await stopServer(server, f);
        await sleep(f.downMs);
        await startServer(server);
      },
      async killWorker(name) {
        const pid = bench.pids()[name];
        if (pid === undefined) throw new Error(`no ${name} running`);
        process.kill(pid, 'SIGKILL');
        await bench.stopService(name);
        await bench.startService(name, serviceEnv);
      },
      async ledger() {
        const saved = await loadLedgerAddress(dataDir);
        if (!saved) throw new Error(`no ledger deployed (no ${join(dataDir, 'ledger.json')})`);
        const l = await LedgerClient.connect({ rpcUrl: bench.childEnv.CHAIN_RPC_URL!, privateKey: ANVIL_DEV_KEY, address: saved.address, fromBlock: saved.deployBlock ?? 0 });
        clients.push(l);
        return l;
      },
      async stop() {
        for (const l of clients) l.close();
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

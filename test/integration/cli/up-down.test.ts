/**
 * The stack lifecycle through the real CLI, as a user runs it: `up --detach`
 * on free ports with a temp DATA_DIR, `status --json`, `down`; afterwards no
 * process `up` started is left and every port is free again. Plus the CLI's
 * front door: a bad config value is named, and `--help` works everywhere.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, portOpen } from '../../../infra/stack/process.ts';
import { stateFile, type StackState } from '../../../infra/stack/state.ts';
import { eventually, runCli } from '../../support/processes.ts';

const PORT_VARS = ['TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'NATS_PORT', 'NATS_MONITOR_PORT', 'INFLUXDB_PORT', 'CHAIN_PORT', 'API_PORT', 'WORKER_METRICS_PORT'] as const;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

type Status = { components: Record<string, { up: boolean; [k: string]: unknown }> };
const COMPONENTS = ['temporal', 'nats', 'influxdb', 'chain', 'api', 'collect-worker', 'alerts-worker'];

describe('up --detach → status → down', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let ports: Record<string, number>;
  let state: StackState | undefined;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'telemetry-cli-'));
    ports = {};
    for (const v of PORT_VARS) ports[v] = await freePort();
    env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      HEALTH_BACKEND: 'off',
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    };
  });
  after(async () => {
    // Whatever happened, leave nothing running: `down` by recorded pids, then the temp dir.
    if (state) {
      runCli(['down'], env);
      for (const pid of [state.ownerPid, ...Object.values(state.components).flatMap((c) => (c.pid ? [c.pid] : []))])
        if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('up --detach returns once everything is ready and records every pid', () => {
    const r = runCli(['up', '--detach'], env);
    assert.equal(r.status, 0, `up --detach failed: ${r.stderr}\n${r.stdout}`);
    assert.match(r.stdout, /stack running in the background \(pid \d+\)/);
    state = JSON.parse(readFileSync(stateFile(dataDir), 'utf8')) as StackState;
    assert.ok(alive(state.ownerPid), 'the background owner runs');
    for (const c of COMPONENTS) {
      const pid = state.components[c]?.pid;
      assert.ok(Number.isInteger(pid) && alive(pid!), `${c} has a live pid in stack.json (${pid})`);
    }
  });

  test('status --json: every component up, with the documented shape', async () => {
    assert.ok(state, 'stack is up');
    const r = runCli(['status', '--json'], env);
    assert.equal(r.status, 0, r.stderr);
    const s = r.json as unknown as Status;
    assert.deepEqual(Object.keys(s.components).sort(), [...COMPONENTS].sort());
    for (const c of COMPONENTS) assert.equal(s.components[c]!.up, true, `${c}: ${JSON.stringify(s.components[c])}`);
    const { temporal, nats, influxdb, chain, api } = s.components as Record<string, Record<string, unknown>>;
    assert.equal(temporal!.address, `127.0.0.1:${ports.TEMPORAL_PORT}`);
    assert.equal(temporal!.namespace, 'telemetry');
    assert.match(String(temporal!.ui), /^http:\/\/[^/]+:\d+/);
    assert.ok(String(temporal!.ui).includes(String(ports.TEMPORAL_UI_PORT)), `UI on TEMPORAL_UI_PORT: ${temporal!.ui}`);
    assert.ok((await fetch(String(temporal!.ui))).ok, 'the Temporal UI answers');
    assert.equal(typeof temporal!.version, 'string');
    assert.equal(nats!.jetstream, true);
    assert.equal(nats!.url, `nats://127.0.0.1:${ports.NATS_PORT}`);
    assert.equal(influxdb!.url, `http://127.0.0.1:${ports.INFLUXDB_PORT}`);
    assert.equal(influxdb!.bucket, 'telem_bucket');
    assert.equal(chain!.chainId, 31337);
    assert.equal(typeof chain!.block, 'number');
    assert.equal(chain!.rpcUrl, `http://127.0.0.1:${ports.CHAIN_PORT}`);
    assert.equal(api!.url, `http://127.0.0.1:${ports.API_PORT}`);
    assert.ok((await fetch(`${api!.url}/health`)).ok);
    assert.equal(s.components['collect-worker']!.taskQueue, 'telemetry-collect');
    assert.equal(s.components['alerts-worker']!.taskQueue, 'telemetry-alerts');
    assert.equal(s.components['collect-worker']!.pid, state.components['collect-worker']!.pid);
    // The collect worker serves /metrics on WORKER_METRICS_PORT.
    const m = await eventually(() => fetch(`http://127.0.0.1:${ports.WORKER_METRICS_PORT}/metrics`).then((x) => x.status), (x) => x === 200, 10_000, 'worker /metrics');
    assert.equal(m, 200);
  });

  test('a second up while running is refused, naming the running owner', () => {
    assert.ok(state, 'stack is up');
    const r = runCli(['up'], env);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`already running \\(pid ${state.ownerPid}\\)`));
  });

  test('down stops every recorded process and frees every port; status then reports all down', async () => {
    assert.ok(state, 'stack is up');
    const pids = [state.ownerPid, ...COMPONENTS.map((c) => state!.components[c]!.pid!)];
    const r = runCli(['down'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /stack stopped/);
    for (const pid of pids) await eventually(async () => alive(pid), (a) => !a, 15_000, `pid ${pid} to exit`, 200);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
    for (const [name, port] of Object.entries(ports)) assert.equal(await portOpen('127.0.0.1', port), false, `${name} ${port} is free`);
    const st = runCli(['status', '--json'], env);
    const s = st.json as unknown as Status;
    assert.deepEqual(Object.keys(s.components).sort(), [...COMPONENTS].sort());
    for (const c of COMPONENTS) assert.equal(s.components[c]!.up, false, `${c} reports down`);
    // The human form exits non-zero when something is down.
    assert.equal(runCli(['status'], env).status, 1);
    state = undefined;
    await sleep(0);
  });
});

describe('CLI front door', () => {
  test('a bad config value exits non-zero naming the variable', () => {
    const r = runCli(['status'], { QUEUE_SIZE: 'abc', DATA_DIR: join(tmpdir(), 'telemetry-no-stack') });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Invalid configuration/);
    assert.match(r.stderr, /QUEUE_SIZE/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'a message, not a stack trace');
  });

  const commands: [string[], RegExp][] = [
    [['up'], /--detach/],
    [['down'], /stop the stack/],
    [['status'], /--json/],
    [['ingest'], /<files\.\.\.>/],
    [['parse'], /<file>/],
    [['query', 'count'], /--device/],
    [['query', 'series'], /--field/],
    [['alerts', 'list'], /--status/],
    [['alerts', 'ack'], /<id>/],
  ];
  test('--help works on every command', () => {
    for (const [cmd, mentions] of commands) {
      // A config that would fail to load proves --help never needs one.
      const r = runCli([...cmd, '--help'], { QUEUE_SIZE: 'abc' });
      assert.equal(r.status, 0, `${cmd.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: telemetry-stack ${cmd.join(' ')} `), cmd.join(' '));
      assert.match(r.stdout, mentions, cmd.join(' '));
    }
  });
});

/**
 * Access that cannot be spoofed or starved, on real servers: the real API in
 * process over Temporal, JetStream, InfluxDB and a real alerts worker whose
 * ledger is on an anvil this file stops and restarts (same port, `--state`).
 * Who acknowledged is the key's identity (on chain too); bad-key floods use
 * up only their own IP's bucket; SSE caps and slow clients; InfluxDB down →
 * our 503; chain down → the ack answers within 5 s and is mined after.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestStack, filteredProcessEnv, type TestStack } from '../../support/test-stack.ts';
import { eventually, startAlertsWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { criticalTempAlert, temporalClient } from '../../support/pipeline.ts';
import { startApi } from '../../support/api-server.ts';
import { clickButton } from '../../support/fake-slack-server.ts';
import { ANVIL_DEV_KEY, startAnvil, type ChainNode } from '../../../infra/stack/chain.ts';
import { freePort } from '../contracts/ledger-harness.ts';
import { loadConfig, type Config } from '../../../lib/config.ts';
import { alertWorkflowId } from '../../../lib/alerts/ids.ts';
import type { AlertState } from '../../../lib/alerts/types.ts';
import { createAlertSignaller } from '../../../activities/alerts/signal-alert.ts';
import type { Client } from '@temporalio/client';

const POLICY = { default: { levels: [{ name: 'on-call', waitFor: '10m' }], repeat: 0, autoResolveAfter: '10m', snoozeMax: '1h' } };
const SLACK_SECRET = 'access-test-signing-secret';
const K = {
  oncall: 'oncall-key-0123456789abc',
  bot: 'pagerbot-key-0123456789abc',
  reader: 'reader-key-0123456789abc',
  reader2: 'reader2-key-0123456789abc',
  ingest: 'ingest-key-0123456789abc',
} as const;
const API_KEYS = [
  `oncall-bot=${K.oncall}:read+ack`,
  `pagerbot=${K.bot}:ack+act-as`,
  `dash=${K.reader}:read`,
  `dash2=${K.reader2}:read`,
  `collector=${K.ingest}:ingest`,
].join(',');
const ANON_PER_MIN = 100;
const SSE_BUFFER = 64 * 1024;

let s: TestStack;
let chainPort: number;
let chain: ChainNode;
let chainDir: string;
let env: Record<string, string>;
let worker: ChildHandle;
let temporal: { client: Client; close(): Promise<void> };
let cfg: Config;
let api: Awaited<ReturnType<typeof startApi>>;

const H = (key: string) => ({ 'x-api-key': key });
const JSON_H = (key: string) => ({ ...H(key), 'content-type': 'application/json' });

async function fire(device: string): Promise<string> {
  const a = criticalTempAlert(device);
  await createAlertSignaller({ client: temporal.client, policyFor: () => POLICY.default }).fire(a);
  const id = alertWorkflowId(device, a.rule);
  await eventually(
    () => state(id),
    (st) => Boolean(st?.raisedReceipt),
    90_000,
    `raise of ${id} on chain`,
  );
  return id;
}
async function state(id: string): Promise<AlertState | undefined> {
  const r = await fetch(`${api.url}/v1/alerts/${id}`, { headers: H(K.reader) });
  return r.status === 200 ? ((await r.json()) as AlertState) : undefined;
}
const post = (path: string, key: string, body?: unknown) =>
  fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: body === undefined ? H(key) : JSON_H(key),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

before(async () => {
  s = await startTestStack({ components: ['temporal', 'nats', 'influxdb'], env: { HEALTH_BACKEND: 'off' } });
  chainPort = await freePort();
  chainDir = join(s.dataDir, 'anvil');
  chain = await startAnvil({ port: chainPort, dataDir: chainDir });
  const policyFile = join(s.dataDir, 'escalation-policy.json');
  writeFileSync(policyFile, JSON.stringify(POLICY));
  env = { ...s.env, CHAIN_RPC_URL: chain.rpcUrl, CHAIN_PRIVATE_KEY: ANVIL_DEV_KEY, ESCALATION_POLICY_FILE: policyFile };
  worker = startAlertsWorker(env);
  await waitForPoller(env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-alerts', 90_000);
  temporal = await temporalClient(s);
  cfg = loadConfig({
    ...filteredProcessEnv(),
    ...env,
    API_KEYS,
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    RATE_LIMIT_ANON_PER_MIN: String(ANON_PER_MIN),
    SSE_MAX_PER_KEY: '2',
    SSE_MAX_CONNECTIONS: '3',
    SSE_MAX_BUFFER_BYTES: String(SSE_BUFFER),
    SSE_STALL_MS: '3000',
    CORS_ORIGINS: '',
  });
  api = await startApi(cfg);
});

after(async () => {
  await api?.close();
  await temporal?.close();
  await worker?.stop();
  await chain?.stop();
  await s?.stop();
});

describe('who acknowledged is the authenticated caller', () => {
  test('an ack records the key identity, on chain too; a body `by` without act-as → 403', async () => {
    const id = await fire('GPU-access-1');
    const spoofed = await post(`/v1/alerts/${id}/ack`, K.oncall, { by: 'alice' });
    assert.equal(spoofed.status, 403);
    assert.match(((await spoofed.json()) as { message: string }).message, /"act-as"/);
    assert.equal((await state(id))?.ack, undefined, 'nothing acknowledged by the refused request');

    const res = await post(`/v1/alerts/${id}/ack`, K.oncall);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { by: string; chain: string; receipt: { txHash: string } };
    assert.deepEqual([body.by, body.chain], ['key:oncall-bot', 'recorded']);
    assert.match(body.receipt.txHash, /^0x[0-9a-f]{64}$/);
    const st = await state(id);
    assert.equal(st?.ack?.by, 'key:oncall-bot');
    assert.equal(st?.ack?.via, 'api');
    // The audit recomputes keccak256(state.ack.by) and compares it with the chain's responderHash.
    const audit = (await (await fetch(`${api.url}/v1/alerts/${id}/audit`, { headers: H(K.reader) })).json()) as {
      verified: boolean;
      mismatches: unknown[];
    };
    assert.deepEqual([audit.verified, audit.mismatches], [true, []], JSON.stringify(audit));
  });

  test('an act-as key names who it acts for: both recorded, and that string is on chain', async () => {
    const id = await fire('GPU-access-2');
    const res = await post(`/v1/alerts/${id}/ack`, K.bot, { by: 'alice@example.com' });
    assert.equal(res.status, 200);
    assert.equal((await state(id))?.ack?.by, 'alice@example.com (by key:pagerbot)');
    const audit = (await (await fetch(`${api.url}/v1/alerts/${id}/audit`, { headers: H(K.reader) })).json()) as { verified: boolean };
    assert.equal(audit.verified, true);
  });

  test('ack and resolve of a closed (resolved) alert → 409 naming it, never a 500', async () => {
    const id = await fire('GPU-access-3');
    assert.equal((await post(`/v1/alerts/${id}/resolve`, K.oncall, { reason: 'fixed the fan' })).status, 202);
    await eventually(
      () => temporal.client.workflow.getHandle(id).describe(),
      (d) => d.status.name === 'COMPLETED',
      60_000,
      'workflow completed',
    );
    for (const op of ['ack', 'resolve']) {
      const r = await post(`/v1/alerts/${id}/${op}`, K.oncall);
      assert.equal(r.status, 409, `${op} after close`);
      const b = (await r.json()) as { error: string; message: string };
      assert.equal(b.error, 'alert_closed');
      assert.match(b.message, new RegExp(id));
    }
    assert.equal((await state(id))?.resolved?.by, 'key:oncall-bot');
  });
});

describe('rate limits anonymous traffic cannot use to lock out others', () => {
  test('300 bad-key requests from one IP, then a valid key and a signed Slack click from the same IP → served', async () => {
    const id = await fire('GPU-access-slack');
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const r = await fetch(`${api.url}/v1/devices`, { headers: H(`bad-key-${i}-0123456789`) });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      await r.arrayBuffer();
    }
    assert.equal(statuses.get(401), ANON_PER_MIN, `first ${ANON_PER_MIN} are 401: ${JSON.stringify([...statuses])}`);
    assert.equal(statuses.get(429), 300 - ANON_PER_MIN, 'then the anonymous bucket of this IP is empty');
    const keyed = await fetch(`${api.url}/v1/alerts`, { headers: H(K.reader) });
    assert.equal(keyed.status, 200, 'a valid key from the same IP has its own bucket');
    const click = await clickButton({
      url: `${api.url}/slack/interactions`,
      signingSecret: SLACK_SECRET,
      alertId: id,
      action: 'ack',
      user: { id: 'U024BE7LH', name: 'alice' },
    });
    assert.equal(click.status, 200, click.body);
    const st = await eventually(
      () => state(id),
      (x) => x?.ack !== undefined,
      30_000,
      'ack from Slack',
    );
    assert.equal(st?.ack?.by, 'slack:alice', 'the Slack user, not anything the body claims');
    assert.equal(st?.ack?.via, 'slack');
    // A forged click is refused (and counted in the unsigned bucket, not Slack's).
    const forged = await clickButton({
      url: `${api.url}/slack/interactions`,
      signingSecret: 'not-the-secret',
      alertId: id,
      action: 'resolve',
      user: { id: 'U1', name: 'mallory' },
    });
    assert.equal(forged.status, 401);
  });

  test('empty CORS_ORIGINS → no cross-origin access', async () => {
    const r = await fetch(`${api.url}/v1/alerts`, { headers: { ...H(K.reader), origin: 'http://localhost:3000' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });
});

describe('SSE cannot exhaust the API', () => {
  test('connection caps: a third stream for one key and a fourth in total → 429', async () => {
    const open: AbortController[] = [];
    const stream = async (key: string) => {
      const ac = new AbortController();
      open.push(ac);
      const r = await fetch(`${api.url}/v1/stream`, { headers: H(key), signal: ac.signal });
      if (r.status !== 200) await r.text();
      return r;
    };
    try {
      assert.equal((await stream(K.reader)).status, 200);
      assert.equal((await stream(K.reader)).status, 200);
      const third = await stream(K.reader);
      assert.equal(third.status, 429);
      assert.ok(third.headers.get('retry-after'));
      assert.equal((await stream(K.reader2)).status, 200, 'another key still gets one');
      const fourth = await stream(K.oncall);
      assert.equal(fourth.status, 429, 'global cap');
    } finally {
      for (const ac of open) ac.abort();
    }
    // Slots are given back when clients leave.
    await eventually(
      async () => {
        const r = await fetch(`${api.url}/v1/stream`, { headers: H(K.reader) });
        const ok = r.status;
        await r.body?.cancel();
        return ok;
      },
      (st) => st === 200,
      10_000,
      'slot released',
    );
  });

  test('a client that stops reading is dropped with its queue bounded; nothing is buffered without limit', async () => {
    await eventually(
      () => metric('telemetry_api_sse_connections'),
      (n) => n === 0,
      10_000,
      'no streams open',
    );
    const droppedBefore = await metric('telemetry_api_sse_dropped_total');
    const sock: Socket = netConnect({ host: '127.0.0.1', port: Number(new URL(api.url).port) });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => {});
    sock.write(`GET /v1/stream HTTP/1.1\r\nHost: x\r\nX-API-Key: ${K.reader}\r\n\r\n`);
    sock.pause(); // never read: the kernel buffers fill, then the API's queue
    // ~200 KB of SSE data per request; far more than the kernel buffers plus the 64 KiB cap.
    const T0 = BigInt(Date.UTC(2025, 5, 1)) * 1_000_000n;
    await eventually(
      () => metric('telemetry_api_sse_connections'),
      (n) => n === 1,
      10_000,
      'the stream is open',
    );
    let dropped = false;
    for (let b = 0; b < 150 && !dropped; b++) {
      const points = Array.from({ length: 1_000 }, (_, i) => ({
        device: `GPU-slow-${i % 50}`,
        ts: String(T0 + BigInt(b * 1_000 + i) * 1_000_000n),
        fields: { temperature_c: 40 + (i % 10), power_w: 300.5 },
      }));
      const r = await fetch(`${api.url}/v1/telemetry`, { method: 'POST', headers: JSON_H(K.ingest), body: JSON.stringify({ points }) });
      assert.equal(r.status, 202, await r.text());
      dropped = (await metric('telemetry_api_sse_dropped_total')) > droppedBefore;
    }
    // The drop is the API's decision (queue over SSE_MAX_BUFFER_BYTES, or no drain for SSE_STALL_MS).
    await eventually(
      () => metric('telemetry_api_sse_dropped_total'),
      (n) => n > droppedBefore,
      20_000,
      'the stalled client counted as dropped',
    );
    assert.equal(await metric('telemetry_api_sse_connections'), 0, 'its slot is free');
    // A paused socket sees the close only after reading what was already in flight.
    sock.resume();
    await eventually(
      async () => closed,
      (c) => c,
      20_000,
      'the connection was closed by the API',
    );
    sock.destroy();
  });
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith('#')) sum += Number(line.split(' ').at(-1));
  return sum;
}

describe('dependencies down: bounded answers, our own errors', () => {
  test('chain down → the ack answers within 5 s (recorded in the workflow, chain pending); mined once the node returns', async () => {
    const id = await fire('GPU-access-chain');
    await chain.stop();
    const t0 = performance.now();
    const res = await post(`/v1/alerts/${id}/ack`, K.oncall);
    const elapsedMs = performance.now() - t0;
    assert.ok(elapsedMs < 5_000, `answered in ${Math.round(elapsedMs)} ms`);
    console.error(`chain down: the ack answered in ${Math.round(elapsedMs)} ms`);
    assert.equal(res.status, 202);
    const body = (await res.json()) as { chain: string; receipt: unknown; by: string };
    assert.deepEqual([body.chain, body.receipt, body.by], ['pending', null, 'key:oncall-bot']);
    const pending = await state(id);
    assert.equal(pending?.status, 'acknowledged', 'recorded in the workflow at once');
    assert.equal(pending?.ack?.receipt, undefined, 'chain write visibly pending');

    chain = await startAnvil({ port: chainPort, dataDir: chainDir });
    const mined = await eventually(
      () => state(id),
      (st) => Boolean(st?.ack?.receipt),
      120_000,
      'ack mined after the node returned',
    );
    assert.match(mined!.ack!.receipt!.txHash, /^0x[0-9a-f]{64}$/);
    const audit = (await (await fetch(`${api.url}/v1/alerts/${id}/audit`, { headers: H(K.reader) })).json()) as { verified: boolean };
    assert.equal(audit.verified, true, 'exactly the recorded ack is on chain');
  });

  test('InfluxDB refusing (bad token) and stopped → our 503, never its status or body', async () => {
    // A second API whose token InfluxDB refuses: the client's HttpError carries InfluxDB's 401 and JSON body.
    const badToken = await startApi(loadConfig({ ...filteredProcessEnv(), ...env, API_KEYS, INFLUXDB_TOKEN: 'wrong-token-for-this-test' }));
    try {
      const r = await fetch(`${badToken.url}/v1/devices`, { headers: H(K.reader) });
      const text = await r.text();
      assert.equal(r.status, 503, text);
      assert.deepEqual(JSON.parse(text), {
        error: 'upstream_unavailable',
        message: 'the time-series store (InfluxDB) is unavailable; retry later',
      });
      assert.equal(r.headers.get('retry-after'), '5');
    } finally {
      await badToken.close();
    }
    // Last in this file: stop the stack's influxd itself.
    const influxd = s.stack.servers.find((x) => /influx/i.test(x.name));
    assert.ok(influxd, `stack servers: ${s.stack.servers.map((x) => x.name).join(', ')}`);
    await influxd.stop();
    const r = await fetch(`${api.url}/v1/devices`, { headers: H(K.reader) });
    const text = await r.text();
    assert.equal(r.status, 503, text);
    assert.doesNotMatch(text, /ECONNREFUSED|127\.0\.0\.1|:8086|fetch failed|unauthorized access/i);
    assert.equal(JSON.parse(text).error, 'upstream_unavailable');
    const ready = await fetch(`${api.url}/ready`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { checks: { influxdb: boolean } }).checks.influxdb, false);
  });
});

/**
 * `telemetry-stack alerts ack|resolve|snooze` as a child process, through the
 * real API (in process) over Temporal, JetStream, InfluxDB and a real alerts
 * worker with its ledger on anvil: the identity recorded — in the workflow and
 * on chain — is the name of the key the CLI presents; a spoofed `--by` with a
 * key lacking act-as is refused with exit 4 and nothing recorded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestStack, filteredProcessEnv, type TestStack } from '../../support/test-stack.ts';
import { eventually, runCliAsync, startAlertsWorker, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { criticalTempAlert, temporalClient } from '../../support/pipeline.ts';
import { startApi } from '../../support/api-server.ts';
import { ANVIL_DEV_KEY, startAnvil, type ChainNode } from '../../../infra/stack/chain.ts';
import { freePort } from '../contracts/ledger-harness.ts';
import { loadConfig } from '../../../lib/config.ts';
import { alertWorkflowId } from '../../../lib/alerts/ids.ts';
import type { AlertState } from '../../../lib/alerts/types.ts';
import { createAlertSignaller } from '../../../activities/alerts/signal-alert.ts';
import { API_CALL_ERRORS } from '../../../cli/api-client.ts';
import type { Client } from '@temporalio/client';

const POLICY = { default: { levels: [{ name: 'on-call', waitFor: '10m' }], repeat: 0, autoResolveAfter: '10m', snoozeMax: '1h' } };
const K = { oncall: 'cli-oncall-key-0123456789', bot: 'cli-pagerbot-key-0123456789', reader: 'cli-reader-key-0123456789' } as const;
const API_KEYS = [`oncall-cli=${K.oncall}:read+ack`, `pagerbot=${K.bot}:ack+act-as`, `dash=${K.reader}:read`].join(',');

let s: TestStack;
let chain: ChainNode;
let worker: ChildHandle;
let temporal: { client: Client; close(): Promise<void> };
let api: Awaited<ReturnType<typeof startApi>>;
let env: Record<string, string>;
const keyFile: Record<keyof typeof K, string> = { oncall: '', bot: '', reader: '' };

/** The CLI as an operator runs it: the API's URL and a key file, nothing else about the stack. */
const cli = (args: string[], key: keyof typeof K, extra: Record<string, string> = {}) =>
  runCliAsync(args, { NODE_ENV: 'test', TELEMETRY_API_URL: api.url, TELEMETRY_API_KEY_FILE: keyFile[key], ...extra });

async function state(id: string): Promise<AlertState | undefined> {
  const r = await fetch(`${api.url}/v1/alerts/${id}`, { headers: { 'x-api-key': K.reader } });
  return r.status === 200 ? ((await r.json()) as AlertState) : undefined;
}

async function fire(device: string): Promise<string> {
  const a = criticalTempAlert(device);
  await createAlertSignaller({ client: temporal.client, policyFor: () => POLICY.default }).fire(a);
  const id = alertWorkflowId(device, a.rule);
  await eventually(() => state(id), (st) => Boolean(st?.raisedReceipt), 90_000, `raise of ${id} on chain`);
  return id;
}

before(async () => {
  s = await startTestStack({ components: ['temporal', 'nats', 'influxdb'], env: { HEALTH_BACKEND: 'off' } });
  chain = await startAnvil({ port: await freePort(), dataDir: join(s.dataDir, 'anvil') });
  const policyFile = join(s.dataDir, 'escalation-policy.json');
  writeFileSync(policyFile, JSON.stringify(POLICY));
  env = { ...s.env, CHAIN_RPC_URL: chain.rpcUrl, CHAIN_PRIVATE_KEY: ANVIL_DEV_KEY, ESCALATION_POLICY_FILE: policyFile };
  worker = startAlertsWorker(env);
  await waitForPoller(env.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-alerts', 90_000);
  temporal = await temporalClient(s);
  api = await startApi(loadConfig({ ...filteredProcessEnv(), ...env, API_KEYS }));
  for (const k of Object.keys(K) as (keyof typeof K)[]) {
    keyFile[k] = join(s.dataDir, `${k}.key`);
    writeFileSync(keyFile[k], `${K[k]}\n`, { mode: 0o600 });
  }
});

after(async () => {
  await api?.close();
  await temporal?.close();
  await worker?.stop();
  await chain?.stop();
  await s?.stop();
});

describe('the CLI acknowledges as the API key it uses', () => {
  test('alerts ack records key:<name> in the alert state and on the ledger; a spoofed --by without act-as → exit 4, nothing recorded', async () => {
    const id = await fire('GPU-cli-ack-1');

    const spoofed = await cli(['alerts', 'ack', id, '--by', 'alice'], 'oncall');
    assert.equal(spoofed.status, API_CALL_ERRORS.forbidden.exitCode, spoofed.stderr);
    assert.match(spoofed.stderr, /refused \(403\): this key acts as "key:oncall-cli"; .*"act-as" scope/);
    assert.equal((await state(id))?.ack, undefined, 'nothing acknowledged by the refused request');

    const r = await cli(['alerts', 'ack', id, '--json'], 'oncall');
    assert.equal(r.status, 0, r.stderr);
    const answer = r.json as { by: string; chain: string; receipt: { txHash: string; blockNumber: number } };
    assert.deepEqual([answer.by, answer.chain], ['key:oncall-cli', 'recorded']);
    assert.match(answer.receipt.txHash, /^0x[0-9a-f]{64}$/);
    const st = await state(id);
    assert.deepEqual([st?.ack?.by, st?.ack?.via], ['key:oncall-cli', 'api']);
    // The audit recomputes keccak256(state.ack.by) and compares it with the responderHash the chain holds.
    const audit = (await (await fetch(`${api.url}/v1/alerts/${id}/audit`, { headers: { 'x-api-key': K.reader } })).json()) as { verified: boolean; mismatches: unknown[] };
    assert.deepEqual([audit.verified, audit.mismatches], [true, []], JSON.stringify(audit));

    const human = await cli(['alerts', 'resolve', id, '--reason', 'replaced the fan'], 'oncall');
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /resolve accepted as key:oncall-cli/);
    await eventually(() => state(id), (x) => x?.resolved !== undefined, 30_000, 'resolved').then((x) => assert.equal(x?.resolved?.by, 'key:oncall-cli'));
  });

  test('an act-as key with --by records both, and that string is what the ledger holds', async () => {
    const id = await fire('GPU-cli-ack-2');
    const r = await cli(['alerts', 'ack', id, '--by', 'alice@example.com'], 'bot');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /acknowledged as alice@example\.com \(by key:pagerbot\); ledger tx 0x[0-9a-f]{64} in block \d+/);
    assert.equal((await state(id))?.ack?.by, 'alice@example.com (by key:pagerbot)');
    const audit = (await (await fetch(`${api.url}/v1/alerts/${id}/audit`, { headers: { 'x-api-key': K.reader } })).json()) as { verified: boolean };
    assert.equal(audit.verified, true);
  });

  test('API errors → clear messages and their exit codes: unknown key 401, read-only key 403, unknown alert 404, closed alert 409, API down', async () => {
    const id = await fire('GPU-cli-ack-3');
    const badKey = join(s.dataDir, 'bad.key');
    writeFileSync(badKey, 'not-a-known-key-0123456789\n');
    const unknown = await cli(['alerts', 'ack', id], 'oncall', { TELEMETRY_API_KEY_FILE: badKey });
    assert.equal(unknown.status, API_CALL_ERRORS.unauthorized.exitCode, unknown.stderr);
    assert.match(unknown.stderr, new RegExp(`does not accept the key from TELEMETRY_API_KEY_FILE ${badKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(401\\)`));
    assert.doesNotMatch(unknown.stderr + unknown.stdout, /not-a-known-key/, 'the key itself is never printed');

    const readOnly = await cli(['alerts', 'ack', id], 'reader');
    assert.equal(readOnly.status, API_CALL_ERRORS.forbidden.exitCode, readOnly.stderr);
    assert.match(readOnly.stderr, /lacks the "ack" scope/);

    const missing = await cli(['alerts', 'ack', 'alert-no-such-device-rule'], 'oncall');
    assert.equal(missing.status, API_CALL_ERRORS.not_found.exitCode, missing.stderr);
    assert.match(missing.stderr, /not found \(404\): no alert alert-no-such-device-rule/);

    const snoozed = await cli(['alerts', 'snooze', id, '--for', '30m', '--json'], 'oncall');
    assert.equal(snoozed.status, 0, snoozed.stderr);
    assert.equal((snoozed.json as { by: string }).by, 'key:oncall-cli');
    const badDuration = await cli(['alerts', 'snooze', id, '--for', 'soon'], 'oncall');
    assert.equal(badDuration.status, API_CALL_ERRORS.bad_request.exitCode, badDuration.stderr);
    assert.match(badDuration.stderr, /rejected the request \(400\):.*duration/);

    assert.equal((await cli(['alerts', 'resolve', id], 'oncall')).status, 0);
    await eventually(() => temporal.client.workflow.getHandle(id).describe(), (d) => d.status.name === 'COMPLETED', 60_000, 'workflow completed');
    const closed = await cli(['alerts', 'ack', id], 'oncall');
    assert.equal(closed.status, API_CALL_ERRORS.conflict.exitCode, closed.stderr);
    assert.match(closed.stderr, new RegExp(`refused \\(409\\): alert ${id} is closed`));

    const port = await freePort();
    const down = await cli(['alerts', 'ack', id, '--api-url', `http://127.0.0.1:${port}`], 'oncall');
    assert.equal(down.status, API_CALL_ERRORS.unreachable.exitCode, down.stderr);
    assert.match(down.stderr, /cannot reach the API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\).*--direct/);

    const noKey = await runCliAsync(['alerts', 'ack', id], { NODE_ENV: 'test', TELEMETRY_API_URL: api.url });
    assert.equal(noKey.status, 1);
    assert.match(noKey.stderr, /no API key for the CLI: .*TELEMETRY_API_KEY_FILE/);
  });

  test('--direct (break glass, API down) goes straight to Temporal and records cli:<user>@<host>, not a free string', async () => {
    const id = await fire('GPU-cli-ack-4');
    const r = await runCliAsync(['alerts', 'ack', id, '--direct', '--by', 'alice', '--json'], { ...env, NODE_ENV: 'test' });
    assert.equal(r.status, 0, r.stderr);
    const by = (await state(id))?.ack?.by;
    assert.match(by ?? '', /^alice \(by cli:[^@]+@.+\)$/);
    assert.equal((r.json as { by: string; direct: boolean }).by, by);
  });
});

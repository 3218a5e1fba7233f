/**
 * The audit that verifies, and one ledger across restarts, on real servers: Temporal dev
 * server, nats-server (registry KV), anvil, and the real alerts worker as a child process.
 *
 * - a real ack through the workflow's Update is audited `verified: true` by a reader that
 *   has NO private key in its environment;
 * - a tampered workflow state, and a second contract holding another record under the same
 *   key, give `verified: false` naming the fields, and the latter raises the
 *   `pipeline`/`ledger-audit-mismatch` operational alert;
 * - the alerts worker restarted with an EMPTY data dir reuses the same contract (registry),
 *   and the old audit still verifies;
 * - a new contract version is deployed beside the old one and the audit reads both.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { ContractFactory, JsonRpcProvider, Wallet } from 'ethers';
import { startTestStack, filteredProcessEnv, type TestStack } from '../../support/test-stack.ts';
import { eventually, startAlertsWorker, startNodeProcess, waitForPoller, type ChildHandle } from '../../support/processes.ts';
import { criticalTempAlert, temporalClient } from '../../support/pipeline.ts';
import { ANVIL_DEV_KEY } from '../../../infra/stack/chain.ts';
import { loadConfig, type Config } from '../../../lib/config.ts';
import { createLogger } from '../../../lib/logger.ts';
import { ledgerKey, alertWorkflowId } from '../../../lib/alerts/ids.ts';
import type { AlertState } from '../../../lib/alerts/types.ts';
import { createAlertSignaller } from '../../../activities/alerts/signal-alert.ts';
import { createAlertsService } from '../../../api/alerts-service.ts';
import { readAuditFromChain, type AuditAnswer, type AuditReaderHandle } from '../../../api/audit-reader.ts';
import { loadLedgerAddress } from '../../../activities/ledger/ledger-deployment.ts';
import { ensureLedger } from '../../../activities/ledger/ledger-activities.ts';
import { KvLedgerRegistry, LedgerRegistryError, MAX_LEDGER_VERSIONS } from '../../../activities/ledger/ledger-registry.ts';
import { LedgerClient } from '../../../activities/ledger/ledger-client.ts';
import { LEDGER_MISMATCH_RULE, type AuditResult } from '../../../activities/ledger/ledger-audit.ts';
import { loadLedgerArtifact } from '../../../contracts/compile.ts';
import { connectNats } from '../../../lib/stream/jetstream.ts';
import { ANVIL_KEY_1, freePort } from './ledger-harness.ts';
import { generateSignerKey, parseSignerKey, verifierKeyOf } from '../../../lib/ledger/signed-note.ts';
import { verifyReceiptOnline } from '../../../lib/ledger/receipt.ts';
import { runVerify } from '../../../cli/verify-commands.ts';

const logger = createLogger('silent');
const POLICY = { default: { levels: [{ name: 'on-call', waitFor: '10m' }], repeat: 0, autoResolveAfter: '10m', snoozeMax: '1h' } };

let s: TestStack;
let env: Record<string, string>;
let worker: ChildHandle;
let temporal: { client: Client; close(): Promise<void> };
let readOnlyCfg: Config;
const readers: AuditReaderHandle[] = [];
const CHECKPOINT_KEY = generateSignerKey('ledger.audit.test');
let witness: ChildHandle;
let witnessUrl: string;
let witnessVkey: string;
/** Chain id of the stack's anvil (from the first audit). */
let chainId: number;

/** The API's config: the stack's endpoints, NO chain key, a data dir without ledger.json. */
function apiConfig(extra: Record<string, string> = {}): Config {
  const { CHAIN_PRIVATE_KEY: _k, ...rest } = env;
  return loadConfig({ ...filteredProcessEnv(), ...rest, DATA_DIR: mkdtempSync(join(tmpdir(), 'telemetry-api-')), ...extra });
}

async function reader(cfg = readOnlyCfg): Promise<AuditReaderHandle> {
  const r = await readAuditFromChain(cfg, env.CHAIN_RPC_URL!, logger);
  assert.ok(r, 'audit reader available from the registry alone');
  readers.push(r);
  return r;
}

/** Starts the alerts worker and waits for its poller; on failure the error carries the worker's log. */
async function runningWorker(e: Record<string, string>): Promise<ChildHandle> {
  const w = startAlertsWorker(e);
  try {
    await waitForPoller(e.TEMPORAL_ADDRESS!, s.cfg.TEMPORAL_NAMESPACE, 'telemetry-alerts', 60_000);
    return w;
  } catch (err) {
    await w.stop();
    throw new Error(`${(err as Error).message}; worker log:\n${readFileSync(w.logFile, 'utf8').slice(-3_000)}`);
  }
}


/** Fires an alert through the real signaller, acks it through the Update, returns the state. */
async function firedAndAcked(device: string, by: string): Promise<AlertState> {
  const a = criticalTempAlert(device);
  const signaller = createAlertSignaller({ client: temporal.client, policyFor: () => POLICY.default });
  await signaller.fire(a);
  const svc = createAlertsService(temporal.client);
  const id = alertWorkflowId(a.device, a.rule);
  await eventually(() => svc.get(id) as Promise<AlertState | undefined>, (st) => Boolean(st?.raisedReceipt), 60_000, 'raise on chain');
  const res = (await svc.ack(id, by, 'api')) as { receipt: { txHash: string } | null };
  assert.ok(res.receipt?.txHash, 'ack returned a tx');
  return (await svc.get(id)) as AlertState;
}

before(async () => {
  s = await startTestStack({ components: ['temporal', 'nats', 'chain'] });
  const policyFile = join(s.dataDir, 'escalation-policy.json');
  writeFileSync(policyFile, JSON.stringify(POLICY));
  // The alerts worker never talks to InfluxDB, but resolveEndpoints wants one: point it nowhere.
  // The witness: its own process and key; it accepts the checkpoint key given to the worker.
  const wport = await freePort();
  const wdir = join(s.dataDir, 'witness');
  witness = startNodeProcess('workers/ledger-witness.ts', { NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: wdir, WITNESS_DATA_DIR: wdir, WITNESS_PORT: String(wport), WITNESS_LOG_KEYS: verifierKeyOf(parseSignerKey(CHECKPOINT_KEY)) }, 'ledger-witness');
  witnessUrl = `http://127.0.0.1:${wport}`;
  witnessVkey = await eventually(async () => (await fetch(`${witnessUrl}/key`)).text(), (t) => t.includes('+'), 30_000, 'witness up');
  env = {
    ...s.env,
    CHAIN_PRIVATE_KEY: ANVIL_DEV_KEY,
    ESCALATION_POLICY_FILE: policyFile,
    INFLUXDB_URL: 'http://127.0.0.1:9',
    INFLUXDB_TOKEN: 'unused-token',
    LEDGER_CHECKPOINT_KEY: CHECKPOINT_KEY,
    LEDGER_WITNESS_URLS: witnessUrl,
    LEDGER_ANCHOR_EVERY_WRITES: '1',
  };
  worker = await runningWorker(env);
  temporal = await temporalClient(s);
  readOnlyCfg = apiConfig();
});

after(async () => {
  for (const r of readers) r.close();
  await temporal?.close();
  await worker?.stop();
  await witness?.stop();
  await s?.stop();
});

describe('audit that verifies', () => {
  let state: AlertState;
  let first: AuditAnswer;

  test('a real ack is verified by a reader with no private key', async () => {
    assert.equal(readOnlyCfg.CHAIN_PRIVATE_KEY, undefined);
    assert.equal(await loadLedgerAddress(readOnlyCfg.DATA_DIR), undefined, 'the API has no ledger.json: only the registry');
    state = await firedAndAcked('GPU-audit-1', 'U0ALICE');
    const r = await reader();
    first = (await r.auditAlert({ alertId: alertWorkflowId('GPU-audit-1', 'gpu-temp-critical'), state }))!;
    chainId = first.chainId;
    assert.deepEqual(first.mismatches, []);
    assert.equal(first.verified, true);
    assert.equal(first.tx, state.ack!.receipt!.txHash);
    assert.equal(first.block?.number, state.ack!.receipt!.blockNumber);
    assert.ok(first.confirmations >= 1);
    assert.equal(first.contract?.toLowerCase(), state.ack!.receipt!.contract?.toLowerCase());
    assert.ok(first.ledgerHead && first.ledgerHead.eventCount >= 2);
    assert.deepEqual(first.events.map((e) => e.kind), ['recorded', 'acknowledged']);
    // The worker issued the standalone receipt of the ack; the audit hands it out.
    assert.equal(first.receipts.length, 1);
    assert.equal(first.receipts[0]!.tx.hash, first.tx);
    assert.ok((await verifyReceiptOnline(first.receipts[0]!, env.CHAIN_RPC_URL!)).confirmations >= 1);
  });

  test('the worker anchors the head: co-signed by the witness, in LEDGER_ANCHORS, and `verify --anchors` passes', async () => {
    const contract = first.contract!;
    const file = join(s.dataDir, 'audit-ack.json');
    writeFileSync(file, JSON.stringify(first.receipts[0]));
    const report = await eventually(
      () => runVerify(s.cfg, [file], { anchors: 'nats', logKey: verifierKeyOf(parseSignerKey(CHECKPOINT_KEY)), witnessKey: [witnessVkey.trim()], rpc: env.CHAIN_RPC_URL! }),
      (r) => r.ok,
      30_000,
      `anchors of ${contract} covering the ack`,
    );
    assert.ok(report.anchors!.anchoredSize >= 2);
  });

  test('a tampered workflow state is not verified, and the mismatch names the fields', async () => {
    const r = await reader();
    const tampered: AlertState = structuredClone(state);
    tampered.ack!.by = 'U0MALLORY';
    tampered.ack!.at = new Date(Date.parse(state.ack!.at) + 1).toISOString();
    const res = (await r.auditAlert({ alertId: 'x', state: tampered }))!;
    assert.equal(res.verified, false);
    assert.deepEqual(res.mismatches.map((m) => m.field).sort(), ['acknowledged.ackedAtMs', 'acknowledged.responderHash']);
    const wrongTx: AlertState = structuredClone(state);
    wrongTx.ack!.receipt!.txHash = state.raisedReceipt!.txHash;
    const res2 = (await r.auditAlert({ alertId: 'x', state: wrongTx }))!;
    assert.deepEqual(res2.mismatches.map((m) => m.field), ['tx.acknowledged']);
  });

  test('a second contract with another record under the same key → verified:false, and an operational alert', async () => {
    // A rogue version: deployed and registered like an upgrade, then written by another key.
    const artifact = await loadLedgerArtifact();
    const provider = new JsonRpcProvider(env.CHAIN_RPC_URL);
    const rogueWallet = new Wallet(ANVIL_KEY_1, provider);
    const rogue = await new ContractFactory(artifact.abi as never, artifact.bytecode, rogueWallet).deploy();
    const rogueReceipt = await rogue.deploymentTransaction()!.wait(1);
    const address = await rogue.getAddress();
    const nc = await connectNats(env.NATS_URL!);
    try {
      const registry = await KvLedgerRegistry.open(nc);
      await registry.append({ address, chainId, deployTx: rogueReceipt!.hash, deployBlock: rogueReceipt!.blockNumber, sourceSha256: 'rogue' });
    } finally {
      await nc.close();
    }
    const rogueClient = await LedgerClient.connect({ rpcUrl: env.CHAIN_RPC_URL!, privateKey: ANVIL_KEY_1, address });
    try {
      const key = ledgerKey(state.alert);
      await rogueClient.recordAlert({ alertId: key, device: state.alert.device, severity: 'critical', raisedAtMs: Date.parse(state.alert.firedAt) });
      await rogueClient.acknowledge({ alertId: key, responder: 'U0MALLORY', via: 'api', ackedAtMs: Date.parse(state.ack!.at) });
    } finally {
      rogueClient.close();
      provider.destroy();
    }

    const r = await reader();
    const svc = createAlertsService(temporal.client, r);
    const res = (await svc.audit(alertWorkflowId('GPU-audit-1', 'gpu-temp-critical'))) as AuditResult;
    assert.equal(res.verified, false);
    const fields = res.mismatches.map((m) => m.field);
    for (const f of ['contract', 'acknowledged.responderHash', 'tx.acknowledged', 'tx.recorded', 'duplicate']) assert.ok(fields.includes(f), `${f} in ${fields}`);
    assert.equal(res.contract?.toLowerCase(), address.toLowerCase());

    const ops = await eventually(
      () => svc.get(alertWorkflowId('pipeline', LEDGER_MISMATCH_RULE)) as Promise<AlertState | undefined>,
      (st) => st !== undefined,
      30_000,
      'operational alert for the mismatch',
    );
    assert.equal(ops!.alert.severity, 'critical');
    assert.match(ops!.alert.summary, /ledger audit of alert-GPU-audit-1-gpu-temp-critical failed: .*contract/);
  });
});

describe('one ledger across restarts and upgrades', () => {
  test(`the registry holds at most ${MAX_LEDGER_VERSIONS} versions per chain and refuses the next`, async () => {
    const nc = await connectNats(env.NATS_URL!);
    try {
      const registry = await KvLedgerRegistry.open(nc);
      const addr = (i: number) => `0x${i.toString(16).padStart(40, '0')}`;
      for (let i = 1; i <= MAX_LEDGER_VERSIONS; i++) await registry.append({ address: addr(i), chainId: 999_001, deployTx: '', deployBlock: i });
      assert.equal((await registry.versions(999_001)).length, MAX_LEDGER_VERSIONS);
      await registry.append({ address: addr(1), chainId: 999_001, deployTx: '' }); // already listed: no-op
      await assert.rejects(registry.append({ address: addr(MAX_LEDGER_VERSIONS + 1), chainId: 999_001, deployTx: '' }), LedgerRegistryError);
      // Concurrent appends: none is lost (compare-and-set on the KV revision).
      await Promise.all([1, 2, 3, 4].map((i) => registry.append({ address: addr(i), chainId: 999_002, deployTx: '', deployBlock: i })));
      assert.equal((await registry.versions(999_002)).length, 4);
    } finally {
      await nc.close();
    }
  });

  test('restart the alerts worker with an EMPTY data dir → same contract; the old audit still verifies', async () => {
    const before = await loadLedgerAddress(s.dataDir);
    assert.ok(before, 'the worker saved its deployment');
    const state = await firedAndAcked('GPU-restart-1', 'U0BOB');
    await worker.stop();
    const freshDir = mkdtempSync(join(tmpdir(), 'telemetry-alerts-empty-'));
    env = { ...env, DATA_DIR: freshDir };
    worker = await runningWorker(env);
    const after = await eventually(() => loadLedgerAddress(freshDir), Boolean, 60_000, 'ledger.json in the fresh data dir');
    assert.equal(after!.address, before.address, 'no new contract');
    const later = await firedAndAcked('GPU-restart-2', 'U0BOB');
    assert.equal(later.ack!.receipt!.contract?.toLowerCase(), before.address.toLowerCase());

    const r = await reader(apiConfig());
    const old = (await r.auditAlert({ alertId: 'old', state }))!;
    assert.equal(old.verified, true, JSON.stringify(old.mismatches));
  });

  test('a new contract version is deployed beside the old one; the audit reads both', async () => {
    const cfg = apiConfig();
    const nc = await connectNats(env.NATS_URL!);
    try {
      const registry = await KvLedgerRegistry.open(nc);
      const versionsBefore = await registry.versions(chainId);
      // Mark the registered versions as built from an older source (what an edit of AlertLedger.sol looks like).
      const dataDir = mkdtempSync(join(tmpdir(), 'telemetry-upgrade-'));
      const legacy = versionsBefore.find((v) => v.sourceSha256 !== 'rogue')!;
      const kvEntry = await (await nc.jetstream().views.kv('ledger_registry')).get(`chain.${chainId}`);
      const edited = { versions: versionsBefore.map((v) => (v.address === legacy.address ? { ...v, sourceSha256: 'older-source' } : v)) };
      await (await nc.jetstream().views.kv('ledger_registry')).update(`chain.${chainId}`, JSON.stringify(edited), kvEntry!.revision);
      const { ledger, deployment, deployed } = await ensureLedger({ rpcUrl: env.CHAIN_RPC_URL!, privateKey: ANVIL_DEV_KEY, dataDir, registry, logger });
      ledger.close();
      assert.equal(deployed, true);
      assert.notEqual(deployment.address, legacy.address);
      const versions = await registry.versions(chainId);
      assert.deepEqual(versions.map((v) => v.address).slice(0, versionsBefore.length), versionsBefore.map((v) => v.address), 'old versions kept, in order');
      assert.equal(versions.at(-1)!.address, deployment.address);

      // An alert recorded on the OLD version is still found and verified.
      const r = await reader(cfg);
      const old = (await r.auditAlert({ alertId: 'old', state: await stateOf('GPU-restart-1') }))!;
      assert.equal(old.verified, true, JSON.stringify(old.mismatches));
      assert.equal(old.contract?.toLowerCase(), legacy.address.toLowerCase());
    } finally {
      await nc.close();
    }
  });
});

async function stateOf(device: string): Promise<AlertState> {
  return (await createAlertsService(temporal.client).get(alertWorkflowId(device, 'gpu-temp-critical'))) as AlertState;
}

/**
 * The ledger against a real go-ethereum node (`geth --dev --dev.period 0`), not only anvil:
 * geth formats revert data, fee fields and pending-nonce answers its own way.
 *
 * geth comes from GETH_BIN or ~/.cache/telemetry-stack/bin/geth (infra/scripts/build-geth.sh).
 * A missing binary FAILS this file on purpose: CI builds it before the tests.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { LedgerClient, deployLedger } from '../../../activities/ledger/ledger-client.ts';
import { createLedgerActivities, ensureLedger } from '../../../activities/ledger/ledger-activities.ts';
import { LedgerConflictError, LedgerRevertError, decodeLedgerRevert } from '../../../activities/ledger/ledger-errors.ts';
import { identityHash, ledgerAlertId } from '../../../activities/ledger/ledger-ids.ts';
import { loadLedgerArtifact } from '../../../contracts/compile.ts';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import { GETH_CACHE_BIN, GETH_DEV_CHAIN_ID, findGeth, startGethDev, type GethDevNode } from '../../../infra/stack/geth.ts';
import { createLogger } from '../../../lib/logger.ts';
import { freePort, percentile, tempDir } from './ledger-harness.ts';
import { LedgerReader } from '../../../activities/ledger/ledger-reader.ts';
import { LedgerLog } from '../../../activities/ledger/ledger-log.ts';
import { ReceiptIssuer } from '../../../activities/ledger/receipt-issuer.ts';
import { auditAlert } from '../../../activities/ledger/ledger-audit.ts';
import { verifyReceiptOffline, verifyReceiptOnline, type LedgerReceipt } from '../../../lib/ledger/receipt.ts';
import { ledgerKey } from '../../../lib/alerts/ids.ts';
import type { AlertState } from '../../../lib/alerts/types.ts';

const logger = createLogger('silent');
let node: GethDevNode | undefined;
let dataDir: string;
let client: LedgerClient;
let address: string;

before(async () => {
  const wanted = process.env.GETH_BIN;
  const bin = findGeth(wanted);
  assert.ok(
    bin,
    `geth binary not found (${wanted ? `GETH_BIN=${wanted}` : `GETH_BIN unset, ${GETH_CACHE_BIN} missing`}). ` +
      'Build it with `infra/scripts/build-geth.sh` (Go module proxy, cached) or point GETH_BIN at a geth binary.',
  );
  dataDir = await tempDir('geth');
  node = await startGethDev({ port: await freePort(), dataDir, bin });
  const d = await deployLedger({ rpcUrl: node.rpcUrl, privateKey: node.privateKey });
  address = d.address;
  client = await LedgerClient.connect({ rpcUrl: node.rpcUrl, privateKey: node.privateKey, address, fromBlock: d.blockNumber });
});
after(async () => {
  client?.close();
  await node?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('geth --dev runs chain 1337 and the funded signer owns the deployed ledger', async () => {
  assert.equal(node!.chainId, GETH_DEV_CHAIN_ID);
  assert.equal(client.chainId, GETH_DEV_CHAIN_ID);
  assert.equal(await client.isRecorder(node!.signerAddress), true);
  assert.equal(await client.isRecorder(node!.devAccount), false);
});

test('record → ack → resolve on geth; replay returns the original tx; double ack by another is refused', async () => {
  const acts = createLedgerActivities({ ledger: client, logger });
  const raised = await acts.recordAlertOnChain({ alertId: 'geth-1', device: 'GPU-g1', severity: 'critical', raisedAtMs: 1_000 });
  const ack = { alertId: 'geth-1', responder: 'U0GETH', via: 'slack' as const, ackedAtMs: 2_000 };
  const acked = await acts.recordAckOnChain(ack);
  assert.equal(acked?.alreadyRecorded, false);
  assert.ok(acked!.blockNumber > raised!.blockNumber);
  assert.deepEqual(await acts.recordAckOnChain(ack), { ...acked, alreadyRecorded: true });
  await assert.rejects(client.acknowledge({ ...ack, responder: 'someone-else' }), LedgerConflictError);
  const resolved = await acts.recordResolveOnChain({ alertId: 'geth-1', by: 'U0GETH', reason: 'ok', resolvedAtMs: 3_000 });
  const audit = await acts.readAlertRecord({ alertId: 'geth-1' });
  assert.deepEqual(audit?.events.map((e) => e.txHash), [raised!.txHash, acked!.txHash, resolved!.txHash]);
  assert.equal(audit?.record?.acknowledged?.responderHash, identityHash('U0GETH'));
});

test('custom errors are decoded from geth revert data, with their arguments', async () => {
  const err = await client.acknowledge({ alertId: 'geth-unknown', responder: 'x', via: 'api', ackedAtMs: 1 }).then(
    () => assert.fail('expected UnknownAlert'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LedgerRevertError, String(err));
  assert.equal(err.errorName, 'UnknownAlert');
  assert.deepEqual(err.args, [ledgerAlertId('geth-unknown')]);
  // A raw second ack (bypassing the client's pre-check) reverts on geth with the full error.
  const artifact = await loadLedgerArtifact();
  const p = new JsonRpcProvider(node!.rpcUrl, GETH_DEV_CHAIN_ID, { staticNetwork: true });
  try {
    const c = new Contract(address, artifact.abi as never, new Wallet(node!.privateKey, p));
    const e = await c.getFunction('acknowledge').staticCall(ledgerAlertId('geth-1'), identityHash('x'), 1n, 1).then(
      () => assert.fail('expected AlreadyAcknowledged'),
      (x: unknown) => x,
    );
    assert.deepEqual(decodeLedgerRevert(c.interface, e), { name: 'AlreadyAcknowledged', args: [ledgerAlertId('geth-1'), node!.signerAddress, '2000'] });
  } finally {
    p.destroy();
  }
});

test('20 concurrent acks from one signer all land on geth', async () => {
  const ids = Array.from({ length: 20 }, (_, i) => `geth-conc-${i}`);
  await Promise.all(ids.map((alertId) => client.recordAlert({ alertId, device: 'GPU-gc', severity: 'warning', raisedAtMs: 5 })));
  const acks = await Promise.all(ids.map((alertId, i) => client.acknowledge({ alertId, responder: `r${i}`, via: 'api', ackedAtMs: 6 })));
  assert.equal(new Set(acks.map((a) => a.txHash)).size, 20);
  for (const alertId of ids) assert.ok((await client.getAlert(alertId))?.acknowledged);
});

test('ensureLedger on geth deploys once and reuses the saved address', async () => {
  const dir = await tempDir('geth-ensure');
  try {
    const a = await ensureLedger({ rpcUrl: node!.rpcUrl, privateKey: node!.privateKey, dataDir: dir, logger });
    const b = await ensureLedger({ rpcUrl: node!.rpcUrl, privateKey: node!.privateKey, dataDir: dir, logger });
    assert.deepEqual([a.deployed, b.deployed], [true, false]);
    assert.equal(b.deployment.address, a.deployment.address);
    assert.equal(b.deployment.chainId, GETH_DEV_CHAIN_ID);
    a.ledger.close();
    b.ledger.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('50 sequential acks on geth: send → 1 confirmation', async () => {
  const n = 50;
  for (let i = 0; i < n; i++) await client.recordAlert({ alertId: `geth-lat-${i}`, device: 'GPU-gl', severity: 'warning', raisedAtMs: 7 });
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await client.acknowledge({ alertId: `geth-lat-${i}`, responder: 'lat', via: 'api', ackedAtMs: 8 + i });
    ms.push(performance.now() - t);
    assert.equal(r.alreadyRecorded, false);
  }
  console.log(`geth ack latency over ${n}: p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms`);
  assert.ok(percentile(ms, 99) < 5_000);
});

test('geth: receipts (header of its fork, receipt trie) verify offline and online; the keyless audit verifies a real ack', async () => {
  const deployment = { address, chainId: client.chainId, deployTx: '', deployBlock: 0 };
  const reader = await LedgerReader.connect({ rpcUrl: node!.rpcUrl, deployments: [deployment] });
  try {
    const issuer = new ReceiptIssuer({ reader, log: new LedgerLog(reader, deployment), wallet: new Wallet(node!.privateKey), contract: address });
    const issued: LedgerReceipt[] = [];
    const acts = createLedgerActivities({ ledger: client, logger, receipts: { issue: async (i) => (issued.push(await issuer.issue(i)), issued.at(-1)!) } });
    const firedAt = '2024-01-31T12:00:00.000Z';
    const state: AlertState = {
      alert: { alertId: 'alert-GPU-geth-r-temp', device: 'GPU-geth-r', rule: 'temp', severity: 'warning', summary: 's', values: {}, firedAt },
      status: 'acknowledged',
      level: 0,
      repeats: 0,
      history: [],
      ack: { by: 'U0GETH', via: 'console', at: '2024-01-31T12:01:00.000Z' },
    };
    const key = ledgerKey(state.alert);
    state.raisedReceipt = (await acts.recordAlertOnChain({ alertId: key, device: 'GPU-geth-r', severity: 'warning', raisedAtMs: Date.parse(firedAt) }))!;
    state.ack!.receipt = (await acts.recordAckOnChain({ alertId: key, responder: 'U0GETH', via: 'console', ackedAtMs: Date.parse(state.ack!.at) }))!;
    assert.equal(issued.length, 1);
    const fromFile = JSON.parse(JSON.stringify(issued[0])) as LedgerReceipt;
    await verifyReceiptOffline(fromFile);
    assert.ok((await verifyReceiptOnline(fromFile, node!.rpcUrl)).confirmations >= 1);

    const audit = (await auditAlert(reader, { alertId: state.alert.alertId, state }))!;
    assert.equal(audit.verified, true, JSON.stringify(audit.mismatches));
    const tampered = (await auditAlert(reader, { alertId: state.alert.alertId, state: { ...state, ack: { ...state.ack!, via: 'api' } } }))!;
    assert.deepEqual(tampered.mismatches.map((m) => m.field), ['acknowledged.channel']);
  } finally {
    reader.close();
  }
});

/**
 * Standalone receipts on a real anvil: issued by the ledger activities for ack and resolve,
 * checked offline (signature, header hash, receipt-trie proof, event, fold step) and online
 * (canonical block), including a block holding several transactions (a real trie with
 * branch nodes), and refused when anything was altered or the chain was rebuilt.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { createLedgerActivities } from '../../../activities/ledger/ledger-activities.ts';
import { LedgerReader } from '../../../activities/ledger/ledger-reader.ts';
import { LedgerLog } from '../../../activities/ledger/ledger-log.ts';
import { ReceiptIssuer, type ReceiptStore } from '../../../activities/ledger/receipt-issuer.ts';
import { ledgerMetrics } from '../../../activities/ledger/ledger-metrics.ts';
import { receiptSigningMessage, bodyOf, verifyReceiptOffline, verifyReceiptOnline, ReceiptVerificationError, type LedgerReceipt } from '../../../lib/ledger/receipt.ts';
import { ANVIL_DEV_KEY, rpcCall, startAnvil } from '../../../infra/stack/chain.ts';
import { createLogger } from '../../../lib/logger.ts';
import { ANVIL_KEY_1, freePort, percentile, startAnvilLedger, type AnvilLedger } from './ledger-harness.ts';

const logger = createLogger('silent');
const T0 = 1_706_704_496_000;
let env: AnvilLedger;
let reader: LedgerReader;
const issued = new Map<string, LedgerReceipt>();
const store: ReceiptStore = {
  async put(r) {
    issued.set(`${r.alertKey}/${r.event.kind}`, r);
  },
  async get() {
    return null;
  },
};

before(async () => {
  env = await startAnvilLedger();
  const deployment = { address: env.address, chainId: env.client.chainId, deployTx: env.deployTx, deployBlock: env.deployBlock };
  reader = await LedgerReader.connect({ rpcUrl: env.node.rpcUrl, deployments: [deployment] });
});
after(async () => {
  reader?.close();
  await env?.cleanup();
});

async function rejected(p: Promise<unknown>, check: string): Promise<ReceiptVerificationError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ReceiptVerificationError, `expected ReceiptVerificationError, got ${String(err)}`);
    assert.equal(err.check, check, err.message);
    return err;
  }
  assert.fail(`expected the ${check} check to fail`);
}

describe('receipts', () => {
  let ack: LedgerReceipt;

  test('ack and resolve each produce a receipt that verifies offline and online', async () => {
    const log = new LedgerLog(reader, { address: env.address, chainId: env.client.chainId, deployTx: env.deployTx, deployBlock: env.deployBlock });
    const issuer = new ReceiptIssuer({ reader, log, wallet: new Wallet(ANVIL_DEV_KEY), contract: env.address, store });
    const acts = createLedgerActivities({ ledger: env.client, logger, receipts: issuer });
    const key = 'alert-GPU-r1-temp@2024-01-31T12:34:56.000Z';
    await acts.recordAlertOnChain({ alertId: key, device: 'GPU-r1', severity: 'critical', raisedAtMs: T0 });
    const acked = await acts.recordAckOnChain({ alertId: key, responder: 'U0ALICE', via: 'slack', ackedAtMs: T0 + 1_000 });
    await acts.recordResolveOnChain({ alertId: key, by: 'U0ALICE', reason: 'reseated', resolvedAtMs: T0 + 2_000 });
    ack = issued.get(`${key}/acknowledged`)!;
    const counted = (await ledgerMetrics.receipts.get()).values.find((v) => v.labels.result === 'ok')?.value;
    assert.equal(counted, 2, 'receipts are counted');
    const resolved = issued.get(`${key}/resolved`)!;
    assert.ok(ack && resolved, 'both receipts stored');
    assert.equal(ack.tx.hash, acked!.txHash);
    assert.deepEqual([ack.position.eventIndex, resolved.position.eventIndex], [1, 2]);
    assert.equal(resolved.position.digestBefore, ack.position.digestAfter, 'receipts chain by digest');

    // A receipt is a file: only its JSON text crosses to the verifier.
    const fromFile = JSON.parse(JSON.stringify(ack)) as LedgerReceipt;
    const offline = await verifyReceiptOffline(fromFile);
    assert.equal(offline.signer, new Wallet(ANVIL_DEV_KEY).address);
    const online = await verifyReceiptOnline(fromFile, env.node.rpcUrl);
    assert.ok(online.confirmations >= 2);
    await verifyReceiptOnline(resolved, env.node.rpcUrl);
    const head = await reader.head(env.address);
    assert.equal(resolved.position.digestAfter, head.digest, 'the last receipt ends at the contract head');
  });

  test('a block with several transactions: every receipt proves inclusion at its own index', async () => {
    const log = new LedgerLog(reader, { address: env.address, chainId: env.client.chainId, deployTx: env.deployTx, deployBlock: env.deployBlock });
    const issuer = new ReceiptIssuer({ reader, log, wallet: new Wallet(ANVIL_DEV_KEY), contract: env.address });
    const keys = ['multi-1', 'multi-2', 'multi-3', 'multi-4'];
    for (const k of keys) await env.client.recordAlert({ alertId: k, device: `GPU-${k}`, severity: 'warning', raisedAtMs: T0 });
    await rpcCall(env.node.rpcUrl, 'evm_setAutomine', [false]);
    try {
      const pending = keys.map((k, i) => env.client.acknowledge({ alertId: k, responder: `U${i}`, via: 'api', ackedAtMs: T0 + i }));
      await new Promise((r) => setTimeout(r, 500)); // all four in the mempool
      await rpcCall(env.node.rpcUrl, 'evm_mine', []);
      const receipts = await Promise.all(pending);
      assert.equal(new Set(receipts.map((r) => r.blockNumber)).size, 1, 'one block');
      const issuedHere = await Promise.all(keys.map((k, i) => issuer.issue({ alertKey: k, txHash: receipts[i]!.txHash })));
      assert.deepEqual(issuedHere.map((r) => r.tx.index).sort(), [0, 1, 2, 3]);
      for (const r of issuedHere) await verifyReceiptOnline(r, env.node.rpcUrl);
      // A proof of one tx does not prove another tx's receipt.
      const swapped = { ...issuedHere[0]!, proof: { ...issuedHere[0]!.proof, receipt: issuedHere[1]!.proof.receipt } };
      await rejected(verifyReceiptOffline(swapped), 'signature');
    } finally {
      await rpcCall(env.node.rpcUrl, 'evm_setAutomine', [true]);
    }
  });

  test('the write log keeps a bounded window; an older position is found by a rescan', async () => {
    const deployment = { address: env.address, chainId: env.client.chainId, deployTx: env.deployTx, deployBlock: env.deployBlock };
    const small = new LedgerLog(reader, deployment, 3);
    const head = await small.sync();
    assert.ok(head.count > 3);
    assert.equal(small.entriesBetween(0, head.count), null, 'evicted entries are not served');
    assert.equal(small.entriesBetween(head.count - 3, head.count)?.length, 3, 'the last 3 are kept');
    // The first ack (event #1) is out of the window: positionOf rescans and still finds it.
    const pos = await small.positionOf(ack.tx.hash, ack.event.id);
    assert.equal(pos.index, ack.position.eventIndex);
    assert.equal(pos.digestAfter, ack.position.digestAfter);
  });

  test('altered receipts are refused, naming the check', async () => {
    const edited: LedgerReceipt = structuredClone(ack);
    edited.event.at = String(T0 + 5_000);
    await rejected(verifyReceiptOffline(edited), 'signature');

    // Re-signed by a key that is not the recorder.
    const other = new Wallet(ANVIL_KEY_1);
    const forged: LedgerReceipt = { ...structuredClone(edited), signature: { signer: other.address, value: '' } };
    forged.signature.value = await other.signMessage(receiptSigningMessage(bodyOf(forged)));
    await rejected(verifyReceiptOffline(forged), 'signature');

    // Re-signed by the recorder itself (a recorder cannot lie about what the block holds).
    const recorder = new Wallet(ANVIL_DEV_KEY);
    const lying: LedgerReceipt = { ...structuredClone(edited), signature: { signer: recorder.address, value: '' } };
    lying.signature.value = await recorder.signMessage(receiptSigningMessage(bodyOf(lying)));
    await rejected(verifyReceiptOffline(lying), 'event');

    // A trie node or the receipt bytes changed (and re-signed): the proof no longer links them to receiptsRoot.
    const badNode: LedgerReceipt = structuredClone(ack);
    const n0 = badNode.proof.nodes[0]!;
    badNode.proof.nodes[0] = `${n0.slice(0, -2)}${n0.endsWith('00') ? '01' : '00'}`;
    badNode.signature.value = await recorder.signMessage(receiptSigningMessage(bodyOf(badNode)));
    await rejected(verifyReceiptOffline(badNode), 'inclusion');
    const badReceipt: LedgerReceipt = structuredClone(ack);
    const rc = badReceipt.proof.receipt;
    badReceipt.proof.receipt = `${rc.slice(0, -2)}${rc.endsWith('00') ? '01' : '00'}`;
    badReceipt.signature.value = await recorder.signMessage(receiptSigningMessage(bodyOf(badReceipt)));
    await rejected(verifyReceiptOffline(badReceipt), 'inclusion');
    // The header of another block.
    const badHeader: LedgerReceipt = structuredClone(ack);
    badHeader.block.hash = `0x${'11'.repeat(32)}`;
    badHeader.signature.value = await recorder.signMessage(receiptSigningMessage(bodyOf(badHeader)));
    await rejected(verifyReceiptOffline(badHeader), 'header');
  });

  test('50 receipts: issue and verify latency (printed), every one verifies', async () => {
    const deployment = { address: env.address, chainId: env.client.chainId, deployTx: env.deployTx, deployBlock: env.deployBlock };
    const issuer = new ReceiptIssuer({ reader, log: new LedgerLog(reader, deployment), wallet: new Wallet(ANVIL_DEV_KEY), contract: env.address });
    const issueMs: number[] = [];
    const offlineMs: number[] = [];
    const onlineMs: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 50; i++) {
      await env.client.recordAlert({ alertId: `lat-${i}`, device: 'GPU-lat', severity: 'critical', raisedAtMs: T0 + i });
      const a = await env.client.acknowledge({ alertId: `lat-${i}`, responder: 'U0LAT', via: 'api', ackedAtMs: T0 + 10_000 + i });
      let t = performance.now();
      const r = await issuer.issue({ alertKey: `lat-${i}`, txHash: a.txHash });
      issueMs.push(performance.now() - t);
      t = performance.now();
      await verifyReceiptOffline(r);
      offlineMs.push(performance.now() - t);
      t = performance.now();
      await verifyReceiptOnline(r, env.node.rpcUrl);
      onlineMs.push(performance.now() - t);
      bytes = JSON.stringify(r).length;
    }
    const f = (v: number[], p: number) => percentile(v, p).toFixed(1);
    console.log(
      `receipts over 50 acks: issue p50 ${f(issueMs, 50)} / p99 ${f(issueMs, 99)} ms, offline verify p50 ${f(offlineMs, 50)} ms, online verify p50 ${f(onlineMs, 50)} ms, ${bytes} bytes`,
    );
    assert.equal(issueMs.length, 50);
  });

  test('online: a rebuilt chain (same height, other blocks) is detected', async () => {
    const other = await startAnvil({ port: await freePort(), dataDir: env.dataDir, persist: false });
    try {
      // Mine the other chain past the receipt's height.
      for (let i = 0; i <= ack.block.number; i++) await rpcCall(other.rpcUrl, 'evm_mine', []);
      await verifyReceiptOffline(ack); // the receipt itself is intact…
      const err = await rejected(verifyReceiptOnline(ack, other.rpcUrl), 'chain'); // …but not on this chain
      assert.match(err.message, /rewritten|another chain/);
    } finally {
      await other.stop();
    }
  });
});

/**
 * LedgerClient and the ledger activities on a real anvil: idempotency (original tx hash on
 * replay, races), error classification, concurrent acks from one signer, the audit read,
 * deploy-once, and ack latency.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { Wallet } from 'ethers';
import { LedgerClient } from '../../../activities/ledger/ledger-client.ts';
import { createLedgerActivities, ensureLedger, loadLedgerAddress } from '../../../activities/ledger/ledger-activities.ts';
import { LedgerConflictError, LedgerRevertError } from '../../../activities/ledger/ledger-errors.ts';
import { identityHash, ledgerAlertId } from '../../../activities/ledger/ledger-ids.ts';
import { ANVIL_DEV_KEY, startAnvil } from '../../../infra/stack/chain.ts';
import { createLogger } from '../../../lib/logger.ts';
import { ANVIL_KEY_1, freePort, percentile, startAnvilLedger, tempDir, type AnvilLedger } from './ledger-harness.ts';

const logger = createLogger('silent');
let env: AnvilLedger;
const T0 = 1_706_704_496_000;

before(async () => {
  env = await startAnvilLedger();
});
after(async () => {
  await env?.cleanup();
});

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}

describe('idempotency', () => {
  test('a repeated ack returns the ORIGINAL tx hash and block with alreadyRecorded', async () => {
    const c = env.client;
    const rec = await c.recordAlert({ alertId: 'idem-1', device: 'GPU-a', severity: 'critical', raisedAtMs: T0 });
    assert.equal(rec.alreadyRecorded, false);
    assert.match(rec.txHash, /^0x[0-9a-f]{64}$/);
    const rec2 = await c.recordAlert({ alertId: 'idem-1', device: 'GPU-a', severity: 'critical', raisedAtMs: T0 });
    assert.deepEqual(rec2, { ...rec, alreadyRecorded: true });

    const ack = { alertId: 'idem-1', responder: 'U024BE7LH', via: 'slack' as const, ackedAtMs: T0 + 5_000 };
    const first = await c.acknowledge(ack);
    assert.equal(first.alreadyRecorded, false);
    const again = await c.acknowledge(ack);
    assert.deepEqual(again, { ...first, alreadyRecorded: true });
    // The first ack's timestamp stands even if a retry carries another time.
    const later = await c.acknowledge({ ...ack, ackedAtMs: T0 + 9_000 });
    assert.equal(later.txHash, first.txHash);
    assert.equal((await c.getAlert('idem-1'))?.acknowledged?.ackedAtMs, String(T0 + 5_000));

    const events = await c.getAlertEvents('idem-1');
    assert.deepEqual(events.map((e) => e.kind), ['recorded', 'acknowledged'], 'no double record');
  });

  test('retry after the tx was mined but the reply was lost maps to that tx', async () => {
    const c = env.client;
    await c.recordAlert({ alertId: 'idem-lost-reply', device: 'GPU-b', severity: 'warning', raisedAtMs: T0 });
    // The "first attempt": sent straight to the contract, its reply never reaches the workflow.
    const raw = env.contractAs(ANVIL_DEV_KEY);
    const tx = await raw.getFunction('acknowledge')(ledgerAlertId('idem-lost-reply'), identityHash('alice'), BigInt(T0 + 1), 2);
    const mined = await tx.wait(1);
    const retry = await c.acknowledge({ alertId: 'idem-lost-reply', responder: 'alice', via: 'api', ackedAtMs: T0 + 1 });
    assert.deepEqual(retry, { txHash: mined.hash, blockNumber: mined.blockNumber, alreadyRecorded: true, contract: env.address, chainId: c.chainId });
  });

  test('two concurrent identical acks (a duplicated activity) record once and agree on the tx', async () => {
    const c = env.client;
    await c.recordAlert({ alertId: 'idem-race', device: 'GPU-c', severity: 'critical', raisedAtMs: T0 });
    const ack = { alertId: 'idem-race', responder: 'carol', via: 'console' as const, ackedAtMs: T0 + 2 };
    const [a, b] = await Promise.all([c.acknowledge(ack), c.acknowledge(ack)]);
    assert.equal(a.txHash, b.txHash);
    assert.deepEqual([a.alreadyRecorded, b.alreadyRecorded].sort(), [false, true]);
    const acks = (await c.getAlertEvents('idem-race')).filter((e) => e.kind === 'acknowledged');
    assert.equal(acks.length, 1);
  });

  test('resolve is idempotent too; a different reason is a conflict', async () => {
    const c = env.client;
    await c.recordAlert({ alertId: 'idem-res', device: 'GPU-d', severity: 'warning', raisedAtMs: T0 });
    const r1 = await c.resolve({ alertId: 'idem-res', by: 'dave', reason: 'recovered', resolvedAtMs: T0 + 3 });
    const r2 = await c.resolve({ alertId: 'idem-res', by: 'dave', reason: 'recovered', resolvedAtMs: T0 + 3 });
    assert.deepEqual(r2, { ...r1, alreadyRecorded: true });
    await assert.rejects(c.resolve({ alertId: 'idem-res', by: 'dave', reason: 'other', resolvedAtMs: T0 + 3 }), LedgerConflictError);
  });
});

describe('error classification (activities)', () => {
  test('ack by a different responder → non-retryable LedgerConflict', async () => {
    const acts = createLedgerActivities({ ledger: env.client, logger });
    await acts.recordAlertOnChain({ alertId: 'cls-1', device: 'GPU-e', severity: 'critical', raisedAtMs: T0 });
    await acts.recordAckOnChain({ alertId: 'cls-1', responder: 'erin', via: 'slack', ackedAtMs: T0 + 1 });
    const f = await failureOf(acts.recordAckOnChain({ alertId: 'cls-1', responder: 'frank', via: 'api', ackedAtMs: T0 + 2 }));
    assert.equal(f.type, 'LedgerConflict');
    assert.equal(f.nonRetryable, true);
  });

  test('reused alert id with different data → LedgerConflict (ids must be per occurrence)', async () => {
    const acts = createLedgerActivities({ ledger: env.client, logger });
    const f = await failureOf(acts.recordAlertOnChain({ alertId: 'cls-1', device: 'GPU-e', severity: 'critical', raisedAtMs: T0 + 60_000 }));
    assert.equal(f.type, 'LedgerConflict');
  });

  test('ack of an unknown alert → non-retryable LedgerRevert named UnknownAlert', async () => {
    const acts = createLedgerActivities({ ledger: env.client, logger });
    const f = await failureOf(acts.recordAckOnChain({ alertId: 'cls-never', responder: 'x', via: 'api', ackedAtMs: T0 }));
    assert.equal(f.type, 'LedgerRevert');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /UnknownAlert\(0x[0-9a-f]{64}\)/);
  });

  test('with the alert attached, an ack of an unrecorded alert records it first', async () => {
    const acts = createLedgerActivities({ ledger: env.client, logger });
    const r = await acts.recordAckOnChain({
      alertId: 'cls-auto',
      responder: 'gina',
      via: 'slack',
      ackedAtMs: T0 + 7,
      alert: { device: 'GPU-f', severity: 'warning', raisedAtMs: T0 },
    });
    assert.equal(r?.alreadyRecorded, false);
    const rec = await env.client.getAlert('cls-auto');
    assert.equal(rec?.deviceHash, identityHash('GPU-f'));
    assert.equal(rec?.acknowledged?.responderHash, identityHash('gina'));
  });

  test('a signer without the recorder role → LedgerRevert NotRecorder(address)', async () => {
    const stranger = await LedgerClient.connect({ rpcUrl: env.node.rpcUrl, privateKey: ANVIL_KEY_1, address: env.address });
    try {
      const err = await stranger.recordAlert({ alertId: 'cls-role', device: 'GPU-g', severity: 'warning', raisedAtMs: T0 }).then(
        () => assert.fail('expected NotRecorder'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof LedgerRevertError);
      assert.equal(err.errorName, 'NotRecorder');
      assert.deepEqual(err.args, [new Wallet(ANVIL_KEY_1).address]);
      const f = await failureOf(createLedgerActivities({ ledger: stranger, logger }).recordAlertOnChain({ alertId: 'cls-role', device: 'd', severity: 'warning', raisedAtMs: 1 }));
      assert.equal(f.type, 'LedgerRevert');
      assert.equal(f.nonRetryable, true);
    } finally {
      stranger.close();
    }
  });

  test('bad input is rejected before touching the chain → LedgerBadInput', async () => {
    const acts = createLedgerActivities({ ledger: env.client, logger });
    const f = await failureOf(acts.recordAlertOnChain({ alertId: '', device: 'd', severity: 'warning', raisedAtMs: 1 }));
    assert.equal(f.type, 'LedgerBadInput');
    const g = await failureOf(acts.recordAckOnChain({ alertId: 'x', responder: 'r', via: 'api', ackedAtMs: -5 }));
    assert.equal(g.type, 'LedgerBadInput');
  });

  test('no ledger configured → every activity returns null', async () => {
    const acts = createLedgerActivities({ ledger: undefined, logger });
    assert.equal(await acts.recordAlertOnChain({ alertId: 'n', device: 'd', severity: 'warning', raisedAtMs: 1 }), null);
    assert.equal(await acts.recordAckOnChain({ alertId: 'n', responder: 'r', via: 'api', ackedAtMs: 1 }), null);
    assert.equal(await acts.recordResolveOnChain({ alertId: 'n', by: 'r', reason: '', resolvedAtMs: 1 }), null);
    assert.equal(await acts.readAlertRecord({ alertId: 'n' }), null);
  });
});

describe('concurrency', () => {
  test('20 concurrent acks from one signer on distinct alerts all land, with distinct nonces', async () => {
    const c = env.client;
    const ids = Array.from({ length: 20 }, (_, i) => `conc-${i}`);
    // Recording concurrently exercises the same queue.
    const recs = await Promise.all(ids.map((alertId, i) => c.recordAlert({ alertId, device: `GPU-${i}`, severity: 'critical', raisedAtMs: T0 + i })));
    assert.equal(new Set(recs.map((r) => r.txHash)).size, 20);
    const acks = await Promise.all(ids.map((alertId, i) => c.acknowledge({ alertId, responder: `oncall-${i}`, via: 'slack', ackedAtMs: T0 + 100 + i })));
    assert.ok(acks.every((a) => !a.alreadyRecorded));
    const txs = await Promise.all(acks.map((a) => env.provider.getTransaction(a.txHash)));
    const nonces = txs.map((t) => t!.nonce).sort((a, b) => a - b);
    assert.equal(new Set(nonces).size, 20, 'distinct nonces');
    assert.equal(nonces[19]! - nonces[0]!, 19, 'contiguous: no gaps, nothing stuck');
    for (const [i, alertId] of ids.entries()) {
      assert.equal((await c.getAlert(alertId))?.acknowledged?.responderHash, identityHash(`oncall-${i}`));
    }
  });

  test('a reverting call in the middle of a burst does not burn a nonce', async () => {
    const c = env.client;
    const ids = Array.from({ length: 5 }, (_, i) => `gap-${i}`);
    await Promise.all(ids.map((alertId) => c.recordAlert({ alertId, device: 'GPU-z', severity: 'warning', raisedAtMs: T0 })));
    const results = await Promise.allSettled([
      ...ids.map((alertId) => c.acknowledge({ alertId, responder: 'z', via: 'api', ackedAtMs: T0 })),
      c.acknowledge({ alertId: 'gap-unknown', responder: 'z', via: 'api', ackedAtMs: T0 }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
    // If the failed call had consumed a nonce, this tx would sit behind a gap and time out.
    const next = await c.recordAlert({ alertId: 'gap-after', device: 'GPU-z', severity: 'warning', raisedAtMs: T0 });
    assert.equal(next.alreadyRecorded, false);
  });
});

describe('audit read', () => {
  test('readAlertRecord returns the record and the tx + block of each event, JSON-safe', async () => {
    const acts = createLedgerActivities({ ledger: env.client, logger });
    const raised = await acts.recordAlertOnChain({ alertId: 'audit-1', device: 'GPU-h', severity: 'critical', raisedAtMs: T0 });
    const acked = await acts.recordAckOnChain({ alertId: 'audit-1', responder: 'hana', via: 'console', ackedAtMs: T0 + 10 });
    const resolved = await acts.recordResolveOnChain({ alertId: 'audit-1', by: 'hana', reason: 'reseated', resolvedAtMs: T0 + 20 });
    const audit = await acts.readAlertRecord({ alertId: 'audit-1' });
    assert.ok(audit);
    assert.deepEqual(JSON.parse(JSON.stringify(audit)), audit, 'survives JSON (no bigint)');
    assert.equal(audit.ledgerId, ledgerAlertId('audit-1'));
    assert.equal(audit.contract, env.address);
    assert.deepEqual(
      audit.events.map((e) => [e.kind, e.txHash, e.blockNumber]),
      [
        ['recorded', raised!.txHash, raised!.blockNumber],
        ['acknowledged', acked!.txHash, acked!.blockNumber],
        ['resolved', resolved!.txHash, resolved!.blockNumber],
      ],
    );
    assert.equal(audit.record?.severity, 'critical');
    assert.equal(audit.record?.raisedAtMs, String(T0));
    assert.equal(audit.record?.acknowledged?.channel, 'console');
    assert.ok(audit.head.blockNumber >= resolved!.blockNumber);

    const none = await acts.readAlertRecord({ alertId: 'audit-none' });
    assert.equal(none?.record, null);
    assert.deepEqual(none?.events, []);
  });
});

describe('deployment', () => {
  test('ensureLedger deploys once per chain and re-deploys on a fresh chain', async () => {
    const dataDir = await tempDir('ensure');
    const port = await freePort();
    let node = await startAnvil({ port, persist: false });
    try {
      const a = await ensureLedger({ rpcUrl: node.rpcUrl, privateKey: ANVIL_DEV_KEY, dataDir, logger });
      assert.equal(a.deployed, true);
      const saved = await loadLedgerAddress(dataDir, node.chainId);
      assert.equal(saved?.address, a.deployment.address);
      assert.equal(saved?.deployTx, a.deployment.deployTx);
      await a.ledger.recordAlert({ alertId: 'ens-1', device: 'd', severity: 'warning', raisedAtMs: 1 });
      a.ledger.close();

      const b = await ensureLedger({ rpcUrl: node.rpcUrl, privateKey: ANVIL_DEV_KEY, dataDir, logger });
      assert.equal(b.deployed, false);
      assert.equal(b.deployment.address, a.deployment.address);
      assert.equal((await b.ledger.getAlert('ens-1'))?.severity, 'warning', 'same ledger, same records');
      b.ledger.close();

      // Concurrent starts (worker + API) must agree on one ledger.
      await node.stop();
      node = await startAnvil({ port, persist: false });
      const [c1, c2] = await Promise.all([
        ensureLedger({ rpcUrl: node.rpcUrl, privateKey: ANVIL_DEV_KEY, dataDir, logger }),
        ensureLedger({ rpcUrl: node.rpcUrl, privateKey: ANVIL_DEV_KEY, dataDir, logger }),
      ]);
      assert.deepEqual([c1.deployed, c2.deployed].sort(), [false, true], 'fresh chain: exactly one re-deploy');
      assert.equal(c1.deployment.address, c2.deployment.address);
      assert.equal(await c1.ledger.getAlert('ens-1'), null, 'fresh chain has no old records');
      c1.ledger.close();
      c2.ledger.close();

      await assert.rejects(
        ensureLedger({ rpcUrl: node.rpcUrl, privateKey: ANVIL_DEV_KEY, dataDir, address: '0x000000000000000000000000000000000000dEaD' }),
        /has no code/,
      );
    } finally {
      await node.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('latency', () => {
  test('50 sequential acks on anvil: send → 1 confirmation', async () => {
    const c = env.client;
    const n = 50;
    for (let i = 0; i < n; i++) await c.recordAlert({ alertId: `lat-${i}`, device: 'GPU-l', severity: 'warning', raisedAtMs: T0 });
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const r = await c.acknowledge({ alertId: `lat-${i}`, responder: 'lat', via: 'api', ackedAtMs: T0 + i });
      ms.push(performance.now() - t);
      assert.equal(r.alreadyRecorded, false);
    }
    const p50 = percentile(ms, 50);
    const p99 = percentile(ms, 99);
    console.log(`anvil ack latency over ${n}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    assert.ok(p99 < 2_000, `p99 ${p99} ms`);
  });
});

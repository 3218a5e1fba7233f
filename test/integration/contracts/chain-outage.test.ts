/**
 * The chain node goes away during an ack. anvil runs with `--state`, as in the local stack,
 * so a restart brings back the same chain: the failed call must be retryable, the retry
 * must record exactly once, and a retry of an ack mined before the restart must find the
 * original tx (state and logs survive the restart).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { LedgerClient, deployLedger } from '../../../activities/ledger/ledger-client.ts';
import { createLedgerActivities } from '../../../activities/ledger/ledger-activities.ts';
import { LedgerUnavailableError } from '../../../activities/ledger/ledger-errors.ts';
import { ANVIL_DEV_KEY, startAnvil, type ChainNode } from '../../../infra/stack/chain.ts';
import { createLogger } from '../../../lib/logger.ts';
import { freePort, tempDir } from './ledger-harness.ts';

const logger = createLogger('silent');
let port: number;
let dataDir: string;
let node: ChainNode;
let client: LedgerClient;

before(async () => {
  port = await freePort();
  dataDir = await tempDir('outage');
  node = await startAnvil({ port, dataDir });
  const d = await deployLedger({ rpcUrl: node.rpcUrl, privateKey: ANVIL_DEV_KEY });
  // Short timeouts so an outage surfaces quickly.
  client = await LedgerClient.connect({
    rpcUrl: node.rpcUrl,
    privateKey: ANVIL_DEV_KEY,
    address: d.address,
    fromBlock: d.blockNumber,
    requestTimeoutMs: 3_000,
    receiptTimeoutMs: 5_000,
  });
});
after(async () => {
  client?.close();
  await node?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('node down during an ack → retryable failure; after restart the retry records exactly once', async () => {
  const acts = createLedgerActivities({ ledger: client, logger });
  await acts.recordAlertOnChain({ alertId: 'outage-1', device: 'GPU-o', severity: 'critical', raisedAtMs: 1_000 });
  await node.stop();

  const ack = { alertId: 'outage-1', responder: 'oscar', via: 'slack' as const, ackedAtMs: 2_000 };
  const t = performance.now();
  const rawErr = await client.acknowledge(ack).then(
    () => assert.fail('ack succeeded with the node down'),
    (e: unknown) => e,
  );
  assert.ok(rawErr instanceof LedgerUnavailableError, `expected LedgerUnavailableError, got ${String(rawErr)}`);
  assert.ok(performance.now() - t < 3_500, 'connection refused fails fast, not after a long hang');
  const failure = await acts.recordAckOnChain(ack).then(
    () => assert.fail('activity succeeded with the node down'),
    (e: unknown) => e,
  );
  assert.ok(failure instanceof ApplicationFailure);
  assert.equal(failure.type, 'LedgerUnavailable');
  assert.equal(failure.nonRetryable, false, 'Temporal must retry');

  node = await startAnvil({ port, dataDir });
  const retried = await acts.recordAckOnChain(ack);
  assert.equal(retried?.alreadyRecorded, false);
  const again = await acts.recordAckOnChain(ack);
  assert.equal(again?.txHash, retried?.txHash);
  assert.equal(again?.alreadyRecorded, true);
  const events = await client.getAlertEvents('outage-1');
  assert.deepEqual(events.map((e) => e.kind), ['recorded', 'acknowledged'], 'exactly one ack on chain');
});

test('an ack mined before a node restart is found again (state + logs persisted by --state)', async () => {
  const acts = createLedgerActivities({ ledger: client, logger });
  await acts.recordAlertOnChain({ alertId: 'outage-2', device: 'GPU-p', severity: 'warning', raisedAtMs: 3_000 });
  const ack = { alertId: 'outage-2', responder: 'pat', via: 'api' as const, ackedAtMs: 4_000 };
  const original = await acts.recordAckOnChain(ack);
  assert.equal(original?.alreadyRecorded, false);

  await node.stop(); // SIGTERM: anvil dumps its state
  node = await startAnvil({ port, dataDir });
  // The reply of the first attempt was "lost": Temporal retries the same input.
  const retry = await acts.recordAckOnChain(ack);
  assert.deepEqual(retry, { ...original!, alreadyRecorded: true });
  const head = await client.head();
  assert.equal(head.alertCount, 2);
});

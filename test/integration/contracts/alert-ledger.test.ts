/**
 * AlertLedger.sol on a real anvil: roles, the record → ack → resolve lifecycle, custom
 * errors decoded by name, events and views, the rolling digest, gas per call.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AbiCoder, Wallet, keccak256, type Contract, type ContractTransactionResponse, type TransactionReceipt } from 'ethers';
import { decodeLedgerRevert } from '../../../activities/ledger/ledger-errors.ts';
import { identityHash, ledgerAlertId, resolutionHash } from '../../../activities/ledger/ledger-ids.ts';
import { ANVIL_DEV_ADDRESS, ANVIL_DEV_KEY } from '../../../infra/stack/chain.ts';
import { ANVIL_KEY_1, ANVIL_KEY_2, startAnvilLedger, type AnvilLedger } from './ledger-harness.ts';

let env: AnvilLedger;
let owner: Contract;
let other: Contract;
const otherAddress = new Wallet(ANVIL_KEY_1).address;
const gas: Record<string, bigint> = {};

async function mined(p: Promise<ContractTransactionResponse>): Promise<TransactionReceipt> {
  const r = await (await p).wait(1);
  assert.ok(r, 'no receipt');
  assert.equal(r.status, 1);
  return r;
}

/** Runs a call expected to revert; returns the decoded custom error. */
async function revertOf(p: Promise<unknown>): Promise<{ name: string; args: string[] }> {
  try {
    await p;
  } catch (err) {
    const decoded = decodeLedgerRevert(owner.interface, err);
    assert.ok(decoded, `expected a decodable revert, got ${String(err)}`);
    return decoded;
  }
  assert.fail('expected a revert');
}

before(async () => {
  env = await startAnvilLedger();
  owner = env.contractAs(ANVIL_DEV_KEY);
  other = env.contractAs(ANVIL_KEY_1);
});
after(async () => {
  await env?.cleanup();
  if (Object.keys(gas).length) console.log('gas used per call:', Object.fromEntries(Object.entries(gas).map(([k, v]) => [k, Number(v)])));
});

describe('roles', () => {
  test('the deployer is owner and recorder; others are not', async () => {
    assert.equal(await owner.getFunction('owner')(), ANVIL_DEV_ADDRESS);
    assert.equal(await owner.getFunction('isRecorder')(ANVIL_DEV_ADDRESS), true);
    assert.equal(await owner.getFunction('isRecorder')(otherAddress), false);
  });

  test('a non-recorder cannot record, acknowledge or resolve: NotRecorder(caller)', async () => {
    const id = ledgerAlertId('roles-1');
    const e1 = await revertOf(other.getFunction('recordAlert')(id, identityHash('gpu-0'), 2, 1_000n));
    assert.deepEqual(e1, { name: 'NotRecorder', args: [otherAddress] });
    const e2 = await revertOf(other.getFunction('acknowledge')(id, identityHash('bob'), 2_000n, 1));
    assert.equal(e2.name, 'NotRecorder');
    const e3 = await revertOf(other.getFunction('resolve')(id, 3_000n, resolutionHash('bob', 'fixed')));
    assert.equal(e3.name, 'NotRecorder');
  });

  test('only the owner grants and revokes; a granted recorder writes; a revoked one cannot', async () => {
    const denied = await revertOf(other.getFunction('grantRecorder')(otherAddress));
    assert.equal(denied.name, 'NotOwner');

    const granted = await mined(owner.getFunction('grantRecorder')(otherAddress));
    gas.grantRecorder = granted.gasUsed;
    const ev = granted.logs.map((l) => owner.interface.parseLog(l)).find((p) => p?.name === 'RecorderGranted');
    assert.equal(ev?.args.account, otherAddress);
    assert.equal(await owner.getFunction('isRecorder')(otherAddress), true);

    const id = ledgerAlertId('roles-granted');
    const rec = await mined(other.getFunction('recordAlert')(id, identityHash('gpu-1'), 1, 5_000n));
    assert.equal(owner.interface.parseLog(rec.logs[0]!)?.args.recorder, otherAddress);

    const revoked = await mined(owner.getFunction('revokeRecorder')(otherAddress));
    gas.revokeRecorder = revoked.gasUsed;
    assert.equal(owner.interface.parseLog(revoked.logs[0]!)?.name, 'RecorderRevoked');
    assert.equal(await owner.getFunction('isRecorder')(otherAddress), false);
    const after = await revertOf(other.getFunction('acknowledge')(id, identityHash('bob'), 6_000n, 1));
    assert.deepEqual(after, { name: 'NotRecorder', args: [otherAddress] });

    const third = env.contractAs(ANVIL_KEY_2);
    assert.equal((await revertOf(third.getFunction('revokeRecorder')(otherAddress))).name, 'NotOwner');
  });
});

describe('lifecycle', () => {
  const alertId = 'alert-GPU-3f2a-temperature@2024-01-31T12:34:56.789Z';
  const id = ledgerAlertId(alertId);
  const deviceHash = identityHash('GPU-3f2a');
  const responderHash = identityHash('U024BE7LH');
  const reasonHash = resolutionHash('U024BE7LH', 'fan replaced');

  test('record → acknowledge → resolve: events carry indexed ids, views read back', async () => {
    const countBefore = (await owner.getFunction('alertCount')()) as bigint;

    const r1 = await mined(owner.getFunction('recordAlert')(id, deviceHash, 2, 1_706_704_496_789n));
    gas.recordAlert = r1.gasUsed;
    const e1 = owner.interface.parseLog(r1.logs[0]!)!;
    assert.equal(e1.name, 'AlertRecorded');
    assert.equal(r1.logs[0]!.topics[1], id, 'id is the first indexed topic');
    assert.equal(r1.logs[0]!.topics[2], deviceHash);
    assert.equal(e1.args.severity, 2n);
    assert.equal(e1.args.raisedAt, 1_706_704_496_789n);
    assert.equal((await owner.getFunction('alertCount')()) as bigint, countBefore + 1n);

    const r2 = await mined(owner.getFunction('acknowledge')(id, responderHash, 1_706_704_500_000n, 1));
    gas.acknowledge = r2.gasUsed;
    const e2 = owner.interface.parseLog(r2.logs[0]!)!;
    assert.equal(e2.name, 'AlertAcknowledged');
    assert.equal(r2.logs[0]!.topics[1], id);
    assert.equal(e2.args.responderHash, responderHash);
    assert.equal(e2.args.channel, 1n);

    const r3 = await mined(owner.getFunction('resolve')(id, 1_706_704_600_000n, reasonHash));
    gas.resolve = r3.gasUsed;
    const e3 = owner.interface.parseLog(r3.logs[0]!)!;
    assert.equal(e3.name, 'AlertResolved');
    assert.equal(e3.args.reasonHash, reasonHash);

    const rec = await owner.getFunction('getAlert')(id);
    assert.equal(rec.deviceHash, deviceHash);
    assert.equal(rec.severity, 2n);
    assert.equal(rec.raisedAt, 1_706_704_496_789n);
    assert.equal(rec.recordedBy, ANVIL_DEV_ADDRESS);
    assert.equal(rec.responderHash, responderHash);
    assert.equal(rec.ackedAt, 1_706_704_500_000n);
    assert.equal(rec.ackedBy, ANVIL_DEV_ADDRESS);
    assert.equal(rec.channel, 1n);
    assert.equal(rec.reasonHash, reasonHash);
    assert.equal(rec.resolvedAt, 1_706_704_600_000n);
    assert.equal(rec.resolvedBy, ANVIL_DEV_ADDRESS);
  });

  test('a second acknowledge reverts with AlreadyAcknowledged(id, recorder, ackedAt)', async () => {
    const id2 = ledgerAlertId('double-ack');
    await mined(owner.getFunction('recordAlert')(id2, deviceHash, 1, 10n));
    await mined(owner.getFunction('acknowledge')(id2, responderHash, 20n, 2));
    const err = await revertOf(owner.getFunction('acknowledge')(id2, identityHash('someone-else'), 30n, 3));
    assert.deepEqual(err, { name: 'AlreadyAcknowledged', args: [id2, ANVIL_DEV_ADDRESS, '20'] });
  });

  test('the other invariants revert by name', async () => {
    assert.deepEqual(await revertOf(owner.getFunction('recordAlert')(id, deviceHash, 2, 1n)), { name: 'AlertExists', args: [id] });
    const unknown = ledgerAlertId('never-recorded');
    assert.deepEqual(await revertOf(owner.getFunction('acknowledge')(unknown, responderHash, 1n, 1)), { name: 'UnknownAlert', args: [unknown] });
    assert.deepEqual(await revertOf(owner.getFunction('resolve')(unknown, 1n, reasonHash)), { name: 'UnknownAlert', args: [unknown] });
    assert.deepEqual(await revertOf(owner.getFunction('getAlert')(unknown)), { name: 'UnknownAlert', args: [unknown] });
    assert.deepEqual(await revertOf(owner.getFunction('resolve')(id, 1n, reasonHash)), { name: 'AlreadyResolved', args: [id] });
    // Resolved without an ack: a later ack is refused.
    const id3 = ledgerAlertId('resolved-unacked');
    await mined(owner.getFunction('recordAlert')(id3, deviceHash, 1, 1n));
    await mined(owner.getFunction('resolve')(id3, 2n, reasonHash));
    assert.deepEqual(await revertOf(owner.getFunction('acknowledge')(id3, responderHash, 3n, 1)), { name: 'AlreadyResolved', args: [id3] });
  });
});

describe('ledger head', () => {
  test('the rolling digest can be recomputed from the events alone', async () => {
    const [alerts, events, digest] = (await owner.getFunction('ledgerHead')()) as [bigint, bigint, string];
    assert.equal(alerts, (await owner.getFunction('alertCount')()) as bigint);
    const logs = await env.provider.getLogs({ address: env.address, fromBlock: 0, toBlock: 'latest' });
    const coder = AbiCoder.defaultAbiCoder();
    let d = `0x${'0'.repeat(64)}`;
    let n = 0n;
    for (const log of logs) {
      const ev = owner.interface.parseLog(log);
      if (!ev) continue;
      const fold = (kind: number, dataHash: string, small: bigint, at: bigint) => {
        d = keccak256(coder.encode(['bytes32', 'uint8', 'bytes32', 'bytes32', 'uint256', 'uint64', 'address'], [d, kind, ev.args.id, dataHash, small, at, ev.args.recorder]));
        n += 1n;
      };
      if (ev.name === 'AlertRecorded') fold(1, ev.args.deviceHash, ev.args.severity, ev.args.raisedAt);
      if (ev.name === 'AlertAcknowledged') fold(2, ev.args.responderHash, ev.args.channel, ev.args.ackedAt);
      if (ev.name === 'AlertResolved') fold(3, ev.args.reasonHash, 0n, ev.args.resolvedAt);
    }
    assert.ok(n >= 5n, 'earlier tests wrote events');
    assert.equal(events, n);
    assert.equal(digest, d);
  });

  test('client head() reads the head at the block it reports', async () => {
    const head = await env.client.head();
    const block = await env.provider.getBlock('latest');
    assert.equal(head.blockNumber, block?.number);
    assert.equal(head.blockHash, block?.hash);
    assert.equal(head.alertCount, Number(await owner.getFunction('alertCount')()));
    assert.match(head.digest, /^0x[0-9a-f]{64}$/);
    assert.notEqual(head.digest, `0x${'0'.repeat(64)}`);
  });

  test('gas stays within budget', () => {
    // Budgets guard against accidental storage-layout regressions (cold SSTOREs cost 22k each).
    assert.ok(gas.recordAlert! < 120_000n, `recordAlert ${gas.recordAlert}`);
    assert.ok(gas.acknowledge! < 110_000n, `acknowledge ${gas.acknowledge}`);
    assert.ok(gas.resolve! < 100_000n, `resolve ${gas.resolve}`);
  });
});

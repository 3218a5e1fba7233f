import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { Interface, makeError } from 'ethers';
import {
  LedgerConfigError,
  LedgerConflictError,
  LedgerRevertError,
  LedgerUnavailableError,
  decodeLedgerRevert,
  findRevertData,
  isTransientChainError,
  toLedgerFailure,
} from '../../../activities/ledger/ledger-errors.ts';
import { LedgerInputError } from '../../../activities/ledger/ledger-ids.ts';

// The contract's error ABI, written by hand so this pure test needs no compile step.
const iface = new Interface([
  'error NotOwner()',
  'error NotRecorder(address account)',
  'error AlertExists(bytes32 id)',
  'error UnknownAlert(bytes32 id)',
  'error AlreadyAcknowledged(bytes32 id, address recorder, uint64 ackedAt)',
  'error AlreadyResolved(bytes32 id)',
]);
const ID = `0x${'ab'.repeat(32)}`;
const WHO = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const alreadyAcked = iface.encodeErrorResult('AlreadyAcknowledged', [ID, WHO, 1_706_704_496_789n]);

describe('decodeLedgerRevert', () => {
  test('decodes a custom error by name with stringified args, wherever the node nests the data', () => {
    const shapes: unknown[] = [
      { data: alreadyAcked }, // ethers CALL_EXCEPTION
      { error: { code: 3, message: 'execution reverted', data: alreadyAcked } }, // geth JSON-RPC error
      { info: { error: { data: alreadyAcked } } }, // ethers UNKNOWN_ERROR wrapping the RPC error
      new Error('wrapped', { cause: { error: { data: { data: alreadyAcked } } } }),
    ];
    for (const err of shapes) {
      assert.deepEqual(decodeLedgerRevert(iface, err), {
        name: 'AlreadyAcknowledged',
        args: [ID, WHO, '1706704496789'],
      });
    }
  });

  test('decodes every custom error of the contract', () => {
    assert.deepEqual(decodeLedgerRevert(iface, { data: iface.encodeErrorResult('NotOwner', []) }), { name: 'NotOwner', args: [] });
    assert.deepEqual(decodeLedgerRevert(iface, { data: iface.encodeErrorResult('NotRecorder', [WHO]) }), { name: 'NotRecorder', args: [WHO] });
    for (const name of ['AlertExists', 'UnknownAlert', 'AlreadyResolved']) {
      assert.deepEqual(decodeLedgerRevert(iface, { data: iface.encodeErrorResult(name, [ID]) }), { name, args: [ID] });
    }
  });

  test('decodes Error(string) and Panic(uint256); unknown selectors keep the raw data', () => {
    const reason = new Interface(['error Error(string)']).encodeErrorResult('Error', ['nope']);
    assert.deepEqual(decodeLedgerRevert(iface, { data: reason }), { name: 'Error', args: ['nope'] });
    const panic = new Interface(['error Panic(uint256)']).encodeErrorResult('Panic', [0x11n]);
    assert.deepEqual(decodeLedgerRevert(iface, { data: panic }), { name: 'Panic', args: ['17'] });
    assert.deepEqual(decodeLedgerRevert(iface, { data: '0xdeadbeef00' }), { name: 'unknown', args: ['0xdeadbeef00'] });
  });

  test('returns null when there is no revert at all', () => {
    assert.equal(decodeLedgerRevert(iface, new Error('ECONNREFUSED')), null);
    assert.equal(findRevertData({ data: '0x' }), null);
    assert.equal(findRevertData(null), null);
  });
});

describe('isTransientChainError', () => {
  test('connection, timeout and nonce races are transient', () => {
    const transient: unknown[] = [
      makeError('request timeout', 'TIMEOUT'),
      makeError('could not detect network', 'NETWORK_ERROR'),
      makeError('nonce has already been used', 'NONCE_EXPIRED'),
      new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8545'), { code: 'ECONNREFUSED' }) }),
      new Error('nonce too low: next nonce 5, tx nonce 4'),
      new LedgerUnavailableError('receipt timeout'),
    ];
    for (const e of transient) assert.equal(isTransientChainError(e), true, String(e));
  });
  test('reverts and programming errors are not', () => {
    assert.equal(isTransientChainError(makeError('execution reverted', 'CALL_EXCEPTION', { action: 'estimateGas', data: '0x', reason: null, transaction: { to: null, data: '0x' }, invocation: null, revert: null })), false);
    assert.equal(isTransientChainError(new TypeError('x is undefined')), false);
  });
});

describe('toLedgerFailure', () => {
  test('maps each error class to its Temporal failure type and retryability', () => {
    const cases: [unknown, string, boolean][] = [
      [new LedgerRevertError('NotRecorder', [WHO], { method: 'acknowledge' }), 'LedgerRevert', true],
      [new LedgerConflictError('other responder', { id: ID }), 'LedgerConflict', true],
      [new LedgerInputError('alertId must be a non-empty string', 'alertId'), 'LedgerBadInput', true],
      [new LedgerConfigError('no contract'), 'LedgerConfig', true],
      [new LedgerUnavailableError('ECONNREFUSED'), 'LedgerUnavailable', false],
      [new Error('something unexpected'), 'LedgerUnavailable', false], // idempotent writes: retry is safe
    ];
    for (const [err, type, nonRetryable] of cases) {
      const f = toLedgerFailure(err);
      assert.ok(f instanceof ApplicationFailure);
      assert.equal(f.type, type);
      assert.equal(f.nonRetryable, nonRetryable, type);
      assert.equal(f.cause, err, 'keeps the cause');
    }
  });
  test('the revert message names the custom error and its arguments', () => {
    const f = toLedgerFailure(new LedgerRevertError('AlreadyResolved', [ID], { method: 'resolve' }));
    assert.equal(f.message, `resolve: reverted with AlreadyResolved(${ID})`);
    assert.deepEqual(f.details, [{ error: 'AlreadyResolved', args: [ID] }]);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CHANNEL_CODE,
  LedgerInputError,
  SEVERITY_CODE,
  channelCode,
  channelFromCode,
  identityHash,
  ledgerAlertId,
  resolutionHash,
  severityCode,
  severityFromCode,
  toUint64Ms,
} from '../../../activities/ledger/ledger-ids.ts';

describe('ledgerAlertId / identityHash', () => {
  test('are keccak256 of the UTF-8 string (published test vectors)', () => {
    // keccak256("") and keccak256("abc") from the Keccak reference (not SHA3-256).
    assert.equal(identityHash('abc'), '0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45');
    assert.equal(ledgerAlertId('abc'), identityHash('abc'));
    // UTF-8, not UTF-16: "é" is 2 bytes c3 a9.
    assert.notEqual(identityHash('é'), identityHash('e'));
  });

  test('are 32-byte hex and injective on a sample of ids', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        const ha = ledgerAlertId(a);
        assert.match(ha, /^0x[0-9a-f]{64}$/);
        assert.equal(ha === ledgerAlertId(b), a === b);
      }),
    );
  });

  test('reject empty strings with the field name', () => {
    assert.throws(() => ledgerAlertId(''), (e: unknown) => e instanceof LedgerInputError && e.field === 'alertId');
    assert.throws(() => identityHash('', 'responder'), (e: unknown) => e instanceof LedgerInputError && e.field === 'responder');
  });
});

describe('resolutionHash', () => {
  test('is unambiguous where naive concatenation is not', () => {
    assert.notEqual(resolutionHash('a', 'bc'), resolutionHash('ab', 'c'));
    assert.notEqual(resolutionHash('a\n', 'b'), resolutionHash('a', '\nb'));
    assert.equal(resolutionHash('ops', 'fan replaced'), resolutionHash('ops', 'fan replaced'));
  });
  test('allows an empty reason but not an empty resolver', () => {
    assert.match(resolutionHash('ops', ''), /^0x[0-9a-f]{64}$/);
    assert.throws(() => resolutionHash('', 'x'), LedgerInputError);
  });
});

describe('codes', () => {
  test('severity and channel codes round-trip and never use 0', () => {
    for (const s of Object.keys(SEVERITY_CODE) as (keyof typeof SEVERITY_CODE)[]) {
      assert.ok(severityCode(s) > 0);
      assert.equal(severityFromCode(severityCode(s)), s);
    }
    for (const c of Object.keys(CHANNEL_CODE) as (keyof typeof CHANNEL_CODE)[]) {
      assert.ok(channelCode(c) > 0);
      assert.equal(channelFromCode(channelCode(c)), c);
    }
    assert.equal(channelFromCode(0), null);
    assert.equal(severityFromCode(9), 'unknown(9)');
    assert.throws(() => severityCode('fatal' as never), LedgerInputError);
    assert.throws(() => channelCode('carrier-pigeon' as never), LedgerInputError); // email/ntfy/webhook are real channels now
  });
});

describe('toUint64Ms', () => {
  test('accepts safe non-negative integers, rejects the rest with the field name', () => {
    assert.equal(toUint64Ms(1_706_704_496_789, 'ackedAtMs'), 1_706_704_496_789n);
    assert.equal(toUint64Ms(0, 'x'), 0n);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      assert.throws(() => toUint64Ms(bad, 'ackedAtMs'), (e: unknown) => e instanceof LedgerInputError && e.field === 'ackedAtMs');
    }
  });
});

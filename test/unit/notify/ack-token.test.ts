/** Signed acknowledge tokens (lib/notify/ack-token.ts): round trip, tampering, expiry, bounds. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AckTokenError, MAX_ACK_TOKEN_CHARS, ackLink, signAckToken, verifyAckToken } from '../../../lib/notify/ack-token.ts';
import { notifyAckSecret, DEV_NOTIFY_ACK_SECRET } from '../../../lib/notify/ack-secret.ts';
import { loadConfig, ConfigError } from '../../../lib/config.ts';

const KEY = 'k'.repeat(40);
const claims = { alertId: 'alert-GPU-1-temp', via: 'email' as const, target: 'oncall@example.com', expiresAtS: 2_000_000_000 };
const problem = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AckTokenError);
    return err.problem;
  }
  assert.fail('expected an AckTokenError');
};

describe('ack tokens', () => {
  test('round trip', () => {
    assert.deepEqual(verifyAckToken(KEY, signAckToken(KEY, claims), 1_900_000_000), claims);
  });
  test('another key, a changed payload or signature: bad_signature', () => {
    const t = signAckToken(KEY, claims);
    assert.equal(problem(() => verifyAckToken('x'.repeat(40), t, 0)), 'bad_signature');
    const other = signAckToken(KEY, { ...claims, alertId: 'alert-other' });
    assert.equal(problem(() => verifyAckToken(KEY, `${other.split('.')[0]}.${t.split('.')[1]}`, 0)), 'bad_signature');
    assert.equal(problem(() => verifyAckToken(KEY, `${t}x`, 0)), 'bad_signature');
  });
  test('expired, malformed, too long', () => {
    assert.equal(problem(() => verifyAckToken(KEY, signAckToken(KEY, claims), 2_000_000_001)), 'expired');
    assert.equal(problem(() => verifyAckToken(KEY, 'nodot', 0)), 'malformed');
    assert.equal(problem(() => verifyAckToken(KEY, 'a.b.c', 0)), 'malformed');
    assert.equal(problem(() => verifyAckToken(KEY, 'a'.repeat(MAX_ACK_TOKEN_CHARS + 1), 0)), 'too_long');
  });
  test('links are absolute and URL-encoded', () => {
    const link = ackLink('https://api.example.com/', 'a.b');
    assert.equal(link, 'https://api.example.com/v1/notify/ack?token=a.b');
  });
});

describe('ack key from config', () => {
  test('development default outside production only; production refuses the dev key', () => {
    assert.equal(notifyAckSecret({ NODE_ENV: 'development' }), DEV_NOTIFY_ACK_SECRET);
    assert.equal(notifyAckSecret({ NODE_ENV: 'production' }), undefined);
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production', API_KEYS: 'k1:read', NOTIFY_ACK_SECRET: DEV_NOTIFY_ACK_SECRET }),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.variable === 'NOTIFY_ACK_SECRET'),
    );
    assert.throws(() => loadConfig({ NOTIFY_ACK_SECRET: 'short' }), (e: unknown) => e instanceof ConfigError && e.issues[0]!.variable === 'NOTIFY_ACK_SECRET');
  });
});

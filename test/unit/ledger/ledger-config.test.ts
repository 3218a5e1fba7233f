/** The ledger/witness config keys: bad values are refused naming the variable; production refuses generated keys. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../lib/config.ts';

function problem(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.issues.map((i) => i.variable);
  }
  assert.fail('expected a ConfigError');
}

test('ledger and witness keys are validated by name', () => {
  assert.deepEqual(problem({ LEDGER_PREVIOUS_ADDRESSES: '0x12,0xzz' }), ['LEDGER_PREVIOUS_ADDRESSES']);
  assert.deepEqual(problem({ LEDGER_CHECKPOINT_KEY: 'ed25519:abc' }), ['LEDGER_CHECKPOINT_KEY']);
  assert.deepEqual(problem({ LEDGER_WITNESS_URLS: 'witness:8590' }), ['LEDGER_WITNESS_URLS']);
  assert.deepEqual(problem({ LEDGER_ANCHOR_EVERY_WRITES: '0' }), ['LEDGER_ANCHOR_EVERY_WRITES']);
  assert.deepEqual(problem({ WITNESS_NAME: 'a b' }), ['WITNESS_NAME']);
  const ok = loadConfig({ LEDGER_PREVIOUS_ADDRESSES: `0x${'a'.repeat(40)},0x${'b'.repeat(40)}`, LEDGER_WITNESS_URLS: 'http://w1:8590,https://w2' });
  assert.equal(ok.LEDGER_ANCHOR_INTERVAL_S, 300);
});

test('production: witnesses need a configured checkpoint key, and a witness needs its own key', () => {
  const prod = { NODE_ENV: 'production', API_KEYS: 'k1:admin' };
  assert.deepEqual(problem({ ...prod, LEDGER_WITNESS_URLS: 'http://w:8590' }), ['LEDGER_CHECKPOINT_KEY']);
  assert.deepEqual(problem({ ...prod, WITNESS_LOG_KEYS: 'a+00000000+AQ==' }), ['WITNESS_KEY']);
  loadConfig({ ...prod, LEDGER_WITNESS_URLS: 'http://w:8590', LEDGER_CHECKPOINT_KEY_FILE: '/run/secrets/k' });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../lib/config.ts';

describe('config', () => {
  test('defaults parse', () => {
    const c = loadConfig({});
    assert.equal(c.PARTITIONS_PER_TOPIC, 4);
    assert.equal(c.VISIBILITY_TIMEOUT, 30);
    assert.equal(c.INFLUXDB_BUCKET, 'telem_bucket');
    assert.equal(c.NODE_ENV, 'development');
  });
  test('a bad value names the variable and what was expected', () => {
    for (const [k, v] of [
      ['QUEUE_SIZE', 'lots'],
      ['PARTITIONS_PER_TOPIC', '0'],
      ['TEMPORAL_ADDRESS', 'no-port'],
      ['NATS_URL', 'http://x'],
      ['INFLUXDB_URL', 'not a url'],
      ['CHAIN_PRIVATE_KEY', '0x123'],
      ['SLACK_BOT_TOKEN', 'xoxp-user-token'],
      ['NODE_ENV', 'staging'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [k]: v }),
        (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.variable === k) && err.message.includes(k),
        `${k}=${v} must be rejected`,
      );
    }
  });
  test('several bad values are all reported', () => {
    try {
      loadConfig({ QUEUE_SIZE: '-1', API_PORT: '99999' });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues.map((i) => i.variable).sort(), ['API_PORT', 'QUEUE_SIZE']);
    }
  });
  test('empty strings mean unset', () => {
    assert.equal(loadConfig({ QUEUE_SIZE: '' }).QUEUE_SIZE, 100_000);
  });
  test('production refuses missing or development secrets', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /API_KEYS: required in production/);
    assert.throws(() => loadConfig({ NODE_ENV: 'production', API_KEYS: 'dev-admin-key:admin' }), /API_KEYS: a development default secret/);
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production', API_KEYS: 'a-real-long-key-123:admin', SLACK_SIGNING_SECRET: 'dev-signing-secret' }),
      /SLACK_SIGNING_SECRET/,
    );
    assert.equal(loadConfig({ NODE_ENV: 'production', API_KEYS: 'a-real-long-key-123:admin' }).NODE_ENV, 'production');
  });
});

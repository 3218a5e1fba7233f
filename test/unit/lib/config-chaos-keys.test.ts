/** The settings the chaos suite added: the DLQ's capacity and the API's clock offset. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../lib/config.ts';

test('defaults: DLQ of 1M messages / 1 GiB, no clock offset', () => {
  const c = loadConfig({});
  assert.equal(c.DLQ_MAX_MSGS, 1_000_000);
  assert.equal(c.DLQ_MAX_BYTES, 1024 ** 3);
  assert.equal(c.API_CLOCK_OFFSET_S, 0);
  assert.equal(loadConfig({ API_CLOCK_OFFSET_S: '-600' }).API_CLOCK_OFFSET_S, -600);
});

test('bad values are refused with the variable named', () => {
  assert.throws(() => loadConfig({ DLQ_MAX_MSGS: '0' }), /DLQ_MAX_MSGS/);
  assert.throws(() => loadConfig({ DLQ_MAX_BYTES: '10' }), /DLQ_MAX_BYTES/);
  assert.throws(() => loadConfig({ API_CLOCK_OFFSET_S: '1.5' }), /API_CLOCK_OFFSET_S/);
  assert.throws(() => loadConfig({ API_CLOCK_OFFSET_S: '100000' }), /API_CLOCK_OFFSET_S/);
});

test('production refuses a clock offset', () => {
  const prod = { NODE_ENV: 'production', API_KEYS: 'a-real-long-key-123:admin' };
  assert.throws(() => loadConfig({ ...prod, API_CLOCK_OFFSET_S: '600' }), /API_CLOCK_OFFSET_S: must be 0 in production/);
  assert.equal(loadConfig({ ...prod, API_CLOCK_OFFSET_S: '0' }).API_CLOCK_OFFSET_S, 0);
});

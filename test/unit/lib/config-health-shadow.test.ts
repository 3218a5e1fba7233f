/** Shadow-model write keys (issue 10): defaults, parsing, and bad values rejected by name. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../lib/config.ts';

describe('health shadow config', () => {
  test('defaults: no shadow model, disagreements only, 2,000 lines per batch, version from the file', () => {
    const c = loadConfig({});
    assert.equal(c.HEALTH_SHADOW_MODEL_PATH, undefined);
    assert.equal(c.HEALTH_SHADOW_WRITE, 'disagree');
    assert.equal(c.HEALTH_SHADOW_MAX_LINES, 2_000);
    assert.equal(c.HEALTH_SHADOW_MODEL_VERSION, undefined);
  });
  test('parsed values', () => {
    const c = loadConfig({ HEALTH_SHADOW_WRITE: 'all', HEALTH_SHADOW_MAX_LINES: '50', HEALTH_SHADOW_MODEL_VERSION: 'cand-2.1' });
    assert.equal(c.HEALTH_SHADOW_WRITE, 'all');
    assert.equal(c.HEALTH_SHADOW_MAX_LINES, 50);
    assert.equal(c.HEALTH_SHADOW_MODEL_VERSION, 'cand-2.1');
  });
  test('bad values name the variable', () => {
    for (const [k, v] of [
      ['HEALTH_SHADOW_WRITE', 'sometimes'],
      ['HEALTH_SHADOW_MAX_LINES', '0'],
      ['HEALTH_SHADOW_MAX_LINES', 'many'],
      ['HEALTH_SHADOW_MODEL_VERSION', 'has space'],
    ] as const)
      assert.throws(
        () => loadConfig({ [k]: v }),
        (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.variable === k),
        `${k}=${v} must be rejected`,
      );
  });
});

/** The console's config keys: defaults, parsing, and bad values rejected by name. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../lib/config.ts';
import { resolveConsoleDir } from '../../../api/console/static.ts';

describe('console config', () => {
  test('defaults: served, from dist/console (under the repository), no Temporal UI URL', () => {
    const c = loadConfig({});
    assert.equal(c.CONSOLE_ENABLED, true);
    assert.equal(c.CONSOLE_DIR, 'dist/console');
    assert.equal(c.TEMPORAL_UI_URL, undefined);
    assert.match(resolveConsoleDir(c.CONSOLE_DIR), /\/dist\/console$/);
    assert.equal(resolveConsoleDir('/srv/console'), '/srv/console');
  });
  test('parsed values', () => {
    const c = loadConfig({ CONSOLE_ENABLED: 'false', TEMPORAL_UI_URL: 'https://temporal.example.test' });
    assert.equal(c.CONSOLE_ENABLED, false);
    assert.equal(c.TEMPORAL_UI_URL, 'https://temporal.example.test');
  });
  test('bad values name the variable', () => {
    for (const [k, v] of [
      ['CONSOLE_ENABLED', 'yes'],
      ['TEMPORAL_UI_URL', 'not a url'],
    ] as const)
      assert.throws(
        () => loadConfig({ [k]: v }),
        (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.variable === k),
        `${k}=${v} must be rejected`,
      );
  });
});

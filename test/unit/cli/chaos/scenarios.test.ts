/** The two bounded chaos test files together run every scenario, each once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from '../../../../cli/chaos/scenarios.ts';

test('every scenario is in exactly one bounded chaos test file', () => {
  const names = ['chaos.test.ts', 'chaos-alerts.test.ts'].flatMap((f) => {
    const text = readFileSync(fileURLToPath(new URL(`../../../integration/chaos/${f}`, import.meta.url)), 'utf8');
    return [...text.matchAll(/'([a-z0-9-]+)'/g)].map((m) => m[1]!).filter((n) => SCENARIOS.some((s) => s.name === n));
  });
  assert.deepEqual([...names].sort(), SCENARIOS.map((s) => s.name).sort());
  assert.equal(new Set(SCENARIOS.map((s) => s.name)).size, SCENARIOS.length, 'names are unique');
});

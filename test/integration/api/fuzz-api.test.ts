/**
 * schemathesis (PyPI) against the live API's own OpenAPI document, on real
 * servers (infra/fuzz/api-fuzz.ts): admin key, every check but the ones
 * infra/fuzz/schemathesis.toml names with a reason, bounded to 90 s of
 * generation. Zero 5xx, every status and body as documented, no request
 * slower than 10 s. Longer runs: `telemetry-stack fuzz api --minutes N`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runApiFuzz } from '../../../infra/fuzz/api-fuzz.ts';

test('schemathesis: zero 5xx, documented statuses and schemas, no hang (bounded run)', { timeout: 8 * 60_000 }, async () => {
  const reportDir = mkdtempSync(join(tmpdir(), 'telemetry-fuzz-test-'));
  const r = await runApiFuzz({ maxTimeS: 90, maxExamples: 40, reportDir });
  const shown = r.failures.map((f) => `${f.operation}: ${f.message.slice(0, 600)}`).join('\n---\n');
  assert.ok(r.operations >= 15, `schemathesis tested ${r.operations} operations (is the document served?)\n${r.output.slice(-3_000)}`);
  assert.deepEqual(r.failures, [], `schemathesis found:\n${shown}`);
  assert.equal(r.exitCode, 0, r.output.slice(-3_000));
  const serverErrors = Object.entries(r.statuses).filter(([s]) => s.startsWith('5'));
  assert.deepEqual(serverErrors, [], 'no 5xx at all');
  assert.ok((r.statuses['200'] ?? 0) + (r.statuses['202'] ?? 0) > 0, `some requests succeeded: ${JSON.stringify(r.statuses)}`);
  assert.ok((r.statuses['400'] ?? 0) > 0, 'bad input was generated and refused');
  assert.ok(r.generated > 500, `schemathesis generated ${r.generated} cases`);
  console.error(`fuzz: ${r.operations} operations, ${r.generated} cases, statuses ${JSON.stringify(r.statuses)}, ${r.durationS} s`);
  rmSync(reportDir, { recursive: true, force: true });
});

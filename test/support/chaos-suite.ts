/**
 * The bounded chaos run for `npm test`: `telemetry-stack chaos --json` over
 * some scenarios (cli/chaos/scenarios.ts) on a stack of its own, 100,000
 * points each, outages shortened to CHAOS_FAULT_S (the command's default is
 * the 30 s), health scoring off. The command judges each scenario on
 * exact figures; this re-checks every figure of its JSON so a failure names
 * the scenario and what was off. The scenarios are split over two test files
 * so each stays inside the runner's 15-minute per-file timeout on a busy
 * machine.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliAsync } from './processes.ts';
import { SCENARIOS } from '../../cli/chaos/scenarios.ts';
import type { ChaosResult } from '../../cli/chaos/chaos-run.ts';

/** Outage length in the bounded run, seconds. */
export const CHAOS_FAULT_S = 8;

export function chaosSuite(title: string, names: string[]): void {
  let result: ChaosResult | undefined;
  let failure = '';

  before(async () => {
    // Health scoring off: it is enrichment, not part of any fault path, and the run must fit the CI budget.
    const r = await runCliAsync(['chaos', '--json', '--fault-seconds', String(CHAOS_FAULT_S), '--health', 'off', '--scenario', ...names], {});
    result = r.json as ChaosResult | undefined;
    failure = `exit ${r.status}\n${r.stdout.split('\n').slice(0, -1).join('\n')}\n${r.stderr.split('\n').slice(-40).join('\n')}`;
    // The command's table (its stdout before the JSON line) and progress, for the test log.
    if (result) console.log(`${r.stdout.split('\n').slice(0, -2).join('\n')}\n${r.stderr}`);
  });

  describe(title, () => {
    test('the command ran these scenarios and exits 0 only when all passed', () => {
      assert.ok(result, `no JSON summary: ${failure}`);
      assert.deepEqual(result.scenarios.map((s) => s.scenario), SCENARIOS.filter((s) => names.includes(s.name)).map((s) => s.name));
      assert.equal(result.fault_s, CHAOS_FAULT_S);
      assert.equal(result.passed, result.scenarios.every((s) => s.passed), failure);
    });

    for (const name of names)
      test(name, () => {
        const sc = SCENARIOS.find((s) => s.name === name);
        assert.ok(sc, `no scenario ${name}`);
        const r = result?.scenarios.find((s) => s.scenario === name);
        assert.ok(r, `no result for ${name}: ${failure}`);
        const why = `${name}: ${r.notes.join(' | ')}`;
        assert.ok(r.points_expected >= 100_000, why);
        assert.equal(r.points_found, r.points_expected, why);
        assert.equal(r.duplicates, 0, why);
        assert.equal(r.dlq, sc.expectedDlq ?? 0, why);
        assert.equal(r.alerts_expected, 1, why);
        assert.equal(r.alerts_paged, 1, why);
        assert.equal(r.acks_on_chain, 1, why);
        assert.ok(Number.isFinite(r.recovery_s) && r.recovery_s >= 0, why);
        assert.equal(r.passed, true, why);
      });
  });
}

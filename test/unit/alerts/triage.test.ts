/**
 * Evidence on every page (issue 10): the triage card built by the rule
 * engine from a real scored verdict, carried on the alert, rendered in Slack.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../../../lib/parse/index.ts';
import { createOnnxScorer, type HealthScorer } from '../../../activities/health/onnx-scorer.ts';
import { realTraceCsv } from '../../../ml/real-traces.ts';
import { createRuleEngine, parseAlertRules } from '../../../lib/alerts/rules.ts';
import { buildTriage } from '../../../lib/alerts/triage.ts';
import { alertMessage } from '../../../activities/slack/blocks.ts';
import type { AlertState } from '../../../lib/alerts/types.ts';

let scorer: HealthScorer;
before(async () => {
  scorer = await createOnnxScorer();
});
after(async () => {
  await scorer.close();
});

/** H100 whose driver asks for a reset after a row-remap failure at row 20; an earlier episode at rows 5-7 (HW slowdown). */
async function scored() {
  const csv = realTraceCsv({
    board: 'h100',
    rows: 40,
    row: (i) => ({
      'temperature.gpu': '61',
      'temperature.gpu.tlimit': '26',
      'clocks_event_reasons.active': i >= 5 && i < 8 ? '0x0000000000000008' : '0x0000000000000000',
      'clocks_event_reasons.hw_slowdown': i >= 5 && i < 8 ? 'Active' : 'Not Active',
      'remapped_rows.failure': i >= 20 ? 'Yes' : 'No',
      'remapped_rows.uncorrectable': i >= 20 ? '3' : '0',
      gpu_recovery_action: i >= 20 ? 'Reset' : 'None',
    }),
  });
  const { points } = parseText(csv, { fileName: 'h100.csv' });
  const { results } = await scorer.score(points, {});
  return { points, results };
}

describe('triage card', () => {
  test('built on the firing from the deciding verdict: driver signals, catalog action, history; deterministic', async () => {
    const { points, results } = await scored();
    const engine = createRuleEngine(parseAlertRules({ rules: [{ name: 'gpu-health-critical', kind: 'health', severity: 'critical', atLeast: 'critical', group: 'gpu' }] }));
    const state = engine.initialState();
    const clock = Number(BigInt(points[39]!.ts) / 1_000_000n);
    const out = engine.apply(state, points.map((point, i) => ({ point, health: results[i]! })), clock);
    const firings = out.events.filter((e) => e.type === 'firing');
    assert.equal(firings.length, 2); // the HW-slowdown episode, then the remap failure
    const card = firings[1]!.alert.triage!;
    assert.equal(firings[1]!.alert.group, 'gpu');
    assert.deepEqual(card.decidedBy, ['rule gpu-health-critical (health)', 'health: driver']);
    assert.equal(card.driver.gpu_recovery_action, 1);
    assert.equal(card.driver.remapped_rows_uncorrectable, 3);
    assert.deepEqual(card.catalog.map((c) => [c.kind, c.name]), [['recovery_action', 'Reset']]);
    assert.match(card.recommendedAction!, /Row remapping failed|nvidia-smi -r/);
    assert.deepEqual(card.holds.map((h) => h.cause).sort(), ['recovery_action', 'remap_failure']);
    assert.equal(card.limits.headroom_c, 26);
    assert.equal(card.history.previousIncidents, 1);
    assert.equal(card.history.lastIncidentAt, new Date(Number(BigInt(points[5]!.ts) / 1_000_000n)).toISOString());
    // Same inputs, same card.
    const again = buildTriage({ rule: { name: 'gpu-health-critical', kind: 'health' }, health: results[20]! });
    assert.deepEqual(again, buildTriage({ rule: { name: 'gpu-health-critical', kind: 'health' }, health: results[20]! }));
    // The alert's health stays small: the evidence travels in the card.
    assert.equal('evidence' in firings[1]!.alert.health!, false);

    const s: AlertState = { alert: firings[1]!.alert, status: 'firing', level: 0, repeats: 0, history: [] };
    const text = JSON.stringify(alertMessage(s).blocks);
    assert.match(text, /Recommended action/);
    assert.match(text, /recovery action Reset \(critical\)/);
    assert.match(text, /1 earlier unhealthy episode/);
  });

  test('no health verdict: the card names only the rule and invents nothing', () => {
    const card = buildTriage({ rule: { name: 'gpu-temp-high', kind: 'threshold' } });
    assert.deepEqual(card, { v: 1, decidedBy: ['rule gpu-temp-high (threshold)'], driver: {}, catalog: [], holds: [], baseline: [], limits: {}, history: { previousIncidents: 0 } });
  });
});

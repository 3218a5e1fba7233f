/** Pure parts of silences (matching, windows, the visibility query) and the pipeline policy choice. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { activeSilenceFor, buildSilence, silenceMatches, silenceVisibilityQuery } from '../../../lib/oncall/silences.ts';
import { parseEscalationPolicies, policyForAlert } from '../../../lib/alerts/policy.ts';

const T = Date.parse('2026-06-01T12:00:00Z');

describe('silences', () => {
  test('every given matcher must match; "*" is a prefix', () => {
    const s = { matchers: { host: 'node-*', rule: 'gpu-temp-critical' } };
    assert.ok(silenceMatches(s, { device: 'GPU-1', rule: 'gpu-temp-critical', host: 'node-7' }));
    assert.ok(!silenceMatches(s, { device: 'GPU-1', rule: 'gpu-temp-critical', host: 'rack-7' }));
    assert.ok(!silenceMatches(s, { device: 'GPU-1', rule: 'gpu-temp-critical' }), 'no host: a host matcher cannot match');
    assert.ok(!silenceMatches(s, { device: 'GPU-1', rule: 'gpu-ecc', host: 'node-7' }));
  });

  test('windows: planned, active, ended early; the longest matching one wins', () => {
    const a = buildSilence({ matchers: { device: 'GPU-1' }, for: '1h', reason: 'short one', by: 'me' }, 'a', T);
    const b = buildSilence({ matchers: { device: 'GPU-*' }, for: '3h', reason: 'long one', by: 'me', onEnd: 'resolve' }, 'b', T);
    const planned = buildSilence({ matchers: { device: 'GPU-2' }, for: '1h', reason: 'later', by: 'me', startsAt: '2026-06-01T14:00:00Z' }, 'c', T);
    assert.equal(activeSilenceFor([a, b], { device: 'GPU-1', rule: 'r' }, T + 60_000)?.id, 'b');
    assert.equal(activeSilenceFor([a, b], { device: 'GPU-1', rule: 'r' }, T + 60_000)?.onEnd, 'resolve');
    assert.equal(activeSilenceFor([planned], { device: 'GPU-2', rule: 'r' }, T), undefined, 'not started yet');
    assert.equal(activeSilenceFor([planned], { device: 'GPU-2', rule: 'r' }, Date.parse('2026-06-01T14:30:00Z'))?.id, 'c');
    assert.equal(activeSilenceFor([{ ...b, ended: { by: 'x', at: new Date(T).toISOString() } }], { device: 'GPU-1', rule: 'r' }, T + 1), undefined);
    assert.throws(() => buildSilence({ matchers: { device: 'x' }, for: '1h', reason: 'past', by: 'me', startsAt: '2026-05-01T00:00:00Z' }, 'd', T), /already over/);
    assert.throws(() => buildSilence({ matchers: { device: 'a b' }, for: '1h', reason: 'spaces', by: 'me' }, 'e', T), /matchers\.device/);
  });

  test('visibility query: running alert workflows by device/rule, prefixes as STARTS_WITH, quotes escaped', () => {
    assert.equal(
      silenceVisibilityQuery({ device: 'GPU-"1"', rule: 'gpu-*' }),
      'WorkflowType = "alertEscalation" AND ExecutionStatus = "Running" AND AlertDevice = "GPU-\\"1\\"" AND AlertRule STARTS_WITH "gpu-"',
    );
    assert.equal(silenceVisibilityQuery({ host: 'node-1' }), 'WorkflowType = "alertEscalation" AND ExecutionStatus = "Running"');
  });
});

describe('pipeline policy', () => {
  const level = (name: string) => ({ name, waitFor: '5m' });
  test('device "pipeline" alerts use the `pipeline` policy when set, else the severity one', () => {
    const p = parseEscalationPolicies({ default: { levels: [level('gpu')] }, pipeline: { levels: [level('ops')] } });
    assert.equal(policyForAlert(p, { device: 'pipeline', severity: 'critical' }).levels[0]!.name, 'ops');
    assert.equal(policyForAlert(p, { device: 'GPU-1', severity: 'critical' }).levels[0]!.name, 'gpu');
    const q = parseEscalationPolicies({ default: { levels: [level('gpu')] } });
    assert.equal(policyForAlert(q, { device: 'pipeline', severity: 'warning' }).levels[0]!.name, 'gpu');
  });
});

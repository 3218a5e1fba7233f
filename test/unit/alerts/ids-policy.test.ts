import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { alertWorkflowId } from '../../../lib/alerts/ids.ts';
import { EscalationPolicyError, parseEscalationPolicies, policyForSeverity } from '../../../lib/alerts/policy.ts';
import { levelTargets } from '../../../lib/notify/targets.ts';
import { formatDurationMs, parseDurationMs, tryParseDurationMs } from '../../../lib/alerts/rules-duration.ts';

describe('alertWorkflowId', () => {
  test('readable for safe ids, sanitised and still distinct otherwise', () => {
    assert.equal(alertWorkflowId('GPU-5f3c2a1e-0000-1111', 'gpu-temp-high'), 'alert-GPU-5f3c2a1e-0000-1111-gpu-temp-high');
    assert.equal(alertWorkflowId('node1:0000:01:00.0', 'xid'), 'alert-node1:0000:01:00.0-xid');
    const a = alertWorkflowId('node 1/NVIDIA L4', 'r');
    const b = alertWorkflowId('node_1_NVIDIA_L4', 'r');
    const c = alertWorkflowId('node/1 NVIDIA L4', 'r');
    assert.match(a, /^alert-node_1_NVIDIA_L4~[0-9a-f]{8}-r$/);
    assert.notEqual(a, b);
    assert.notEqual(a, c);
    assert.ok(alertWorkflowId('x'.repeat(500), 'r').length < 200);
    assert.equal(alertWorkflowId('d', 'r'), alertWorkflowId('d', 'r'));
  });
});

describe('escalation policy', () => {
  test('example file parses; per-severity override applies', () => {
    const p = parseEscalationPolicies(JSON.parse(readFileSync(new URL('../../../infra/config/escalation-policy.example.json', import.meta.url), 'utf8')));
    assert.equal(policyForSeverity(p, 'critical').levels[0]!.waitFor, '5m');
    assert.equal(policyForSeverity(p, 'warning').levels[0]!.waitFor, '10m');
    // Raw ids on channel `slack`: the Slack adapter, not lib/alerts, writes `<@U…>` / `<!subteam^S…>`.
    assert.deepEqual(levelTargets(p.default.levels[2]!), [
      { channel: 'slack', target: 'U0LEAD001' },
      { channel: 'slack', target: 'S0GPUTEAM' },
    ]);
  });

  test('a bare policy gets defaults; bad values are named', () => {
    const p = parseEscalationPolicies({ levels: [{ name: 'a', waitFor: '1m' }] });
    assert.equal(p.default.repeat, 0);
    assert.equal(p.default.autoResolveAfter, '10m');
    assert.equal(p.default.snoozeMax, '24h');
    assert.throws(
      () => parseEscalationPolicies({ levels: [{ name: 'a', waitFor: 'soon', users: ['bob'] }], repeat: -1 }),
      (err: unknown) =>
        err instanceof EscalationPolicyError &&
        /levels\.0\.waitFor/.test(err.message) &&
        /levels\.0\.users\.0/.test(err.message) &&
        /repeat/.test(err.message),
    );
    assert.throws(() => parseEscalationPolicies({ default: { levels: [] } }), /default\.levels/);
  });
});

describe('durations', () => {
  test('ms-style strings', () => {
    assert.equal(parseDurationMs('30s'), 30_000);
    assert.equal(parseDurationMs('2m'), 120_000);
    assert.equal(parseDurationMs('1h30m'), 5_400_000);
    assert.equal(parseDurationMs('5 minutes'), 300_000);
    assert.equal(parseDurationMs('1.5h'), 5_400_000);
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(tryParseDurationMs('30'), undefined);
    assert.equal(tryParseDurationMs('3 parsecs'), undefined);
    assert.throws(() => parseDurationMs(''), /invalid duration/);
    assert.equal(formatDurationMs(90_000), '1m30s');
  });
});

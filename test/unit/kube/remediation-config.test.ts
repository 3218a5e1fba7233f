/** Remediation config keys: defaults, and bad values rejected naming the variable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../lib/config.ts';
import { autoPolicyFromConfig, kubeFromConfig } from '../../../lib/kube/remediation-config.ts';

const rejected = (env: Record<string, string>, variable: string) =>
  assert.throws(
    () => loadConfig(env),
    (e: Error) => e instanceof ConfigError && e.issues.some((i) => i.variable === variable),
    variable,
  );

test('defaults: policy off, cap 2 nodes / 10 %, reset+reboot, no cluster', () => {
  const cfg = loadConfig({});
  assert.deepEqual(autoPolicyFromConfig(cfg), { mode: 'off', actions: ['reset', 'reboot'], maxNodes: 2, maxPercent: 10 });
  assert.equal(cfg.REMEDIATION_DRAIN_TIMEOUT_S, 600);
  assert.equal(cfg.REMEDIATION_RELEASE_ON_RECOVERY, false);
  assert.equal(kubeFromConfig({ ...cfg, KUBE_IN_CLUSTER: 'off' }), undefined);
});

test('bad values are refused by name', () => {
  rejected({ REMEDIATION_AUTO: 'yes' }, 'REMEDIATION_AUTO');
  rejected({ REMEDIATION_AUTO_ACTIONS: 'reset,explode' }, 'REMEDIATION_AUTO_ACTIONS');
  rejected({ REMEDIATION_MAX_PERCENT: '150' }, 'REMEDIATION_MAX_PERCENT');
  rejected({ REMEDIATION_MAX_NODES: '-1' }, 'REMEDIATION_MAX_NODES');
  rejected({ REMEDIATION_DRAIN_TIMEOUT_S: '1' }, 'REMEDIATION_DRAIN_TIMEOUT_S');
  rejected({ KUBE_IN_CLUSTER: 'maybe' }, 'KUBE_IN_CLUSTER');
  rejected({ KUBE_NODE_MAP: 'GPU-1=Bad_Node' }, 'KUBE_NODE_MAP');
  rejected({ REMEDIATION_RELEASE_ON_RECOVERY: 'yes' }, 'REMEDIATION_RELEASE_ON_RECOVERY');
});

test('a kubeconfig that cannot be read stops start-up with its path', () => {
  assert.throws(
    () => kubeFromConfig({ ...loadConfig({}), KUBECONFIG: '/nonexistent/kubeconfig' }),
    /\/nonexistent\/kubeconfig: cannot read kubeconfig/,
  );
});

/**
 * Node remediation end to end against a REAL kube-apiserver + etcd (infra/stack/kube.ts), a real
 * Temporal dev server and a real anvil ledger: the `nodeRemediation` and `alertEscalation`
 * workflows on one worker with the real remediation and ledger activities (channels are the
 * recording fakes of the escalation tests), the real API (Slack endpoint, /v1/nodes) over a socket,
 * the real alert signaller for the policy, and the CLI as a child process.
 *
 * No kubelet: Nodes, Pods and PDBs are created through the API; the test plays the kubelet (pods
 * Running/Ready; finishing a terminating pod) and the disruption controller (PDB status).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { startTestStack, type TestStack } from '../../support/test-stack.ts';
import { temporalClient } from '../../support/pipeline.ts';
import { serviceAccountToken, startKube, type KubeServer } from '../../support/kube.ts';
import { applyObject, parseManifests, ResourcePaths } from '../../support/kube-apply.ts';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cacheDir, isExecutable } from '../../../infra/stack/binaries.ts';
import { loadConfig } from '../../../lib/config.ts';
import { ApplicationFailure } from '@temporalio/common';
import {
  createNamespace,
  createNode,
  createPdb,
  createPod,
  finishTermination,
  getNode,
  podsOn,
  setPdbAllowed,
} from '../../support/kube-fixtures.ts';
import { clickButton } from '../../support/fake-slack-server.ts';
import { createFakeAlertActivities, testAlert } from '../../unit/alerts/escalation-fakes.ts';
import { makeServices, testConfig } from '../../unit/api/fakes.ts';
import { buildApp } from '../../../api/app.ts';
import { createAlertsService } from '../../../api/alerts-service.ts';
import { createRemediationService } from '../../../api/remediation-service.ts';
import { SLACK_INTERACTIONS_PATH } from '../../../api/slack/interactions.ts';
import { createRemediationActivities } from '../../../activities/remediation/remediation-activities.ts';
import { createPolicyEnqueuer } from '../../../activities/remediation/remediation-starter.ts';
import { createLedgerActivities, ensureLedger } from '../../../activities/ledger/ledger-activities.ts';
import type { LedgerClient } from '../../../activities/ledger/ledger-client.ts';
import { createAlertSignaller } from '../../../activities/alerts/signal-alert.ts';
import { alertMessage, nodeActionButtons } from '../../../activities/slack/blocks.ts';
import { ANVIL_DEV_KEY } from '../../../infra/stack/chain.ts';
import { KubeClient } from '../../../lib/kube/kube-client.ts';
import { fromKubeconfig } from '../../../lib/kube/kube-config.ts';
import { createNodeMap } from '../../../lib/kube/node-map.ts';
import { GPU_CONDITION_TYPE, GPU_UNHEALTHY_KEY } from '../../../lib/kube/node-patches.ts';
import { createLogger } from '../../../lib/logger.ts';
import type { AlertInput, AlertState } from '../../../lib/alerts/types.ts';
import type { EscalationPolicy } from '../../../lib/alerts/policy.ts';
import type { AutoRemediationPolicy } from '../../../lib/kube/remediation-policy.ts';
import type { RemediationRecord } from '../../../lib/kube/remediation-types.ts';
import { ALERTS_TASK_QUEUE, stateQuery } from '../../../workflows/alert-messages.ts';

const SECRET = 'remediation-signing-secret';
const REMEDIATE_KEY = 'remediate-key-0123456789';
const ACK_KEY = 'ack-only-key-0123456789';
const RESET = "Drain the GPU's jobs, then reset it (nvidia-smi -r) before new work.";
const NODES = ['auto-1', 'auto-2', 'auto-3', 'shadow-1', 'gpu-node-1', 'gpu-node-2', 'gpu-node-3', 'spare-1'];
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

const policy: EscalationPolicy = {
  levels: [{ name: 'on-call', channel: 'C-REMEDIATION', users: ['U0ONCALL1'], waitFor: '1h' }],
  repeat: 0,
  autoResolveAfter: '2s',
  snoozeMax: '1h',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function criticalAlert(device: string, node: string, extra: Partial<AlertInput> = {}): AlertInput {
  const a = testAlert(device, 'gpu-xid');
  return {
    ...a,
    summary: 'XID 79: GPU has fallen off the bus',
    host: node,
    node,
    firedAt: new Date().toISOString(),
    triage: {
      v: 1,
      decidedBy: ['rule gpu-xid (threshold)'],
      driver: { xid: 79 },
      catalog: [
        { kind: 'xid', code: 79, name: 'GPU_HAS_FALLEN_OFF_THE_BUS', severity: 'critical', recommended_action: RESET, source: 'catalog' },
      ],
      holds: [],
      recommendedAction: RESET,
      baseline: [],
      limits: {},
      history: { previousIncidents: 0 },
    },
    ...extra,
  };
}

describe('node remediation against a real Kubernetes API server', () => {
  let stack: TestStack;
  let kube: KubeServer;
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: Worker;
  let nativeConnection: NativeConnection;
  let running: Promise<void>;
  let ledger: LedgerClient;
  let kubeClient: KubeClient;
  let apiUrl: string;
  let closeApp: () => Promise<void>;
  const fakes = createFakeAlertActivities();

  const state = async (id: string) => (await client.workflow.getHandle(id).query(stateQuery)) as AlertState;
  const labelled = async (node: string) => (await getNode(kube, node)).metadata.labels?.[GPU_UNHEALTHY_KEY];
  const api = (path: string, init: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    fetch(`${apiUrl}${path}`, {
      method: init.method ?? 'POST',
      headers: {
        'x-api-key': init.key ?? REMEDIATE_KEY,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  before(async () => {
    [stack, kube] = await Promise.all([startTestStack({ components: ['temporal', 'chain'] }), startKube()]);
    ({ client, close: closeClient } = await temporalClient(stack));
    for (const n of NODES) await createNode(kube, n);
    await createNamespace(kube, 'jobs');
    const creds = fromKubeconfig(kube.kubeconfigPath);
    kubeClient = new KubeClient({ credentials: () => creds });
    const logger = createLogger('silent', 'remediation-it');
    ({ ledger } = await ensureLedger({
      rpcUrl: stack.stack.endpoints.chain!.rpcUrl,
      privateKey: ANVIL_DEV_KEY,
      dataDir: stack.dataDir,
      logger,
    }));
    worker = await Worker.create({
      connection: (nativeConnection = await NativeConnection.connect({ address: stack.stack.endpoints.temporal!.address })),
      namespace: stack.cfg.TEMPORAL_NAMESPACE,
      taskQueue: ALERTS_TASK_QUEUE,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: fileURLToPath(new URL('../../../workflows/index.ts', import.meta.url)),
        logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
      }),
      activities: {
        ...fakes.activities,
        ...createLedgerActivities({ ledger, logger }),
        ...createRemediationActivities({ kube: kubeClient }),
      },
    });
    running = worker.run();
    const alerts = createAlertsService(client);
    const services = {
      ...makeServices(),
      alerts,
      remediation: createRemediationService({
        client,
        alerts,
        nodeMap: createNodeMap(),
        defaults: { drainTimeoutS: 60, releaseOnRecovery: false },
      }),
    };
    const app = await buildApp({
      cfg: testConfig({ SLACK_SIGNING_SECRET: SECRET, API_KEYS: `ops=${REMEDIATE_KEY}:remediate+read,acker=${ACK_KEY}:ack+read` }),
      services,
      logger: false,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    apiUrl = `http://127.0.0.1:${addr.port}`;
    closeApp = () => app.close();
  });

  after(async () => {
    await closeApp?.();
    worker?.shutdown();
    await running?.catch(() => {});
    await nativeConnection?.close();
    kubeClient?.close();
    ledger?.close();
    await closeClient?.();
    await Promise.all([stack?.stop(), kube?.stop()]);
  });

  /** A critical incident opened by the real signaller (node set on the alert, policy check per run). */
  function signaller(auto: AutoRemediationPolicy, releaseOnRecovery = false) {
    return createAlertSignaller({
      client,
      policyFor: () => policy,
      nodeFor: ({ host }) => host,
      autoRemediation: {
        policy: auto,
        enqueue: createPolicyEnqueuer({ client }),
        releaseOnRecovery,
        onAutoError: (err) => assert.fail(String(err)),
      },
    });
  }
  const remediationOf = (id: string) => eventually(`remediation on ${id}`, async () => (await state(id)).remediations?.[0]);

  const autoAlert = (node: string) => criticalAlert(`GPU-${node}`, node);
  let quarantinedByPolicy: string[] = [];

  test('auto-quarantine with a cap of 2 nodes: three faults at once → two quarantined, the third pages instead, saying why', async () => {
    const s = signaller({ mode: 'on', actions: ['reset', 'reboot'], maxNodes: 2, maxPercent: 100 }, true);
    const nodes = ['auto-1', 'auto-2', 'auto-3'];
    // All three at the same moment (a fleet-wide fault): the policy workflow decides one at a time.
    await Promise.all(nodes.map((n) => s.fire(autoAlert(n))));
    const records = await Promise.all(nodes.map((n) => remediationOf(autoAlert(n).alertId)));
    const byOutcome = (o: string) =>
      records
        .filter((r) => r.outcome === o)
        .map((r) => r.node)
        .sort();
    quarantinedByPolicy = byOutcome('done');
    assert.equal(quarantinedByPolicy.length, 2, JSON.stringify(records.map((r) => [r.node, r.outcome, r.detail])));
    const [refusedNode] = byOutcome('refused');
    assert.ok(refusedNode, 'the third is refused');
    for (const n of quarantinedByPolicy) assert.equal(await labelled(n), `GPU-${n}`);
    assert.equal(await labelled(refusedNode), undefined, 'the third node is untouched');
    assert.equal((await getNode(kube, refusedNode)).spec?.unschedulable, undefined);
    const refused = records.find((r) => r.outcome === 'refused')!;
    assert.match(
      refused.detail,
      new RegExp(`circuit breaker open: 2 of 8 nodes already quarantined \\(${quarantinedByPolicy.join(', ')}\\); the cap is 2`),
    );
    // It pages instead: the incident was posted, and its page and timeline say why nothing was done.
    const third = await state(autoAlert(refusedNode).alertId);
    assert.ok(
      fakes.calls.some((c) => c.name === 'notifyPost' && c.workflowId === third.alert.alertId),
      'the third incident paged',
    );
    assert.ok(
      third.history.some((h) => new RegExp(`quarantine ${refusedNode} by policy via policy: refused — circuit breaker open`).test(h.event)),
    );
    assert.match(JSON.stringify(alertMessage(third).blocks), /circuit breaker open/);
    // The policy acts once per incident run: another firing of the same incident adds no second check.
    await s.fire(autoAlert(quarantinedByPolicy[0]!));
    await sleep(1_500);
    assert.equal((await state(autoAlert(quarantinedByPolicy[0]!).alertId)).remediations?.length, 1);
    // Ledger: who asked and what was done, on chain.
    const done = records.find((r) => r.outcome === 'done')!;
    assert.ok(await ledger.getAlert(done.ledger!.id), 'the remediation is on the ledger');
    assert.ok(done.ledger?.txHash?.startsWith('0x'));
  });

  test('release after recovery: by policy when the incident auto-resolves, and by hand through the API', async () => {
    const [byHand, byPolicy] = quarantinedByPolicy as [string, string];
    const s = signaller({ mode: 'on', actions: ['reset'], maxNodes: 2, maxPercent: 100 }, true);
    // The incident recovers and stays quiet (autoResolveAfter 2 s): its quarantine is released by policy.
    await s.recovered(autoAlert(byPolicy));
    await eventually(`${byPolicy} released by policy`, async () => (await labelled(byPolicy)) === undefined || undefined);
    const n2 = await getNode(kube, byPolicy);
    assert.equal(n2.spec?.unschedulable ?? false, false, 'uncordoned (the API omits false)');
    assert.equal(n2.spec?.taints?.some((t) => t.key === GPU_UNHEALTHY_KEY) ?? false, false);
    assert.equal(n2.status?.conditions?.some((c) => c.type === GPU_CONDITION_TYPE) ?? false, false);
    // By hand: POST /v1/nodes/NODE/release with the remediate scope; an ack-only key is refused.
    const denied = await api(`/v1/nodes/${byHand}/release`, { key: ACK_KEY, body: {} });
    assert.equal(denied.status, 403);
    assert.match(((await denied.json()) as { message: string }).message, /remediate/);
    const res = await api(`/v1/nodes/${byHand}/release`, { body: { alertId: autoAlert(byHand).alertId } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { record: RemediationRecord };
    assert.equal(body.record.outcome, 'done');
    assert.equal(body.record.by, 'key:ops');
    assert.ok(body.record.api.some((l) => new RegExp(`PATCH nodes/${byHand} → 200`).test(l)));
    assert.equal(await labelled(byHand), undefined);
    assert.equal((await getNode(kube, byHand)).spec?.unschedulable ?? false, false);
    const again = (await (await api(`/v1/nodes/${byHand}/release`, { body: {} })).json()) as { record: RemediationRecord };
    assert.equal(again.record.outcome, 'already', 'releasing twice changes nothing');
  });

  test('shadow mode changes nothing and records the would-be action', async () => {
    const s = signaller({ mode: 'shadow', actions: ['reset'], maxNodes: 2, maxPercent: 100 });
    const before = await getNode(kube, 'shadow-1');
    const alert = criticalAlert('GPU-shadow-1', 'shadow-1');
    await s.fire(alert);
    const r = await remediationOf(alert.alertId);
    assert.equal(r.outcome, 'shadow');
    assert.match(r.detail, /shadow mode: would quarantine shadow-1/);
    assert.deepEqual(r.api, [], 'no API call changed anything');
    const after = await getNode(kube, 'shadow-1');
    assert.equal(after.spec?.unschedulable, before.spec?.unschedulable);
    assert.deepEqual(after.metadata.labels ?? {}, before.metadata.labels ?? {});
    assert.ok(r.ledger?.txHash, 'the would-be action is on the ledger too');
  });

  test('critical incident → Quarantine clicked (twice) → cordoned, tainted, labelled, one action on timeline and ledger', async () => {
    const alert = criticalAlert('GPU-5fd4a1e2-node1', 'gpu-node-1');
    await client.workflow.start('alertEscalation', { workflowId: alert.alertId, taskQueue: ALERTS_TASK_QUEUE, args: [{ alert, policy }] });
    const posted = await eventually('posted', async () => (await state(alert.alertId)).notifications?.length);
    assert.ok(posted);
    // The catalog says "reset": the page preselects Quarantine.
    const buttons = nodeActionButtons(await state(alert.alertId));
    assert.deepEqual(
      buttons.map((b) => [b.text.text, b.style]),
      [
        ['Quarantine gpu-node-1', 'primary'],
        ['Drain gpu-node-1', undefined],
      ],
    );
    const url = `${apiUrl}${SLACK_INTERACTIONS_PATH}`;
    const click = () =>
      clickButton({ url, signingSecret: SECRET, alertId: alert.alertId, action: 'quarantine', user: { id: 'U024BE7LH', name: 'alice' } });
    const [a, b] = await Promise.all([click(), click()]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.ok(a.elapsedMs < 3_000 && b.elapsedMs < 3_000);
    const r = await remediationOf(alert.alertId);
    assert.equal(r.outcome, 'done');
    assert.equal(r.by, 'slack:alice');
    const node = await getNode(kube, 'gpu-node-1');
    assert.equal(node.spec?.unschedulable, true);
    assert.deepEqual(
      node.spec?.taints?.filter((t) => t.key === GPU_UNHEALTHY_KEY).map(({ key, value, effect }) => ({ key, value, effect })),
      [{ key: GPU_UNHEALTHY_KEY, value: 'GPU-5fd4a1e2-node1', effect: 'NoSchedule' }],
    );
    assert.equal(node.metadata.labels?.[GPU_UNHEALTHY_KEY], 'GPU-5fd4a1e2-node1');
    assert.equal(node.status?.conditions?.find((c) => c.type === GPU_CONDITION_TYPE)?.status, 'True');
    // A third click after it finished: a new run finds the node quarantined and writes nothing.
    await click();
    await eventually('the repeat noted', async () =>
      (await state(alert.alertId)).history.some((h) => /quarantine gpu-node-1 by slack:alice via slack: already/.test(h.event)),
    );
    const s = await state(alert.alertId);
    assert.equal(s.remediations?.filter((x) => x.action === 'quarantine').length, 1, 'one action in the record');
    assert.equal(
      s.history.filter((h) => /quarantine gpu-node-1 by slack:alice via slack: done/.test(h.event)).length,
      1,
      'one action on the timeline',
    );
    assert.equal((await getNode(kube, 'gpu-node-1')).metadata.labels?.[GPU_UNHEALTHY_KEY], 'GPU-5fd4a1e2-node1');
    // Ledger: the action's entry is on chain, raised and resolved (who + what + the API's answers, hashed).
    const onChain = await ledger.getAlert(r.ledger!.id);
    assert.ok(onChain);
    assert.ok(r.api.some((l) => /PATCH nodes\/gpu-node-1 → 200/.test(l)));
    // The page now offers Release (and no second Quarantine).
    assert.deepEqual(
      nodeActionButtons(s).map((x) => x.text.text),
      ['Drain gpu-node-1', 'Release gpu-node-1'],
    );
  });

  test('drain with a PDB allowing one disruption: pods evicted one at a time, DaemonSet pods left', async () => {
    await createPod(kube, 'jobs', 'train-a', 'gpu-node-2', { app: 'train' });
    await createPod(kube, 'jobs', 'train-b', 'gpu-node-2', { app: 'train' });
    await createPod(kube, 'jobs', 'dcgm-exporter-x', 'gpu-node-2', { app: 'dcgm' }, { ownerDaemonSet: 'dcgm-exporter' });
    await createPdb(kube, 'jobs', 'train', { app: 'train' }, 1, 2);
    const res = await api('/v1/nodes/gpu-node-2/drain', {
      body: { gpu: 'GPU-node2', timeoutS: 120 },
      headers: { 'idempotency-key': 'drain-node-2' },
    });
    assert.equal(res.status, 202);
    const { workflowId } = (await res.json()) as { workflowId: string };
    // First pass: train-a evicted (terminating: no kubelet finishes it), train-b refused 429 by the budget.
    const progress = await eventually('first pass', async () => {
      const g = (await (await api(`/v1/remediations/${encodeURIComponent(workflowId)}`, { method: 'GET' })).json()) as {
        running: boolean;
        record: RemediationRecord;
      };
      return g.record.blocked?.length ? g : undefined;
    });
    assert.equal(progress.running, true);
    assert.deepEqual(progress.record.evicted, ['jobs/train-a']);
    assert.match(progress.record.blocked![0]!.reason, /disruption budget/);
    const pods = await podsOn(kube, 'gpu-node-2');
    assert.ok(
      pods.find((p) => p.name === 'jobs/train-a')?.deletionTimestamp,
      'the evicted pod is terminating (deletionTimestamp set by the API)',
    );
    assert.equal(
      pods.find((p) => p.name === 'jobs/train-b')?.deletionTimestamp,
      undefined,
      'the second pod is untouched while the budget is spent',
    );
    // Played kubelet and disruption controller: train-a is gone, the budget allows one again.
    await finishTermination(kube, 'jobs/train-a');
    await setPdbAllowed(kube, 'jobs', 'train', 1, 2);
    const done = await eventually(
      'drain done',
      async () => {
        const g = (await (await api(`/v1/remediations/${encodeURIComponent(workflowId)}`, { method: 'GET' })).json()) as {
          running: boolean;
          record: RemediationRecord;
        };
        return g.running ? undefined : g.record;
      },
      60_000,
    );
    assert.equal(done.outcome, 'done');
    assert.deepEqual(done.evicted, ['jobs/train-a', 'jobs/train-b']);
    const evictions = done.api.filter((l) => l.includes('/eviction'));
    assert.match(evictions[0]!, /train-a\/eviction → 201/);
    assert.match(evictions[1]!, /train-b\/eviction → 429/);
    assert.match(evictions.at(-1)!, /train-b\/eviction → 201/);
    assert.match(done.detail, /2 pod\(s\) evicted .* 1 DaemonSet\/mirror pod\(s\) left/);
    assert.equal((await podsOn(kube, 'gpu-node-2')).find((p) => p.name === 'jobs/dcgm-exporter-x')?.deletionTimestamp, undefined);
    assert.equal(await labelled('gpu-node-2'), 'GPU-node2', 'a drain quarantines first');
  });

  test('drain with a PDB allowing none: blocked, retried, reported, never forced', async () => {
    await createPod(kube, 'jobs', 'serve-c', 'gpu-node-3', { app: 'serve' });
    await createPdb(kube, 'jobs', 'serve', { app: 'serve' }, 0, 1);
    const res = await api('/v1/nodes/gpu-node-3/drain', { body: { timeoutS: 12 } });
    const { workflowId } = (await res.json()) as { workflowId: string };
    const record = await eventually(
      'drain gives up',
      async () => {
        const g = (await (await api(`/v1/remediations/${encodeURIComponent(workflowId)}`, { method: 'GET' })).json()) as {
          running: boolean;
          record: RemediationRecord;
        };
        return g.running ? undefined : g.record;
      },
      60_000,
    );
    assert.equal(record.outcome, 'blocked');
    assert.match(record.detail, /still protected by a PodDisruptionBudget \(jobs\/serve-c\); not forced/);
    const attempts = record.api.filter((l) => /serve-c\/eviction → 429/.test(l)).length;
    assert.ok(attempts >= 2, `retried (${attempts} attempts)`);
    const pod = (await podsOn(kube, 'gpu-node-3')).find((p) => p.name === 'jobs/serve-c');
    assert.ok(pod, 'the protected pod still exists');
    assert.equal(pod.deletionTimestamp, undefined, 'and was not deleted');
  });

  test('the CLI: telemetry-stack node release NODE, through the API as its key (a key without remediate is refused)', async () => {
    const cli = (key: string) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'node', 'release', 'gpu-node-1', '--json'], {
        cwd: REPO,
        env: { ...process.env, ...stack.env, TELEMETRY_API_URL: apiUrl, TELEMETRY_API_KEY: key },
        timeout: 60_000,
      });
    // The ack-only key lacks the remediate scope: refused by the API (403 → exit 4), nothing changes.
    await assert.rejects(cli(ACK_KEY), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 4);
      assert.match(err.stderr ?? '', /refused \(403\): this key lacks the "remediate" scope/);
      return true;
    });
    assert.ok(await labelled('gpu-node-1'), 'still quarantined after the refused call');
    const { stdout } = await cli(REMEDIATE_KEY);
    const res = JSON.parse(stdout.trim().split('\n').at(-1)!) as { record: RemediationRecord };
    assert.equal(res.record.outcome, 'done');
    assert.match(res.record.detail, /released gpu-node-1/);
    assert.equal(res.record.by, 'key:ops', 'the identity recorded is the key the CLI presented');
    assert.equal(await labelled('gpu-node-1'), undefined);
    assert.equal((await getNode(kube, 'gpu-node-1')).spec?.unschedulable ?? false, false);
  });
  test("the chart's least-privilege ServiceAccount can run every action, and a forced drain is refused without allowForcedDrain", async () => {
    // The RBAC exactly as the chart renders it (templates/remediation-rbac.yaml), applied for real.
    const helm = join(cacheDir(loadConfig().TELEMETRY_CACHE_DIR), 'bin', 'helm');
    if (!isExecutable(helm)) {
      const b = spawnSync('bash', [join(REPO, 'infra/scripts/validate-deploy.sh')], { encoding: 'utf8', timeout: 30 * 60_000 });
      assert.equal(b.status, 0, `validate-deploy.sh (which builds helm) failed:\n${b.stderr}`);
    }
    const r = spawnSync(
      helm,
      [
        'template',
        'ts',
        join(REPO, 'infra/helm/telemetry-stack'),
        '--namespace',
        'telemetry',
        '--kube-version',
        '1.34.4',
        '--show-only',
        'templates/remediation-rbac.yaml',
        '--set',
        'remediation.enabled=true',
        '--set',
        'existingSecret=s',
        '--set',
        'config.CHAIN_RPC_URL=http://chain:8545',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    await createNamespace(kube, 'telemetry');
    const paths = new ResourcePaths(kube);
    const objects = parseManifests(r.stdout, 'remediation-rbac.yaml');
    for (const o of objects) await applyObject(kube, paths, o, { namespace: 'telemetry' });
    const sa = objects.find((o) => o.kind === 'ServiceAccount')!.metadata.name;
    const token = await serviceAccountToken(kube, 'telemetry', sa);
    const limited = new KubeClient({ credentials: () => ({ server: kube.url, token, caPem: kube.caPem, source: 'test SA' }) });
    try {
      const acts = createRemediationActivities({ kube: limited });
      await createPod(kube, 'jobs', 'rbac-pod', 'spare-1', { app: 'rbac' });
      const at = new Date().toISOString();
      assert.equal((await acts.quarantineNode({ node: 'spare-1', gpu: 'GPU-rbac', by: 'sa', at })).changed, true);
      assert.ok((await acts.fleetQuarantineState({})).quarantined.includes('spare-1'));
      assert.deepEqual((await acts.drainPass({ node: 'spare-1' })).evicted, ['jobs/rbac-pod']);
      await assert.rejects(
        acts.forceDeletePods({ node: 'spare-1', pods: ['jobs/rbac-pod'] }),
        (e: unknown) => e instanceof ApplicationFailure && e.nonRetryable === true && /403/.test(e.message) && /forbidden/i.test(e.message),
      );
      assert.equal((await acts.releaseNode({ node: 'spare-1', by: 'sa', at })).changed, true);
      assert.equal(await labelled('spare-1'), undefined);
    } finally {
      limited.close();
    }
  });
});

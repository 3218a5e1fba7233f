/**
 * Deployment assets: Helm chart, Prometheus rules, Grafana dashboard, Dockerfile.
 *
 * Runs infra/scripts/validate-deploy.sh (helm template + kubeconform, promtool,
 * hadolint), then checks the rendered objects against the code's contracts:
 * env names from lib/config.ts, consumer names from lib/stream/jetstream.ts,
 * metric names from the prom-client constructors in the sources.
 *
 * The first run on a fresh machine builds helm and kubeconform with `go install`
 * (minutes); CI runs the script once before the suite so this test finds the
 * tools cached in ~/.cache/telemetry-stack and takes seconds.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envSchema } from '../../../lib/config.ts';
import { consumerName } from '../../../lib/stream/jetstream.ts';
import { dashboardExprs, exposedSeries, promqlMetricNames, sourceMetrics, type Panel } from './metric-names.ts';
import { dockerCopySources, runtimeFiles } from './runtime-files.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRIPT = join(ROOT, 'infra/scripts/validate-deploy.sh');
// Sources whose prom-client metrics end up on some /metrics endpoint.
const METRIC_SOURCE_DIRS = ['lib', 'activities', 'api', 'workers', 'workflows'] as const;
// Series that exist without our code: Prometheus' own scrape health.
const BUILTIN_SERIES = new Set(['up']);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: { record?: string; alert?: string; expr: string; for?: string }[];
}

let out: string;
let script: { status: number | null; stdout: string; stderr: string; ms: number };

before(() => {
  out = mkdtempSync(join(tmpdir(), 'validate-deploy-'));
  const t0 = Date.now();
  // Generous timeout: a cold cache builds helm + kubeconform from source.
  const r = spawnSync('bash', [SCRIPT, '--out', out], { encoding: 'utf8', timeout: 30 * 60_000 });
  script = { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t0 };
});
after(() => rmSync(out, { recursive: true, force: true }));

const readJson = <T,>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const rendered = () => readJson<K8sObject[]>(join(out, 'rendered.json'));
const minimal = () => readJson<K8sObject[]>(join(out, 'minimal.json'));
const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const metricSeries = () => exposedSeries(sourceMetrics(ROOT, METRIC_SOURCE_DIRS));
const ruleGroups = () => readJson<{ groups: RuleGroup[] }>(join(out, 'prometheus-rules.json')).groups;

describe('validate-deploy.sh', () => {
  test('exits 0: chart renders, kubeconform, promtool and hadolint pass', () => {
    assert.equal(script.status, 0, `exit ${script.status} after ${script.ms} ms\n${script.stdout}\n${script.stderr}`);
    assert.match(script.stdout, /Valid: \d+, Invalid: 0, Errors: 0, Skipped: 0/);
    assert.match(script.stdout, /validate-deploy: OK/);
  });

  test('rendered chart has the expected objects', () => {
    const objs = rendered();
    const deployments = byKind(objs, 'Deployment').map((d) => d.metadata.name).sort();
    assert.deepEqual(deployments, [
      'telemetry-stack-alerts-worker',
      'telemetry-stack-api',
      'telemetry-stack-collect-worker',
    ]);
    assert.ok(byKind(objs, 'Service').some((s) => s.metadata.name === 'telemetry-stack-api'));
    assert.equal(byKind(objs, 'ConfigMap').length, 2);
    assert.equal(byKind(objs, 'PodDisruptionBudget').length, 3);
    assert.equal(byKind(objs, 'ScaledObject').length, 1);
    assert.equal(byKind(objs, 'ServiceMonitor').length, 1);
    assert.equal(byKind(objs, 'PrometheusRule').length, 1);
    assert.equal(byKind(objs, 'Secret').length, 0, 'the chart must never create a Secret');
    // Without KEDA the Deployment carries replicas itself.
    const min = minimal();
    assert.equal(byKind(min, 'ScaledObject').length, 0);
    assert.equal(byKind(min, 'Deployment').find((d) => d.metadata.name === 'ts-telemetry-stack-collect-worker')?.spec.replicas, 1);
  });

  test('ScaledObject has one nats-jetstream trigger per partition consumer', () => {
    const objs = rendered();
    const env = byKind(objs, 'ConfigMap').find((c) => c.metadata.name.endsWith('-env'))!.data!;
    const partitions = Number(env.PARTITIONS_PER_TOPIC);
    const so = byKind(objs, 'ScaledObject')[0]!;
    assert.equal(so.spec.scaleTargetRef.name, 'telemetry-stack-collect-worker');
    assert.ok(so.spec.minReplicaCount >= 1, 'collectors must not scale to zero');
    assert.ok(so.spec.maxReplicaCount <= partitions);
    const triggers = so.spec.triggers as { type: string; metadata: Record<string, string> }[];
    assert.equal(triggers.length, partitions);
    assert.deepEqual(
      triggers.map((t) => t.metadata.consumer),
      Array.from({ length: partitions }, (_, p) => consumerName(p)),
    );
    for (const t of triggers) {
      assert.equal(t.type, 'nats-jetstream');
      assert.equal(t.metadata.account, '$G');
      assert.equal(t.metadata.stream, env.STREAM_NAME);
      assert.match(t.metadata.natsServerMonitoringEndpoint!, /:8222$/);
      assert.match(t.metadata.lagThreshold!, /^[1-9]\d*$/);
      assert.match(t.metadata.activationLagThreshold!, /^\d+$/);
    }
  });

  test('env names are lib/config.ts keys and secrets come from the existing Secret', () => {
    const known = new Set(Object.keys(envSchema.shape));
    const objs = rendered();
    const env = byKind(objs, 'ConfigMap').find((c) => c.metadata.name.endsWith('-env'))!.data!;
    for (const k of Object.keys(env)) assert.ok(known.has(k), `ConfigMap key ${k} is not in lib/config.ts`);
    assert.equal(env.API_HOST, '0.0.0.0');
    assert.equal(env.NODE_ENV, 'production');
    for (const secretKey of ['INFLUXDB_TOKEN', 'API_KEYS', 'CHAIN_PRIVATE_KEY', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'])
      assert.ok(!(secretKey in env), `${secretKey} must not be in a ConfigMap`);
    const secretEnv = new Set<string>();
    for (const d of byKind(objs, 'Deployment')) {
      const c = d.spec.template.spec.containers[0];
      for (const e of c.env as { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }[]) {
        assert.ok(known.has(e.name), `${d.metadata.name}: env ${e.name} is not in lib/config.ts`);
        if (e.valueFrom?.secretKeyRef) {
          assert.equal(e.valueFrom.secretKeyRef.name, 'telemetry-stack-secrets');
          secretEnv.add(e.name);
        }
      }
      assert.equal(c.env.find((e: { name: string }) => e.name === 'ALERT_RULES_FILE')?.value, '/etc/telemetry-stack/alert-rules.json');
      // The entry point the container runs exists in the repository.
      assert.ok(existsSync(join(ROOT, c.command.at(-1))), `${d.metadata.name}: ${c.command.at(-1)} missing`);
    }
    assert.deepEqual([...secretEnv].sort(), ['API_KEYS', 'CHAIN_PRIVATE_KEY', 'INFLUXDB_TOKEN', 'LEDGER_CHECKPOINT_KEY', 'NOTIFY_ACK_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET']);
  });

  test('pods are hardened, probed and drain within their grace period', () => {
    const objs = rendered();
    const env = byKind(objs, 'ConfigMap').find((c) => c.metadata.name.endsWith('-env'))!.data!;
    for (const d of byKind(objs, 'Deployment')) {
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      assert.equal(pod.securityContext.runAsNonRoot, true, d.metadata.name);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, d.metadata.name);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false, d.metadata.name);
      assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], d.metadata.name);
      assert.ok(c.resources.requests.memory && c.resources.limits.memory, `${d.metadata.name}: memory request and limit`);
      assert.ok(c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/tmp'), `${d.metadata.name}: writable /tmp`);
      assert.ok(c.livenessProbe, `${d.metadata.name}: liveness probe`);
    }
    const api = byKind(objs, 'Deployment').find((d) => d.metadata.name.endsWith('-api'))!.spec.template.spec.containers[0];
    assert.equal(api.readinessProbe.httpGet.path, '/ready');
    assert.equal(api.livenessProbe.httpGet.path, '/health');
    const collect = byKind(objs, 'Deployment').find((d) => d.metadata.name.endsWith('-collect-worker'))!.spec.template.spec;
    // An interrupted batch is redelivered after VISIBILITY_TIMEOUT; the pod should outlive that.
    assert.ok(collect.terminationGracePeriodSeconds >= Number(env.VISIBILITY_TIMEOUT));
  });

  test('chart files/ are copies of their sources', () => {
    const chart = join(ROOT, 'infra/helm/telemetry-stack/files');
    assert.equal(readFileSync(join(chart, 'prometheus-rules.yml'), 'utf8'), readFileSync(join(ROOT, 'infra/prometheus/rules.yml'), 'utf8'));
    assert.equal(readFileSync(join(chart, 'alert-rules.json'), 'utf8'), readFileSync(join(ROOT, 'infra/config/alert-rules.example.json'), 'utf8'));
    assert.equal(
      readFileSync(join(chart, 'escalation-policy.json'), 'utf8'),
      readFileSync(join(ROOT, 'infra/config/escalation-policy.example.json'), 'utf8'),
    );
  });
});

describe('metric names', () => {
  test('the PromQL tokenizer finds selectors and ignores functions, labels, ranges and variables', () => {
    assert.deepEqual(
      promqlMetricNames('histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{partition=~"$partition"}[$__rate_interval])))'),
      ['a_seconds_bucket'],
    );
    assert.deepEqual(promqlMetricNames('x:rec > 100 and deriv(x:rec[10m]) > 0'), ['x:rec']);
    assert.deepEqual(promqlMetricNames('sum(rate(a_total[5m])) / clamp_min(sum(rate(b_total[5m])), 1e-9)').sort(), ['a_total', 'b_total']);
    assert.deepEqual(promqlMetricNames('(sum(increase(c_total[30m])) or vector(0)) == 0 and on () up{job="x"}').sort(), ['c_total', 'up']);
  });

  test('the sources export the metrics the assets are built on', () => {
    const metrics = sourceMetrics(ROOT, METRIC_SOURCE_DIRS);
    for (const name of [
      'telemetry_publish_messages_total',
      'telemetry_publish_stream_full_total',
      'telemetry_collect_points_total',
      'telemetry_collect_dlq_total',
      'telemetry_collect_write_errors_total',
      'telemetry_consumer_lag_messages',
      'telemetry_health_points_total',
      'telemetry_alert_events_total',
    ])
      assert.ok(metrics.has(name), `${name} not found in the sources`);
    assert.equal(metrics.get('telemetry_influx_write_seconds'), 'Histogram');
  });

  test('Prometheus rules reference only exported metrics and defined recording rules', () => {
    const groups = ruleGroups();
    const recorded = new Set(groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
    const series = metricSeries();
    const unknown: string[] = [];
    let alerts = 0;
    for (const g of groups)
      for (const r of g.rules) {
        if (r.alert) alerts++;
        for (const n of promqlMetricNames(r.expr))
          if (!series.has(n) && !recorded.has(n) && !BUILTIN_SERIES.has(n)) unknown.push(`${r.record ?? r.alert}: ${n}`);
      }
    assert.deepEqual(unknown, []);
    assert.ok(recorded.size >= 5 && alerts >= 8, `${recorded.size} recording rules, ${alerts} alerts`);
    const alertNames = groups.flatMap((g) => g.rules.map((r) => r.alert)).filter(Boolean);
    for (const must of ['TelemetryConsumerLagGrowing', 'TelemetryDeadLetters', 'TelemetryInfluxWriteErrors', 'TelemetryPublishFailures',
      'TelemetryStreamFull', 'TelemetryInfluxWriteLatencyHigh', 'TelemetryNoPointsWritten', 'TelemetryWorkerDown'])
      assert.ok(alertNames.includes(must), `missing alert ${must}`);
  });
});

describe('Grafana dashboard', () => {
  const file = join(ROOT, 'infra/grafana/dashboards/telemetry-pipeline.json');
  const dashboard = () => readJson<{ uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string }[] } }>(file);

  test('is a well-formed dashboard', () => {
    const d = dashboard();
    assert.equal(d.uid, 'telemetry-pipeline');
    assert.ok(d.title && d.schemaVersion >= 36);
    assert.ok(d.templating.list.some((v) => v.name === 'datasource'));
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    const cells = new Set<string>();
    for (const p of d.panels) {
      const g = p.gridPos;
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0 && g.y >= 0, `panel "${p.title}" fits the 24-column grid`);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `panel "${p.title}" overlaps another at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      if (p.type === 'row') continue;
      assert.ok(p.targets?.length, `panel "${p.title}" has queries`);
      const refIds = p.targets!.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `panel "${p.title}" refIds are unique`);
    }
  });

  test('queries reference only exported metrics and cover the pipeline', () => {
    const series = metricSeries();
    const recorded = new Set(ruleGroups().flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
    const exprs = dashboardExprs(dashboard());
    const used = new Set<string>();
    const unknown: string[] = [];
    for (const { where, expr } of exprs)
      for (const n of promqlMetricNames(expr)) {
        used.add(n);
        if (!series.has(n) && !recorded.has(n) && !BUILTIN_SERIES.has(n)) unknown.push(`${where}: ${n}`);
      }
    assert.deepEqual(unknown, []);
    for (const must of [
      'telemetry_collect_points_total', // ingest rate
      'telemetry_publish_messages_total', // publish results
      'telemetry_publish_stream_full_total',
      'telemetry_consumer_lag_messages',
      'telemetry_influx_write_seconds_bucket', // latency quantiles
      'telemetry_collect_dlq_total',
      'telemetry_health_points_total',
      'telemetry_alert_events_total',
    ])
      assert.ok(used.has(must), `no panel uses ${must}`);
  });
});

describe('Dockerfile', () => {
  test('copies every file the entry points load and installs their packages at runtime', () => {
    const dockerfile = readFileSync(join(ROOT, 'infra/docker/Dockerfile'), 'utf8');
    const copied = dockerCopySources(dockerfile);
    const pkg = readJson<{ dependencies: Record<string, string> }>(join(ROOT, 'package.json'));
    const { files, packages, unresolved } = runtimeFiles(ROOT, [
      'api/server.ts',
      'workers/collect-worker.ts',
      'workers/alerts-worker.ts',
      'workflows/index.ts', // bundled by the Temporal worker at start-up
      'contracts/compile.ts', // run at image build
    ]);
    assert.deepEqual(unresolved, []);
    assert.ok(files.size > 20, `walked ${files.size} files`);
    const missing = [...files].filter((f) => !copied.some((s) => f === s || f.startsWith(`${s}/`)));
    assert.deepEqual(missing, [], 'files the processes load but the image lacks');
    const devOnly = [...packages].filter((p) => !(p in pkg.dependencies));
    assert.deepEqual(devOnly, [], 'packages imported at runtime but not in dependencies (npm ci --omit=dev drops them)');
    // No build step: tsx runs the sources, so it must survive --omit=dev.
    assert.ok('tsx' in pkg.dependencies);
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /ONNXRUNTIME_NODE_INSTALL=skip/);
    assert.match(dockerfile, /^USER 10001/m);
  });
});

/**
 * The chart's ledger settings, rendered by infra/scripts/validate-deploy.sh (helm template +
 * kubeconform, tools cached in ~/.cache/telemetry-stack): the witness runs as its own
 * Deployment with its own Secret and state volume and nothing of the app's; the API reads
 * the ledger without any key; the alerts worker gets the checkpoint key and the witness URL.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envSchema } from '../../../lib/config.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };
let out: string;
let objs: Obj[];

before(() => {
  out = mkdtempSync(join(tmpdir(), 'helm-ledger-'));
  const r = spawnSync('bash', [join(ROOT, 'infra/scripts/validate-deploy.sh'), '--out', out], { encoding: 'utf8', timeout: 30 * 60_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  objs = JSON.parse(readFileSync(join(out, 'witness.json'), 'utf8')) as Obj[];
});
after(() => rmSync(out, { recursive: true, force: true }));

const deployment = (suffix: string) => objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith(suffix))!.spec.template.spec;
const envOf = (suffix: string) => deployment(suffix).containers[0].env as { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];

test('the witness: one pod, its own Secret and PVC, none of the app config or secrets', () => {
  const d = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'tw-telemetry-stack-ledger-witness')!;
  assert.equal(d.spec.replicas, 1);
  assert.equal(d.spec.strategy.type, 'Recreate', 'never two writers of the witness state');
  const c = d.spec.template.spec.containers[0];
  assert.equal(c.envFrom, undefined, 'no shared ConfigMap');
  const secretRefs = (c.env as { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[]).filter((e) => e.valueFrom?.secretKeyRef);
  assert.deepEqual(secretRefs.map((e) => [e.name, e.valueFrom!.secretKeyRef!.name]), [['WITNESS_KEY', 'tw-witness-key']]);
  const known = new Set(Object.keys(envSchema.shape));
  for (const e of c.env as { name: string }[]) assert.ok(known.has(e.name), `${e.name} is a lib/config.ts key`);
  assert.ok(c.command.at(-1) === 'workers/ledger-witness.ts');
  assert.equal(d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'state').persistentVolumeClaim.claimName, 'tw-telemetry-stack-ledger-witness');
  assert.ok(objs.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === 'tw-telemetry-stack-ledger-witness'));
  assert.ok(objs.some((o) => o.kind === 'Service' && o.metadata.name === 'tw-telemetry-stack-ledger-witness'));
  assert.equal(objs.filter((o) => o.kind === 'Secret').length, 0, 'the chart creates no Secret');
});

test('the API reads the ledger with no key; the alerts worker signs checkpoints and knows the witness', () => {
  const api = envOf('-api').map((e) => e.name);
  for (const k of ['CHAIN_PRIVATE_KEY', 'LEDGER_CHECKPOINT_KEY', 'WITNESS_KEY']) assert.ok(!api.includes(k), `the API has no ${k}`);
  const worker = envOf('-alerts-worker').find((e) => e.name === 'LEDGER_CHECKPOINT_KEY');
  assert.equal(worker?.valueFrom?.secretKeyRef?.name, 'tw-secrets');
  const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-env'))!.data!;
  assert.equal(cm.LEDGER_WITNESS_URLS, 'http://tw-telemetry-stack-ledger-witness:8590');
  assert.equal(readFileSync(join(out, 'witness.yaml'), 'utf8').match(/LEDGER_WITNESS_URLS:/g)?.length, 1, 'no duplicate key');
  for (const k of ['CHAIN_RPC_URL', 'NATS_URL', 'LEDGER_ADDRESS', 'LEDGER_PREVIOUS_ADDRESSES']) assert.ok(k in cm, `${k} in the shared ConfigMap (the API's read-only settings)`);
});

/**
 * The CRD cache (infra/stack/kube-crds.ts) and the manifest parser of the chart
 * tests (test/support/kube-apply.ts): a complete cache is used as is, a module
 * version the proxy does not have fails with its name, a manifest document
 * without identity is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrdFetchError, ensureCrds, type CrdSource } from '../../../infra/stack/kube-crds.ts';
import { parseManifests } from '../../support/kube-apply.ts';

const SOURCE: CrdSource = { name: 'keda', module: 'github.com/kedacore/keda/v2', version: 'v2.17.2', dir: 'config/crd/bases' };

test('a complete cache dir is used without asking the Go proxy, files sorted', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'crd-cache-'));
  try {
    const dir = join(cache, 'crds', 'keda-v2.17.2');
    mkdirSync(dir, { recursive: true });
    for (const f of ['b.yaml', 'a.yaml', 'notes.txt']) writeFileSync(join(dir, f), '');
    writeFileSync(join(dir, '.complete'), 'github.com/kedacore/keda/v2@v2.17.2\n');
    assert.deepEqual(await ensureCrds(cache, SOURCE), [join(dir, 'a.yaml'), join(dir, 'b.yaml')]);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a version the module proxy does not have fails naming module and version, and leaves no cache dir', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'crd-cache-'));
  try {
    const bad = { ...SOURCE, version: 'v0.0.0-no-such-version' };
    await assert.rejects(
      ensureCrds(cache, bad),
      (err: unknown) => err instanceof CrdFetchError && err.message.includes('github.com/kedacore/keda/v2@v0.0.0-no-such-version'),
    );
    assert.equal(existsSync(join(cache, 'crds', 'keda-v0.0.0-no-such-version')), false);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('parseManifests: multi-document YAML, empty documents dropped, a document without kind refused', () => {
  const objs = parseManifests(
    '---\n# comment only\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n',
  );
  assert.deepEqual(
    objs.map((o) => `${o.kind}/${o.metadata.name}`),
    ['ConfigMap/a', 'Service/b'],
  );
  assert.throws(
    () => parseManifests('apiVersion: v1\nmetadata: {name: a}\n', 'x.yaml'),
    /x\.yaml: a document without apiVersion\/kind\/metadata\.name/,
  );
  assert.throws(() => parseManifests('a: [unclosed\n', 'y.yaml'), /y\.yaml:/);
});

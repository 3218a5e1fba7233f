/** Device → node: configured map by device, then by host, then the host tag itself; bounded and validated. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeMap, MAX_NODE_MAP_ENTRIES, NodeMapError } from '../../../lib/kube/node-map.ts';

test('the device entry wins over the host entry, which wins over the host tag', () => {
  const m = createNodeMap({ spec: 'GPU-1=node-a,dgx-7=node-b' });
  assert.equal(m.nodeFor({ device: 'GPU-1', host: 'dgx-7' }), 'node-a');
  assert.equal(m.nodeFor({ device: 'GPU-2', host: 'dgx-7' }), 'node-b');
  assert.equal(m.nodeFor({ device: 'GPU-3', host: 'Worker-9.example' }), 'worker-9.example', 'host tag, lower-cased');
  assert.equal(m.nodeFor({ device: 'GPU-4', host: 'bad_host!' }), undefined, 'not a node name: no mapping');
  assert.equal(m.nodeFor({ device: 'GPU-5' }), undefined);
});

test('a JSON file is merged; the env list wins', () => {
  const f = join(mkdtempSync(join(tmpdir(), 'nm-')), 'map.json');
  writeFileSync(f, JSON.stringify({ 'GPU-1': 'from-file', 'GPU-2': 'file-2' }));
  const m = createNodeMap({ file: f, spec: 'GPU-1=from-env' });
  assert.equal(m.nodeFor({ device: 'GPU-1' }), 'from-env');
  assert.equal(m.nodeFor({ device: 'GPU-2' }), 'file-2');
});

test('bad entries are refused naming the source', () => {
  assert.throws(
    () => createNodeMap({ spec: 'GPU-1=Not_A_Node' }),
    (e: Error) => e instanceof NodeMapError && /KUBE_NODE_MAP: "Not_A_Node"/.test(e.message),
  );
  assert.throws(() => createNodeMap({ spec: 'nonsense' }), /not device-or-host=node/);
  const f = join(mkdtempSync(join(tmpdir(), 'nm-')), 'map.json');
  writeFileSync(f, '[1,2]');
  assert.throws(() => createNodeMap({ file: f }), /expected a JSON object/);
});

test(`the map holds at most ${MAX_NODE_MAP_ENTRIES} entries`, () => {
  const f = join(mkdtempSync(join(tmpdir(), 'nm-')), 'map.json');
  const atBound = Object.fromEntries(Array.from({ length: MAX_NODE_MAP_ENTRIES }, (_, i) => [`GPU-${i}`, `node-${i % 1000}`]));
  writeFileSync(f, JSON.stringify(atBound));
  assert.equal(createNodeMap({ file: f }).size, MAX_NODE_MAP_ENTRIES);
  writeFileSync(f, JSON.stringify({ ...atBound, 'GPU-extra': 'node-x' }));
  assert.throws(() => createNodeMap({ file: f }), /more than 100000 entries/);
});

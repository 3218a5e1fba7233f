/**
 * Issue 7: explicit identity options win or combine, they are never dropped.
 * `--device` names the device when a row has no per-GPU id and prefixes the
 * per-GPU id when it has one; `--host` qualifies bus id / index / model / file
 * name and is always the host tag; a model name alone is the id only when
 * neither was given.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseText } from '../../../lib/parse/index.ts';

const MODEL_ONLY = [
  'timestamp, name, temperature.gpu, power.draw [W]',
  '2025/01/31 12:00:00.000, NVIDIA H200, 40, 300.5 W',
  '2025/01/31 12:00:01.000, NVIDIA H200, 41, 301.5 W',
].join('\n');

const TWO_GPUS_INDEX = [
  'timestamp, index, name, temperature.gpu',
  '2025/01/31 12:00:00.000, 0, NVIDIA H200, 40',
  '2025/01/31 12:00:00.000, 1, NVIDIA H200, 50',
].join('\n');

const TWO_GPUS_UUID = [
  'timestamp, uuid, name, temperature.gpu',
  '2025/01/31 12:00:00.000, GPU-aaaa, NVIDIA H200, 40',
  '2025/01/31 12:00:00.000, GPU-bbbb, NVIDIA H200, 50',
].join('\n');

const NO_ID = ['timestamp, power.draw [W]', '2025/01/31 12:00:00.000, 22.5 W', '2025/01/31 12:00:01.000, 23.5 W'].join('\n');

describe('identity options', () => {
  test('--device on a file with only a name column names the device (the model never becomes the id)', () => {
    const a = parseText(MODEL_ONLY, { fileName: 'node-a.csv', device: 'node-a-gpu' });
    const b = parseText(MODEL_ONLY, { fileName: 'node-b.csv', device: 'node-b-gpu' });
    assert.deepEqual(new Set(a.points.map((p) => p.device)), new Set(['node-a-gpu']));
    assert.deepEqual(new Set(b.points.map((p) => p.device)), new Set(['node-b-gpu']));
    assert.equal(a.summary.identity, 'option');
    assert.deepEqual(a.summary.identities, { option: 2 });
    assert.equal(a.points[0]!.tags.model, 'NVIDIA H200');
    // Two machines' logs at the same timestamps no longer share a series.
    assert.notEqual(a.points[0]!.device, b.points[0]!.device);
  });

  test('--device with several GPUs combines as <device>/<per-GPU id> instead of collapsing them', () => {
    const idx = parseText(TWO_GPUS_INDEX, { fileName: 'x.csv', device: 'rig-7' });
    assert.deepEqual(idx.points.map((p) => p.device), ['rig-7/gpu0', 'rig-7/gpu1']);
    assert.equal(idx.summary.identity, 'option+gpu_index');
    const uuid = parseText(TWO_GPUS_UUID, { fileName: 'x.csv', device: 'rig-7' });
    assert.deepEqual(uuid.points.map((p) => p.device), ['rig-7/GPU-aaaa', 'rig-7/GPU-bbbb']);
    assert.equal(uuid.summary.identity, 'option+gpu_uuid');
    assert.equal(uuid.points[0]!.tags.gpu_uuid, 'GPU-aaaa');
  });

  test('--host on a file without any id column qualifies the file name and is the host tag', () => {
    const r = parseText(NO_ID, { fileName: 'logs/power.csv', host: 'node-07' });
    assert.deepEqual(r.points.map((p) => p.device), ['node-07/power', 'node-07/power']);
    assert.deepEqual(r.points[0]!.tags, { host: 'node-07' });
    assert.equal(r.summary.identity, 'host+file_name');
  });

  test('--host combines with index and model, and is always the host tag', () => {
    const idx = parseText(TWO_GPUS_INDEX, { fileName: 'x.csv', host: 'node-07' });
    assert.deepEqual(idx.points.map((p) => p.device), ['node-07/gpu0', 'node-07/gpu1']);
    assert.ok(idx.points.every((p) => p.tags.host === 'node-07'));
    const model = parseText(MODEL_ONLY, { fileName: 'x.csv', host: 'node-07' });
    assert.equal(model.points[0]!.device, 'node-07/NVIDIA H200');
    assert.equal(model.summary.identity, 'model');
    // A UUID is globally unique: it stays the id; the host is still the tag.
    const uuid = parseText(TWO_GPUS_UUID, { fileName: 'x.csv', host: 'node-07' });
    assert.deepEqual(uuid.points.map((p) => [p.device, p.tags.host]), [
      ['GPU-aaaa', 'node-07'],
      ['GPU-bbbb', 'node-07'],
    ]);
  });

  test('--host and --device together: the device names it, the host is the tag', () => {
    const r = parseText(MODEL_ONLY, { fileName: 'x.csv', host: 'node-07', device: 'h200-a' });
    assert.equal(r.points[0]!.device, 'h200-a');
    assert.equal(r.points[0]!.tags.host, 'node-07');
  });

  test('without options nothing changes: uuid, gpuN, model, file name', () => {
    assert.equal(parseText(TWO_GPUS_UUID, { fileName: 'x.csv' }).points[0]!.device, 'GPU-aaaa');
    assert.equal(parseText(TWO_GPUS_INDEX, { fileName: 'x.csv' }).points[1]!.device, 'gpu1');
    assert.equal(parseText(MODEL_ONLY, { fileName: 'x.csv' }).points[0]!.device, 'NVIDIA H200');
    const none = parseText(NO_ID, { fileName: 'logs/power.csv' });
    assert.equal(none.points[0]!.device, 'power');
    assert.equal(none.summary.identity, 'file_name');
  });

  test('generic CSV device column combines with --device; DCGM UUIDs too', () => {
    const g = parseText('timestamp,device,power_w\n1738324800000000000,a,1\n1738324800000000000,b,2\n', { fileName: 'g.csv', device: 'site-1' });
    assert.deepEqual(g.points.map((p) => p.device), ['site-1/a', 'site-1/b']);
    assert.equal(g.summary.identity, 'option+device_column');
    const d = parseText('DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-a",Hostname="h"} 45 1738324800000\n', { fileName: 'm.prom', device: 'rack-3' });
    assert.equal(d.points[0]!.device, 'rack-3/GPU-a');
    assert.equal(d.points[0]!.tags.host, 'h');
  });
});

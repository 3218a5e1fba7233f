/**
 * The committed model's precursor head (ml/train.py, issue 10): trained on the
 * driver's verdicts, it can raise a point to degraded but never to critical,
 * and its threshold maps onto the forest's degraded line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { DEFAULT_MODEL_PATH } from '../../../activities/health/onnx-scorer.ts';
import { N_FEATURES, FEATURE_NAMES } from '../../../activities/health/features.ts';

const meta = JSON.parse(readFileSync(new URL('../../../ml/model/meta.json', import.meta.url), 'utf8'));

test('meta: head threshold lands on the degraded line, its cap below critical, features by name', () => {
  const { degraded, critical } = meta.thresholds;
  const h = meta.head;
  assert.ok(Math.abs(h.k * h.pThreshold - degraded) < 1e-4, `${h.k} * ${h.pThreshold} vs ${degraded}`);
  assert.ok(h.cap >= degraded && h.cap < critical, `cap ${h.cap}`);
  for (const f of h.features) assert.ok(FEATURE_NAMES.includes(f), f);
  assert.deepEqual(h.training.seeds, [meta.training.seed + 5, meta.training.seed + 6]);
});

test('graph: one input, one output, the head nodes inside; an ordinary row scores below degraded', async () => {
  const s = await ort.InferenceSession.create(DEFAULT_MODEL_PATH);
  try {
    assert.deepEqual(s.inputNames, ['input']);
    assert.deepEqual(s.outputNames, ['score']);
    const bytes = readFileSync(DEFAULT_MODEL_PATH);
    for (const name of ['precursor_head', 'head_stays_degraded', 'forest_or_head']) assert.ok(bytes.includes(Buffer.from(name)), name);
    // An ordinary idle row (imputation values of ml/features.json) is healthy.
    const spec = JSON.parse(readFileSync(new URL('../../../ml/features.json', import.meta.url), 'utf8'));
    const row = Float32Array.from(spec.features.map((f: { impute: number }) => f.impute));
    const out = await s.run({ input: new ort.Tensor('float32', row, [1, N_FEATURES]) });
    const score = (out.score!.data as Float32Array)[0]!;
    assert.ok(score > 0 && score < meta.thresholds.degraded, `score ${score}`);
  } finally {
    await s.release();
  }
});

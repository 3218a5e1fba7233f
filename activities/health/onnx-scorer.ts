/**
 * In-process health scoring with onnxruntime-node: one session.run per batch.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { BUNDLED_META, loadMeta, ModelMismatchError, type ModelMeta } from './classify.ts';
import { N_FEATURES } from './features.ts';
import { scorerFromRunner, type HealthScorer } from './scorer.ts';

export type { HealthScorer, HealthScoreResult } from './scorer.ts';
export type { HealthResult } from './classify.ts';
export type { DeviceBaseline } from './features.ts';
export { createHttpScorer } from './http-scorer.ts';
export { healthLinesFor } from './line-protocol.ts';

/** The committed model (ml/model/gpu-health.onnx), resolved from this file so the cwd does not matter. */
export const DEFAULT_MODEL_PATH = fileURLToPath(new URL('../../ml/model/gpu-health.onnx', import.meta.url));
export const MODEL_INPUT = 'input';
export const MODEL_OUTPUT = 'score';

export interface OnnxScorerOptions {
  /** Path of the .onnx file; its meta.json is read from the same folder when present. */
  modelPath?: string;
  /** Threads per run; 1 keeps a 2-core worker responsive for the rest of the activity. */
  intraOpNumThreads?: number;
}

export async function createOnnxScorer(opts: OnnxScorerOptions = {}): Promise<HealthScorer> {
  const modelPath = opts.modelPath ?? DEFAULT_MODEL_PATH;
  const metaPath = join(dirname(modelPath), 'meta.json');
  const meta: ModelMeta = opts.modelPath && existsSync(metaPath) ? await loadMeta(metaPath) : BUNDLED_META;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'],
      intraOpNumThreads: opts.intraOpNumThreads ?? 1,
      graphOptimizationLevel: 'all',
      // The arena keeps its peak allocation for the life of the process (RSS that never returns);
      // a tree ensemble's buffers are small and allocated once per run, so the arena buys nothing.
      enableCpuMemArena: false,
    });
  } catch (cause) {
    throw new ModelMismatchError(`cannot load ONNX model ${modelPath}`, { cause });
  }
  if (!session.inputNames.includes(MODEL_INPUT) || !session.outputNames.includes(MODEL_OUTPUT)) {
    await session.release();
    throw new ModelMismatchError(`${modelPath}: expected input "${MODEL_INPUT}" and output "${MODEL_OUTPUT}", got ${session.inputNames} → ${session.outputNames}`);
  }
  return scorerFromRunner(
    async (features, rows) => {
      const input = new ort.Tensor('float32', features, [rows, N_FEATURES]);
      const out = await session.run({ [MODEL_INPUT]: input });
      const t = out[MODEL_OUTPUT];
      if (!t) throw new ModelMismatchError(`model produced no "${MODEL_OUTPUT}" output`);
      return t.data as Float32Array;
    },
    meta,
    () => session.release(),
  );
}

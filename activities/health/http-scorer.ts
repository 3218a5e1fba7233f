/**
 * Remote model backend: the same features, thresholds and hard-fault rules as
 * the in-process scorer, with the anomaly score computed by a model server
 * (KServe v2 Open Inference Protocol or TF Serving REST) serving
 * ml/model/gpu-health.onnx (or a model with the same input and output).
 */
import { BUNDLED_META, type ModelMeta } from './classify.ts';
import { N_FEATURES } from './features.ts';
import { scorerFromRunner, type HealthScorer } from './scorer.ts';

export interface HttpScorerOptions {
  /** Base URL of the model server, e.g. http://127.0.0.1:8080 (no trailing path). */
  url: string;
  protocol: 'kserve-v2' | 'tf-serving';
  /** Model name on the server. */
  model: string;
  /** Per-request timeout, ms (default 10_000). */
  timeoutMs?: number;
  /** Thresholds and feature stats; defaults to the committed ml/model/meta.json. */
  meta?: ModelMeta;
}

/** A failed inference call. `retryable` separates transient (429, 5xx, timeout, refused) from permanent (4xx, bad body). */
export class HttpScorerError extends Error {
  override name = 'HttpScorerError';
  readonly status: number | undefined;
  readonly retryable: boolean;
  constructor(message: string, opts: { status?: number; retryable: boolean; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.status = opts.status;
    this.retryable = opts.retryable;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;

interface KServeResponse {
  outputs?: { name?: string; data?: unknown[]; shape?: number[] }[];
}
interface TfServingResponse {
  predictions?: unknown[];
}

function toScores(values: unknown[] | undefined, rows: number, where: string): Float64Array {
  if (!Array.isArray(values)) throw new HttpScorerError(`${where}: response has no score array`, { retryable: false });
  const out = new Float64Array(rows);
  if (values.length !== rows) throw new HttpScorerError(`${where}: ${values.length} scores for ${rows} rows`, { retryable: false });
  for (let i = 0; i < rows; i++) {
    // TF Serving returns [[s], …] for a [n, 1] output, KServe a flat array.
    const v = values[i];
    const x = Array.isArray(v) ? v[0] : v;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new HttpScorerError(`${where}: score ${i} is not a finite number`, { retryable: false });
    out[i] = x;
  }
  return out;
}

export function createHttpScorer(opts: HttpScorerOptions): HealthScorer {
  const base = opts.url.replace(/\/+$/, '');
  const model = encodeURIComponent(opts.model);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const endpoint = opts.protocol === 'kserve-v2' ? `${base}/v2/models/${model}/infer` : `${base}/v1/models/${model}:predict`;

  async function post(body: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new HttpScorerError(`POST ${endpoint} failed: ${(cause as Error).message}`, { retryable: true, cause });
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => '')).slice(0, 500);
      throw new HttpScorerError(`POST ${endpoint} → ${res.status}: ${text}`, {
        status: res.status,
        retryable: res.status === 429 || res.status >= 500,
      });
    }
    try {
      return await res.json();
    } catch (cause) {
      throw new HttpScorerError(`POST ${endpoint}: response is not JSON`, { status: res.status, retryable: false, cause });
    }
  }

  return scorerFromRunner(
    async (features, rows) => {
      if (opts.protocol === 'kserve-v2') {
        const body = { inputs: [{ name: 'input', shape: [rows, N_FEATURES], datatype: 'FP32', data: Array.from(features) }] };
        const res = (await post(body)) as KServeResponse;
        const outputs = res.outputs ?? [];
        const out = outputs.find((o) => o.name === 'score') ?? outputs[0];
        return toScores(out?.data, rows, endpoint);
      }
      const instances: number[][] = new Array(rows);
      for (let r = 0; r < rows; r++) instances[r] = Array.from(features.subarray(r * N_FEATURES, (r + 1) * N_FEATURES));
      const res = (await post({ instances })) as TfServingResponse;
      return toScores(res.predictions, rows, endpoint);
    },
    opts.meta ?? BUNDLED_META,
    async () => {},
  );
}

/**
 * The HTTP backend against a local model server that runs the SAME ONNX file
 * with onnxruntime-node and speaks KServe v2 / TF Serving REST on the wire.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-node';
import { createOnnxScorer, DEFAULT_MODEL_PATH } from '../../../activities/health/onnx-scorer.ts';
import { createHttpScorer, HttpScorerError } from '../../../activities/health/http-scorer.ts';
import type { HealthScoreResult } from '../../../activities/health/scorer.ts';
import { loadTrace } from '../../fixtures/health/synthetic.ts';

/**
 * Same classes, reasons and baselines; scores equal to float32 summation order (a server running
 * the tree ensemble on several threads adds the trees in another order: ~1e-6 differences).
 */
function assertAgree(got: HealthScoreResult, want: HealthScoreResult): void {
  assert.deepEqual(got.baselines, want.baselines);
  assert.equal(got.results.length, want.results.length);
  got.results.forEach((r, i) => {
    const w = want.results[i]!;
    assert.equal(r.class, w.class, `point ${i}`);
    assert.deepEqual(r.reasons, w.reasons, `point ${i}`);
    assert.ok(Math.abs(r.score - w.score) <= 1e-5, `point ${i}: ${r.score} vs ${w.score}`);
  });
}

async function readJson(req: import('node:http').IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

describe('HTTP health scorer', () => {
  let server: Server;
  let session: ort.InferenceSession;
  let base: string;
  const seen: { path: string; body: any }[] = [];
  let failNext: number | null = null;

  before(async () => {
    session = await ort.InferenceSession.create(DEFAULT_MODEL_PATH);
    server = createServer(async (req, res) => {
      try {
        const body = await readJson(req);
        seen.push({ path: req.url ?? '', body });
        if (failNext !== null) {
          res.writeHead(failNext, { 'content-type': 'application/json' }).end('{"error":"injected"}');
          failNext = null;
          return;
        }
        if (req.url === '/v2/models/gpu-health/infer') {
          const inp = body.inputs[0];
          assert.equal(inp.datatype, 'FP32');
          const t = new ort.Tensor('float32', Float32Array.from(inp.data), inp.shape);
          const out = (await session.run({ [inp.name]: t }))['score']!;
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({ model_name: 'gpu-health', outputs: [{ name: 'score', datatype: 'FP32', shape: out.dims, data: Array.from(out.data as Float32Array) }] }),
          );
        } else if (req.url === '/v1/models/gpu-health:predict') {
          const rows = body.instances as number[][];
          const t = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
          const out = (await session.run({ input: t }))['score']!.data as Float32Array;
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ predictions: Array.from(out, (x) => [x]) }));
        } else {
          res.writeHead(404).end('{"error":"no such model"}');
        }
      } catch (err) {
        res.writeHead(500).end(JSON.stringify({ error: String(err) }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await session.release();
  });

  const pts = loadTrace({ n: 700, seed: 21, runawayFrom: 600 });
  pts[10]!.fields['xid'] = 48;

  test('KServe v2 agrees with the in-process scorer', async () => {
    const local = await createOnnxScorer();
    const remote = createHttpScorer({ url: base, protocol: 'kserve-v2', model: 'gpu-health', timeoutMs: 5_000 });
    try {
      const want = await local.score(pts, {});
      const got = await remote.score(pts, {});
      assertAgree(got, want);
      assert.ok(want.results.some((r) => r.class !== 'healthy'));
      const req = seen.at(-1)!;
      assert.equal(req.path, '/v2/models/gpu-health/infer');
      assert.deepEqual(req.body.inputs[0].shape, [700, 23]);
      assert.equal(req.body.inputs[0].data.length, 700 * 23);
    } finally {
      await local.close();
      await remote.close();
    }
  });

  test('TF Serving REST agrees too', async () => {
    const local = await createOnnxScorer();
    const remote = createHttpScorer({ url: `${base}/`, protocol: 'tf-serving', model: 'gpu-health' });
    try {
      assertAgree(await remote.score(pts, {}), await local.score(pts, {}));
      assert.equal(seen.at(-1)!.path, '/v1/models/gpu-health:predict');
    } finally {
      await local.close();
    }
  });

  test('errors are classified retryable (5xx, refused) or permanent (4xx)', async () => {
    const remote = createHttpScorer({ url: base, protocol: 'kserve-v2', model: 'gpu-health' });
    failNext = 503;
    await assert.rejects(remote.score(pts.slice(0, 5), {}), (e: unknown) => e instanceof HttpScorerError && e.retryable && e.status === 503);
    const missing = createHttpScorer({ url: base, protocol: 'kserve-v2', model: 'nope' });
    await assert.rejects(missing.score(pts.slice(0, 5), {}), (e: unknown) => e instanceof HttpScorerError && !e.retryable && e.status === 404);
    const refused = createHttpScorer({ url: 'http://127.0.0.1:1', protocol: 'kserve-v2', model: 'gpu-health', timeoutMs: 2_000 });
    await assert.rejects(refused.score(pts.slice(0, 5), {}), (e: unknown) => e instanceof HttpScorerError && e.retryable);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toLine, toLines } from '../../../lib/influx/line-protocol.ts';

describe('line protocol for measurement gpu', () => {
  test('tags sorted with device, numbers written as line-protocol floats (no suffix; "41" is the float 41), ns timestamp', () => {
    const l = toLine({ device: 'GPU-1', ts: '1700000000123456789', tags: { model: 'NVIDIA A100', host: 'n1', gpu_index: '0' }, fields: { temperature_c: 41, power_w: 69.85 } });
    assert.equal(l, 'gpu,device=GPU-1,gpu_index=0,host=n1,model=NVIDIA\\ A100 temperature_c=41,power_w=69.85 1700000000123456789');
  });
  test('escapes commas, equals, spaces and backslashes in tag keys and values, every time', () => {
    const tags = { host: 'a,b=c d\\e' };
    for (let i = 0; i < 3; i++) {
      // Same input repeatedly: a stateful (global) regex would alternate between escaping and not.
      assert.equal(toLine({ device: `x y${i}`, ts: '1', tags, fields: { f: 1.5 } }), `gpu,device=x\\ y${i},host=a\\,b\\=c\\ d\\\\e f=1.5 1`);
    }
  });
  test('non-finite values are dropped and a point without fields is not written', () => {
    assert.equal(toLine({ device: 'd', ts: '1', tags: {}, fields: { a: Number.NaN, b: 2 } }), 'gpu,device=d b=2 1');
    assert.equal(toLine({ device: 'd', ts: '1', tags: {}, fields: {} }), undefined);
    assert.equal(toLines([{ device: 'd', ts: '1', tags: {}, fields: { a: Infinity } }]).length, 0);
  });
  test('the series prefix cache distinguishes devices that share a tag object', () => {
    const tags = { model: 'M' };
    const lines = toLines([
      { device: 'a', ts: '1', tags, fields: { x: 1 } },
      { device: 'b', ts: '1', tags, fields: { x: 1 } },
    ]);
    assert.deepEqual(lines, ['gpu,device=a,model=M x=1 1', 'gpu,device=b,model=M x=1 1']);
  });
});

describe('lineBody: the request body from text lines and the byte lines of decoded batches', () => {
  test('text, byte views of one message (merged ranges) and of two messages give the same body as joining the text', async () => {
    const { lineBody } = await import('../../../lib/influx/writer.ts');
    const { encodeBatch, decodeBatch } = await import('../../../lib/stream/codec.ts');
    const pts = (dev: string, n: number) => Array.from({ length: n }, (_, i) => ({ device: dev, ts: String(1_700_000_000_000_000_000n + BigInt(i)), tags: { host: 'ü-host' }, fields: { t: i, p: i / 3 } }));
    const a = decodeBatch(encodeBatch('a', pts('GPU-a', 5)));
    const b = decodeBatch(encodeBatch('b', pts('GPU-b', 3)));
    // Skip one line of `a` (a rejected point) so the views are not all neighbours.
    const lines = [...a.lines!.slice(0, 2), ...a.lines!.slice(3), 'gpu_health,device=GPU-a score=0.1 1', ...b.lines!].map((l) => l!);
    const text = [...a.points.slice(0, 2), ...a.points.slice(3)].map((p) => toLine(p)!).concat('gpu_health,device=GPU-a score=0.1 1', b.points.map((p) => toLine(p)!));
    assert.equal(lineBody(lines).toString('utf8'), text.join('\n'));
    assert.equal(lineBody(text).toString('utf8'), text.join('\n'));
    assert.equal(lineBody([]).length, 0);
  });
});

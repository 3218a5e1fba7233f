import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toLine, toLines } from '../../../lib/influx/line-protocol.ts';

describe('line protocol for measurement gpu', () => {
  test('tags sorted with device, floats kept as floats, ns timestamp', () => {
    const l = toLine({ device: 'GPU-1', ts: '1700000000123456789', tags: { model: 'NVIDIA A100', host: 'n1', gpu_index: '0' }, fields: { temperature_c: 41, power_w: 69.85 } });
    assert.equal(l, 'gpu,device=GPU-1,gpu_index=0,host=n1,model=NVIDIA\\ A100 temperature_c=41.0,power_w=69.85 1700000000123456789');
  });
  test('escapes commas, equals, spaces and backslashes in tag keys and values, every time', () => {
    const tags = { host: 'a,b=c d\\e' };
    for (let i = 0; i < 3; i++) {
      // Same input repeatedly: a stateful (global) regex would alternate between escaping and not.
      assert.equal(toLine({ device: `x y${i}`, ts: '1', tags, fields: { f: 1.5 } }), `gpu,device=x\\ y${i},host=a\\,b\\=c\\ d\\\\e f=1.5 1`);
    }
  });
  test('non-finite values are dropped and a point without fields is not written', () => {
    assert.equal(toLine({ device: 'd', ts: '1', tags: {}, fields: { a: Number.NaN, b: 2 } }), 'gpu,device=d b=2.0 1');
    assert.equal(toLine({ device: 'd', ts: '1', tags: {}, fields: {} }), undefined);
    assert.equal(toLines([{ device: 'd', ts: '1', tags: {}, fields: { a: Infinity } }]).length, 0);
  });
  test('the series prefix cache distinguishes devices that share a tag object', () => {
    const tags = { model: 'M' };
    const lines = toLines([
      { device: 'a', ts: '1', tags, fields: { x: 1 } },
      { device: 'b', ts: '1', tags, fields: { x: 1 } },
    ]);
    assert.deepEqual(lines, ['gpu,device=a,model=M x=1.0 1', 'gpu,device=b,model=M x=1.0 1']);
  });
});

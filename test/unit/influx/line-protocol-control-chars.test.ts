/**
 * A control character that reaches the stream path (a parser other than the
 * API's, or a batch already in the stream) must not break a line: InfluxDB
 * line protocol has no escape for a newline, so a raw \n or \r would split
 * one point into two bad lines and fail the whole write. The API refuses
 * such values (api/ingest-schema.ts); this is the second line of defence.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toLine } from '../../../lib/influx/line-protocol.ts';
import { decodeBatch, encodeBatch } from '../../../lib/stream/codec.ts';
import type { Point } from '../../../lib/point.ts';

/** Every C0 control character and DEL. */
const CONTROLS = [...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)), '\u007f'];

/** Where a value can carry one: the device id, a tag value, a tag key, a field key. */
const placements: { name: string; point: (c: string) => Point }[] = [
  { name: 'device', point: (c) => ({ device: `GPU-a${c}b`, ts: '1740830400000000000', tags: {}, fields: { power_w: 1 } }) },
  { name: 'tag value', point: (c) => ({ device: 'GPU-a', ts: '1740830400000000000', tags: { host: `n${c}1` }, fields: { power_w: 1 } }) },
  { name: 'tag key', point: (c) => ({ device: 'GPU-a', ts: '1740830400000000000', tags: { [`h${c}k`]: 'v' }, fields: { power_w: 1 } }) },
  { name: 'field key', point: (c) => ({ device: 'GPU-a', ts: '1740830400000000000', tags: {}, fields: { [`p${c}w`]: 1 } }) },
];

/** Spaces outside a backslash escape: a well-formed line has exactly two (series key, fields, timestamp). */
function unescapedSpaces(line: string): number {
  let n = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === ' ') n++;
  }
  return n;
}

describe('line protocol: control characters cannot break a line', () => {
  for (const { name, point } of placements)
    test(`in the ${name}: one line, no raw \\n or \\r, three sections, for each of the ${CONTROLS.length} characters`, () => {
      for (const c of CONTROLS) {
        const line = toLine(point(c))!;
        const code = `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
        assert.ok(line !== undefined, code);
        assert.ok(!/[\n\r]/.test(line), `${code}: raw newline in ${JSON.stringify(line)}`);
        assert.equal(unescapedSpaces(line), 2, `${code}: ${JSON.stringify(line)}`);
        assert.ok(line.endsWith(' 1740830400000000000'), code);
      }
    });

  test('the stream codec carries the same single line: no newline byte in any decoded line', () => {
    // One device per point: a batch holds one tag set per device.
    const points = CONTROLS.flatMap((c, i) => placements.map((p, j) => ({ ...p.point(c), device: `${p.point(c).device}-${i}-${j}` })));
    const decoded = decodeBatch(encodeBatch('h:control-chars', points));
    assert.equal(decoded.lines?.length, points.length);
    for (const [i, bytes] of decoded.lines!.entries()) {
      assert.ok(bytes, `point ${i} has a line`);
      assert.ok(!bytes.includes(0x0a) && !bytes.includes(0x0d), `point ${i}: ${JSON.stringify(Buffer.from(bytes).toString('utf8'))}`);
      assert.equal(Buffer.from(bytes).toString('utf8'), toLine(points[i]!));
    }
  });
});

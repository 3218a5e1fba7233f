/**
 * appendLine is the one writer of line protocol (toLine is its text); the
 * collector copies its bytes into InfluxDB writes as they are. Checked here
 * against a plain reference built from the line-protocol rules with String(v),
 * for every kind of number, tag text and field name.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendLine, LineArena, toLine } from '../../../lib/influx/line-protocol.ts';
import type { Point } from '../../../lib/point.ts';
import { prng } from '../../../lib/sample/generate-sample.ts';

/** Line protocol by its rules, the slow obvious way (tags sorted with `device`, empty values dropped). */
const esc = (x: string) => x.replace(/[,= \\\n\r]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\${c}`));
function referenceLine(p: Point): string | undefined {
  const tags = Object.entries({ ...p.tags, device: p.device })
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const fields = Object.entries(p.fields).filter(([, v]) => Number.isFinite(v));
  if (fields.length === 0) return undefined;
  return `gpu${tags.map(([k, v]) => `,${esc(k)}=${esc(v)}`).join('')} ${fields.map(([k, v]) => `${esc(k)}=${String(v)}`).join(',')} ${p.ts}`;
}

const SPECIAL = [0, -0, 1, -1, 9, 10, 99, 100, 2147483647, -2147483648, 2147483648, -2147483649, 4294967296, 2 ** 53, -(2 ** 53) - 2, 1e21, 1.5e300, -1e-7, 5e-324, 0.1, 69.85, 123.456, 1 / 3, NaN, Infinity, -Infinity];

function randomValue(r: () => number): number {
  const k = r();
  if (k < 0.3) return SPECIAL[Math.floor(r() * SPECIAL.length)]!;
  if (k < 0.6) return Math.floor((r() - 0.3) * 10 ** Math.floor(r() * 12));
  if (k < 0.8) return Math.round(r() * 100_000) / 100;
  return (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
}

describe('appendLine (LineArena)', () => {
  test('is the reference line + "\\n" over 20,000 random points (numbers of every kind, escaped and non-ASCII tags and names), and toLine its text', () => {
    const r = prng(7);
    const names = ['temperature_c', 'power_w', 'a b', 'x,y', 'k=v', 'ünï', 'f\\g', 'sm_clock_mhz', '__proto__'];
    const tagValues = ['n1', 'NVIDIA A100', 'a,b=c d\\e', 'GPU-ü', '', 'host.example'];
    // One arena, small at first: lines cross its growth many times.
    const arena = new LineArena(16);
    let expected = '';
    for (let i = 0; i < 20_000; i++) {
      const fields: Record<string, number> = {};
      const nf = Math.floor(r() * 6);
      for (let j = 0; j < nf; j++) Object.defineProperty(fields, names[Math.floor(r() * names.length)]!, { value: randomValue(r), enumerable: true, writable: true, configurable: true });
      const p: Point = {
        device: `GPU-${Math.floor(r() * 50)}${r() < 0.1 ? ' x' : ''}`,
        ts: String(1_700_000_000_000_000_000n + BigInt(Math.floor(r() * 1e12))),
        tags: { host: tagValues[Math.floor(r() * tagValues.length)]!, model: tagValues[Math.floor(r() * tagValues.length)]! },
        fields,
      };
      const want = referenceLine(p);
      assert.equal(toLine(p), want, `point ${i}: toLine`);
      const before = arena.len;
      const n = appendLine(arena, p);
      if (want === undefined) {
        assert.equal(n, 0, `point ${i}: no line`);
        assert.equal(arena.len, before, `point ${i}: nothing appended`);
        continue;
      }
      assert.equal(n, Buffer.byteLength(want), `point ${i}: length of ${want}`);
      expected += `${want}\n`;
    }
    assert.equal(arena.buf.toString('utf8', 0, arena.len), expected);
  });

  test('a line longer than the arena (a 212-column capture) grows it instead of overrunning', () => {
    const fields: Record<string, number> = {};
    for (let j = 0; j < 212; j++) fields[`field_number_${j}_with_a_long_name`] = -1.2345678901234567e-100 * (j + 1);
    const p: Point = { device: 'GPU-0', ts: '1700000000000000001', tags: { host: 'h' }, fields };
    const arena = new LineArena(256);
    const n = appendLine(arena, p);
    assert.equal(arena.buf.toString('utf8', 0, arena.len), `${referenceLine(p)}\n`);
    assert.equal(n, arena.len - 1);
  });
});

/**
 * The per-row fast paths agree with the general rules they shortcut:
 * numeric cells, bitmasks and flags (fields.ts), row fields written by slot
 * (row-fields.ts), the identity memo and the repeated-timestamp cache (table.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  UNITS,
  parseFlag,
  parseFlagRules,
  parseMask,
  parseMaskRules,
  parseNumericCell,
  parseNumericCellRules,
  type Dim,
} from '../../../lib/parse/fields.ts';
import { parseText } from '../../../lib/parse/index.ts';
import { RowFields } from '../../../lib/parse/row-fields.ts';

const DIMS: Dim[] = ['power', 'mem', 'clock', 'pct', 'temp', 'time', 'energy', 'none'];
const SCALES: [number, number][] = [
  [1, 1],
  [1024, 1],
  [1, 1000],
  [1_000_000, 1_048_576],
];

const digits = (max: number) => fc.array(fc.constantFrom(...'0123456789'), { maxLength: max }).map((d) => d.join(''));
const unit = fc.constantFrom(...Object.keys(UNITS), '', 'x', 'eW', 'e5', 'constructor', '__proto__', '%%', 'W2', 'Mib', 'mhz');
/** Number-like cells: sign, digits, fraction, exponent, spaces and a unit, each optional. */
const numberCell = fc
  .tuple(fc.constantFrom('', '-', '+'), digits(19), fc.constantFrom('', '.'), digits(8), fc.constantFrom('', 'e3', 'E-2', 'e'), fc.constantFrom('', ' ', '  ', '\t', '\u00a0'), unit)
  .map((parts) => parts.join(''));
const anyCell = fc.oneof(
  numberCell,
  fc.constantFrom('Enabled', 'enabled', 'Disabled', 'Active', 'Not Active', 'not active', 'Yes', 'No', 'On', 'Off', 'N/A', '[N/A]', '[Not Supported]', '', '-', 'NaN', 'ERR!', 'P0', '12.', '.5', '-0', '0x1F'),
  fc.string({ maxLength: 8 }),
);

describe('numeric cell fast path', () => {
  test('parseNumericCell equals the general rules for every dimension and header scale', () => {
    fc.assert(
      fc.property(anyCell, fc.constantFrom(...DIMS), fc.constantFrom(...SCALES), (cell, dim, [mul, div]) => {
        assert.deepStrictEqual(parseNumericCell(cell, dim, mul, div), parseNumericCellRules(cell, dim, mul, div), JSON.stringify(cell));
      }),
      { numRuns: 50_000 },
    );
  });

  test('edge cells: precision limits, signs, zeros, units next to the number', () => {
    const cells = ['123456789012345', '1234567890123456', '9007199254740993', '0.1', '0.30000000000000004', '-0', '-0.0', '007.50', '-300.25 W', '45 %', '45%', '45  %', '1.5e3 MHz', '12.W', '999999999999999.9', '1.000000000000001'];
    for (const cell of cells)
      for (const dim of DIMS)
        for (const [mul, div] of SCALES) assert.deepStrictEqual(parseNumericCell(cell, dim, mul, div), parseNumericCellRules(cell, dim, mul, div), cell);
  });
});

describe('bitmask and flag fast paths', () => {
  const hex = fc.array(fc.constantFrom(...'0123456789abcdefABCDEFg'), { maxLength: 20 }).map((d) => d.join(''));
  test('parseMask equals the general rules (hex of any length, decimal, placeholders)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(fc.constantFrom('0x', '0X', '0', 'x'), hex).map(([p, h]) => p + h), anyCell), (cell) => {
        assert.deepStrictEqual(parseMask(cell), parseMaskRules(cell), cell);
      }),
      { numRuns: 20_000 },
    );
    for (const cell of ['0x0000000000000000', '0x0000000000000060', '0x001FFFFFFFFFFFFF', '0x0020000000000000', '0xFFFFFFFFFFFFFFFF', '0x'])
      assert.deepStrictEqual(parseMask(cell), parseMaskRules(cell), cell);
  });

  test('parseFlag equals the general rules', () => {
    fc.assert(
      fc.property(anyCell, (cell) => {
        assert.deepStrictEqual(parseFlag(cell), parseFlagRules(cell), cell);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('row fields by slot', () => {
  const NAMES = ['temperature_c', 'power_w', 'util_gpu_pct', 'throttle_reasons', 'constructor', 'toString', '__proto__', 'hasOwnProperty', '0', '12', 'x\ud800', 'a b', 'f_1'];
  /** A header's names, and rows as write sequences of [name index, value]. */
  const header = fc.shuffledSubarray(NAMES, { minLength: 1 });
  const writes = fc.array(fc.array(fc.tuple(fc.nat(), fc.oneof(fc.double(), fc.constantFrom(0, -0, 1))), { maxLength: 12 }), { minLength: 1, maxLength: 80 });

  test('same object, key order and undefined-tests as writing the names into {} (templates reused, __proto__ and inherited names)', () => {
    fc.assert(
      fc.property(header, writes, (names, seq) => {
        const rf = new RowFields();
        const slots = names.map((n) => rf.slot(n));
        for (const row of seq) {
          rf.reset();
          const plain: Record<string, number> = {};
          for (const [at, v] of row) {
            const i = at % names.length;
            assert.equal(rf.isUnset(slots[i]!), plain[names[i]!] === undefined, names[i]);
            rf.set(slots[i]!, v);
            plain[names[i]!] = v;
          }
          const got = rf.toObject();
          assert.deepStrictEqual(got, plain);
          assert.deepStrictEqual(Object.keys(got), Object.keys(plain));
          assert.equal(Object.getPrototypeOf(got), Object.prototype);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('more key sequences than templates: objects are still exact', () => {
    const rf = new RowFields();
    const slots = Array.from({ length: 10 }, (_, i) => rf.slot(`f${i}`));
    for (let mask = 1; mask < 1024; mask++) {
      rf.reset();
      const plain: Record<string, number> = {};
      for (let i = 9; i >= 0; i--)
        if (mask & (1 << i)) {
          rf.set(slots[i]!, mask * i);
          plain[`f${i}`] = mask * i;
        }
      assert.deepStrictEqual(Object.entries(rf.toObject()), Object.entries(plain));
    }
  });
});

describe('row caches', () => {
  test('identity memo: devices that share a UUID (MIG) or an index, beyond the memo ways, keep their own ids', () => {
    const lines = ['timestamp, uuid, gi, ci, hostname, index, temperature.gpu'];
    const expected: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (let gi = 0; gi < 11; gi++) {
        lines.push(`2025/01/01 00:00:${String(round).padStart(2, '0')}.000, GPU-aaaa, ${gi}, ${gi % 2}, h, 0, ${40 + gi}`);
        expected.push(`GPU-aaaa/gi${gi}/ci${gi % 2}`);
      }
      for (let host = 0; host < 10; host++) {
        lines.push(`2025/01/01 00:00:${String(round).padStart(2, '0')}.000, [N/A], [N/A], [N/A], node-${host}, 0, 50`);
        expected.push(`node-${host}/gpu0`);
      }
    }
    const { points, summary } = parseText(lines.join('\n') + '\n', { fileName: 'mig.csv' });
    assert.deepEqual(
      points.map((p) => p.device),
      expected,
    );
    assert.equal(summary.rejected, 0);
    assert.deepEqual(points[0]!.tags, { host: 'h', gpu_uuid: 'GPU-aaaa', gpu_index: '0', gpu_instance_id: '0', compute_instance_id: '0' });
    // One frozen tags object per device, shared by its points.
    assert.equal(points[0]!.tags, points[21]!.tags);
    assert.ok(Object.isFrozen(points[0]!.tags));
  });

  test('repeated timestamp text: every row of the round gets the same verdict (value, unparseable, out of range)', () => {
    const text = [
      'timestamp, index, temperature.gpu',
      '2025/01/01 00:00:00.000, 0, 40',
      '2025/01/01 00:00:00.000, 1, 41',
      'soon, 0, 42',
      'soon, 1, 43',
      '2300/01/01 00:00:00.000, 0, 44',
      '2300/01/01 00:00:00.000, 1, 45',
      '2025/01/01 00:00:01.000, 0, 46',
      '2025/01/01 00:00:01.000, 1, 47',
    ].join('\n');
    const { points, summary } = parseText(text, { fileName: 't.csv' });
    assert.deepEqual(
      points.map((p) => p.ts),
      ['1735689600000000000', '1735689600000000000', '1735689601000000000', '1735689601000000000'],
    );
    assert.deepEqual(
      summary.rejections.map((r) => [r.line, r.column, r.reason.slice(0, 24)]),
      [
        [4, 'timestamp', 'unparseable timestamp "s'],
        [5, 'timestamp', 'unparseable timestamp "s'],
        [6, 'timestamp', 'timestamp 2300-01-01T00:'],
        [7, 'timestamp', 'timestamp 2300-01-01T00:'],
      ],
    );
  });
});

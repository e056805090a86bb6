/**
 * logColumns over a log that holds both frame rows (cells by column name) and packed tensor rows
 * (`"@x": "float32:<base64>"`, spread over the input's columns): the columns hold the same value
 * for each row whatever order the rows come in, and keep the rows' order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logColumns, logColumnsYielding, type LoggedRow } from '../src/monitoring/log-columns.js';

/** Input `x` fills a, b, c; input `y` has no columns. */
const INPUT_COLUMNS = { x: ['a', 'b', 'c'] };

function packed(dtype: 'float32' | 'float64', values: readonly number[]): string {
  const data = dtype === 'float32' ? new Float32Array(values) : new Float64Array(values);
  return `${dtype}:${Buffer.from(data.buffer).toString('base64')}`;
}

/** A logged row and the value each column should hold for it. */
interface Case { readonly row: LoggedRow; readonly expected: Readonly<Record<string, unknown>> }

const NaN_ = Number.NaN;
const frame: Case = { row: { inputs: { a: 1, b: 2, c: 3, k: 'id-1' }, outputs: { p: 0.5 } }, expected: { a: 1, b: 2, c: 3, k: 'id-1', y: null, p: 0.5 } };
const tensor: Case = { row: { inputs: { '@x': packed('float32', [5, 6.5, -7]) }, outputs: { p: 0.25 } }, expected: { a: 5, b: 6.5, c: -7, k: null, y: null, p: 0.25 } };
const tensor64: Case = { row: { inputs: { '@x': packed('float64', [0.1, 0.2, 0.3]), k: 'id-2' }, outputs: { p: 1 } }, expected: { a: 0.1, b: 0.2, c: 0.3, k: 'id-2', y: null, p: 1 } };
/** A frame row that lacks c and holds b as null: both stay missing (NaN in the number column, never 0); numeric text is read as a number. */
const frameGaps: Case = { row: { inputs: { a: '4.5', b: null, k: 'id-3' }, outputs: { p: 0 } }, expected: { a: 4.5, b: NaN_, c: NaN_, k: 'id-3', y: null, p: 0 } };
/** A packed row of an input without columns: one column named after the input (one element → the element). */
const packedY: Case = { row: { inputs: { '@y': packed('float32', [9]) }, outputs: { p: 0.75 } }, expected: { a: NaN_, b: NaN_, c: NaN_, k: null, y: 9, p: 0.75 } };
const packedY2: Case = { row: { inputs: { '@y': packed('float32', [1, 2]), b: 8 }, outputs: {} }, expected: { a: NaN_, b: 8, c: NaN_, k: null, y: [1, 2], p: null } };

/** Every column of `columns` as a plain array, by name. */
function plain(columns: { inputs: Map<string, ArrayLike<unknown>>; outputs: Map<string, unknown[]> }): Record<string, unknown[]> {
  return Object.fromEntries([...columns.inputs, ...columns.outputs].map(([name, values]) => [name, Array.from(values)]));
}

/** The columns the cases should give, in their order (each column's value per row). */
function expectedColumns(cases: readonly Case[]): Record<string, unknown[]> {
  const names = new Set(cases.flatMap((c) => Object.keys(c.expected)));
  return Object.fromEntries([...names].map((name) => [name, cases.map((c) => c.expected[name])]));
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('logColumns with frame and packed tensor rows mixed', () => {
  it('keeps the frame row values whether the frame row or the tensor row comes first', () => {
    const frameFirst = logColumns([frame.row, tensor.row], INPUT_COLUMNS);
    assert.deepEqual(plain(frameFirst), { a: [1, 5], b: [2, 6.5], c: [3, -7], k: ['id-1', null], p: [0.5, 0.25] });
    const tensorFirst = logColumns([tensor.row, frame.row], INPUT_COLUMNS);
    assert.deepEqual(plain(tensorFirst), { a: [5, 1], b: [6.5, 2], c: [-7, 3], k: [null, 'id-1'], p: [0.25, 0.5] });
    // The spread columns are number columns either way.
    for (const name of ['a', 'b', 'c']) {
      assert.ok(frameFirst.inputs.get(name) instanceof Float64Array, `${name} (frame row first)`);
      assert.ok(tensorFirst.inputs.get(name) instanceof Float64Array, `${name} (tensor row first)`);
    }
  });

  it('gives every row its values in every order of frame rows (with gaps), packed rows and packed rows of an input without columns', async () => {
    const cases = [frame, tensor, frameGaps, packedY];
    for (const order of permutations(cases)) {
      const label = order.map((c) => cases.indexOf(c)).join('');
      const expected = expectedColumns(order);
      // y is absent as a column until a row holds it; here one does, so every column is there.
      assert.deepEqual(plain(logColumns(order.map((c) => c.row), INPUT_COLUMNS)), expected, `order ${label}`);
      assert.deepEqual(plain(await logColumnsYielding(order.map((c) => c.row), INPUT_COLUMNS)), expected, `order ${label} (yielding)`);
    }
  });

  it('keeps the order over longer runs: frame rows before, between and after float32 and float64 rows', () => {
    const cases = [frameGaps, frame, frame, tensor, frameGaps, tensor64, packedY2, frame, tensor, frameGaps, packedY];
    for (const order of [cases, cases.slice().reverse()]) {
      assert.deepEqual(plain(logColumns(order.map((c) => c.row), INPUT_COLUMNS)), expectedColumns(order));
    }
  });

  it('leaves logs of frame rows only as they were: cells as logged, missing ones null', () => {
    const rows = [frame.row, frameGaps.row];
    const columns = logColumns(rows, INPUT_COLUMNS);
    assert.deepEqual(plain(columns), { a: [1, '4.5'], b: [2, null], c: [3, null], k: ['id-1', 'id-3'], p: [0.5, 0] });
    assert.ok(Array.isArray(columns.inputs.get('a')));
  });
});

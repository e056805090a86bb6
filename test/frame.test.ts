/** The columnar Frame: typed number columns, validity masks, and tensors filled straight from them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ColumnFrame, numberColumn, takeRows, type FrameColumn } from '../src/core/frame.js';
import type { ModelSignature } from '../src/core/signature.js';
import { planInputs } from '../src/scoring/input-plan.js';
import { packTensors, validateRows } from '../src/scoring/tensorize.js';

const sig = (nullable: boolean): ModelSignature => ({ inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2], nullable }], outputs: [] });

describe('columnar Frame', () => {
  it('stores columns of numbers (and nulls) as typed arrays with a validity mask', () => {
    const f = ColumnFrame.fromRows([{ a: 1, b: 'x', c: 1 }, { a: 2.5, b: 'y', c: null }]);
    const a = f.vector('a');
    assert.equal(a?.kind, 'number');
    assert.deepEqual(a?.kind === 'number' ? [...a.values] : [], [1, 2.5]);
    assert.equal(a?.kind === 'number' ? a.valid : 'x', undefined);
    assert.equal(f.vector('b')?.kind, 'cells');
    const c = f.vector('c');
    assert.deepEqual(c?.kind === 'number' ? [...(c.valid ?? [])] : [], [1, 0]);
    assert.deepEqual(f.column('c'), [1, null], 'cells of a number column: null where missing');
  });

  it('reads only a row object\'s own properties, columns in the order they first appear', () => {
    const inherited = Object.assign(Object.create({ hidden: 1 }) as Record<string, unknown>, { b: 2, a: 1 });
    const f = ColumnFrame.fromRows([inherited, { c: 3, a: 4 }]);
    assert.deepEqual(f.columns, ['b', 'a', 'c']);
    assert.deepEqual(f.column('a'), [1, 4]);
    assert.deepEqual(f.column('c'), [null, 3]);
  });

  it('keeps a column with any text as cells (CSV "" and "007" are not numbers)', () => {
    const f = ColumnFrame.fromRecords(['k', 'v'], [['007', 1], ['', 2]]);
    assert.equal(f.vector('k')?.kind, 'cells');
    assert.equal(f.vector('v')?.kind, 'number');
  });

  it('takes rows column by column', () => {
    const f = new ColumnFrame(new Map<string, FrameColumn | string[]>([['a', numberColumn(new Float64Array([1, 2, 3]), new Uint8Array([1, 0, 1]))], ['b', ['x', 'y', 'z']]]), 3);
    const t = takeRows(f, [2, 1]);
    assert.deepEqual(t.column('a'), [3, null]);
    assert.deepEqual(t.column('b'), ['z', 'y']);
  });

  it('fills the input tensor from number columns and rejects missing values by row and column', () => {
    const f = new ColumnFrame(new Map<string, FrameColumn | string[]>([['a', numberColumn(new Float64Array([1, 2, 3]), new Uint8Array([1, 0, 1]))], ['b', numberColumn(new Float64Array([4, 5, Number.NaN]))]]), 3);
    const plan = planInputs(sig(false), f);
    const { valid, rejects, values } = validateRows(plan, f);
    assert.deepEqual(valid, [0]);
    assert.deepEqual(rejects.map((r) => [r.row, r.error.code]), [[1, 'FERRY_E_VALUE_MISSING'], [2, 'FERRY_E_VALUE_TYPE']]);
    assert.match(rejects[0]?.error.message ?? '', /Row 2, column "a"/);
    const t = packTensors(plan, values, valid, f.length).x;
    assert.deepEqual(t?.shape, [1, 2]);
    assert.deepEqual([...(t?.data as Float32Array)], [1, 4]);
  });

  it('gives NaN for a missing value of a nullable float input, and passes the buffer through when every row is valid', () => {
    const f = new ColumnFrame(new Map<string, FrameColumn | string[]>([['a', numberColumn(new Float64Array([1, 2]), new Uint8Array([1, 0]))], ['b', numberColumn(new Float64Array([3, 4]))]]), 2);
    const plan = planInputs(sig(true), f);
    const { valid, values } = validateRows(plan, f);
    const t = packTensors(plan, values, valid, f.length).x;
    assert.deepEqual([...(t?.data as Float32Array)], [1, 3, Number.NaN, 4]);
  });

  it('gives the same values as from cells for mixed columns', () => {
    const rows = [{ a: 1, b: '2' }, { a: 3, b: 'x' }];
    const f = ColumnFrame.fromRows(rows);
    const plan = planInputs(sig(false), f);
    const { valid, rejects, values } = validateRows(plan, f);
    assert.deepEqual(valid, [0]);
    assert.equal(rejects[0]?.error.code, 'FERRY_E_VALUE_TYPE');
    assert.deepEqual([...(packTensors(plan, values, valid, f.length).x?.data as Float32Array)], [1, 2]);
  });
});

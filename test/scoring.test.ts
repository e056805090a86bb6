/** The scoring core: mapping columns onto inputs, row validation, chunking, output shapes. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isFerryError, type ErrorCode } from '../src/core/errors.js';
import { ColumnFrame } from '../src/core/frame.js';
import type { ModelSignature } from '../src/core/signature.js';
import type { Tensor } from '../src/core/tensor.js';
import type { ModelVersion } from '../src/registry/types.js';
import type { ModelRuntime } from '../src/runtimes/model-runtime.js';
import { onnxRuntime } from '../src/runtimes/onnx/onnx-runtime.js';
import { planInputs } from '../src/scoring/input-plan.js';
import { Scorer, type LoadedModel } from '../src/scoring/scorer.js';

const scorer = new Scorer();
const score = scorer.frame.bind(scorer);
import { fixture } from './helpers/fixtures.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const sig = (inputs: ModelSignature['inputs'], outputs: ModelSignature['outputs'] = [{ name: 'y', dtype: 'float32', shape: [-1] }]): ModelSignature => ({ inputs, outputs });
const frame = (rows: Record<string, unknown>[]) => ColumnFrame.fromRows(rows);
const code = (c: ErrorCode, re?: RegExp) => (e: unknown) => isFerryError(e, c) && (!re || re.test(e.message));

function versionOf(signature: ModelSignature): ModelVersion {
  return {
    model: 'm', version: 1, digest: 'sha256:x', size: 0, format: 'test', signature, metrics: {}, params: {}, tags: {}, lineage: {},
    description: '', createdBy: 't', createdAt: '', archivedAt: null, aliases: [],
  };
}

/** A runtime that sums each row's inputs and records the batch sizes it was given. */
class SumRuntime implements ModelRuntime {
  readonly format = 'test';
  readonly batches: number[] = [];
  constructor(private readonly sig: ModelSignature) {}
  signature() { return this.sig; }
  predict(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const x = Object.values(inputs)[0]!;
    const n = x.shape[0]!;
    const w = x.data.length / n;
    this.batches.push(n);
    const y = new Float32Array(n);
    for (let r = 0; r < n; r++) for (let j = 0; j < w; j++) y[r]! += Number((x.data as Float32Array)[r * w + j]);
    return Promise.resolve({ y: { dtype: 'float32', shape: [n], data: y } });
  }
  close() { return Promise.resolve(); }
}

describe('input mapping', () => {
  const one = sig([{ name: 'x', dtype: 'float32', shape: [-1, 3] }]);

  it('fills a single input from the columns in order, leaving keys out', () => {
    const plan = planInputs(one, frame([{ id: 1, a: 1, b: 2, c: 3 }]), { ignore: ['id'] });
    assert.deepEqual(plan.bindings[0]?.source, { kind: 'columns', columns: ['a', 'b', 'c'] });
  });
  it('uses stored column names, whatever the data order', () => {
    const named = sig([{ name: 'x', dtype: 'float32', shape: [-1, 3], columns: ['c', 'a', 'b'] }]);
    const plan = planInputs(named, frame([{ a: 1, b: 2, c: 3 }]));
    assert.deepEqual(plan.bindings[0]?.source, { kind: 'columns', columns: ['c', 'a', 'b'] });
  });
  it('takes a whole row under the input name', () => {
    const plan = planInputs(one, frame([{ x: [1, 2, 3] }]));
    assert.deepEqual(plan.bindings[0]?.source, { kind: 'cell', column: 'x' });
  });
  it('names what is wrong: width, missing, extra, unmapped, unknown input', () => {
    assert.throws(() => planInputs(one, frame([{ a: 1, b: 2 }])), code('FERRY_E_TENSOR_SHAPE', /expects 3 value\(s\) per row \(shape \[N, 3\]\) but got 2 column\(s\)/));
    const named = sig([{ name: 'x', dtype: 'float32', shape: [-1, 2], columns: ['a', 'b'] }]);
    assert.throws(() => planInputs(named, frame([{ a: 1 }])), code('FERRY_E_COLUMN_MISSING', /"b"/));
    assert.throws(() => planInputs(named, frame([{ a: 1, b: 2, zz: 3 }]), { strictColumns: true }), code('FERRY_E_COLUMN_UNEXPECTED', /"zz"/));
    assert.deepEqual(planInputs(named, frame([{ a: 1, b: 2, zz: 3 }])).unused, ['zz'], 'unused columns are ignored by default');
    const two = sig([{ name: 'p', dtype: 'float32', shape: [-1, 1] }, { name: 'q', dtype: 'int64', shape: [-1, 1] }]);
    assert.throws(() => planInputs(two, frame([{ a: 1, b: 2 }])), code('FERRY_E_INPUT_MAPPING_REQUIRED', /"p", "q"/));
    assert.throws(() => planInputs(two, frame([{ a: 1, b: 2 }]), { inputColumns: { r: ['a'] } }), code('FERRY_E_INPUT_MAPPING_INVALID', /no input "r"/));
    assert.throws(() => planInputs(one, frame([{ a: 1, b: 2, c: 3 }]), { ignore: ['id'] }), code('FERRY_E_COLUMN_MISSING', /"id"/));
  });
  it('maps several inputs by name when columns carry the input names', () => {
    const two = sig([{ name: 'p', dtype: 'float32', shape: [-1, 1] }, { name: 'q', dtype: 'int64', shape: [-1, 1] }]);
    const plan = planInputs(two, frame([{ p: 1.5, q: 2 }]));
    assert.deepEqual(plan.bindings.map((b) => b.source), [{ kind: 'cell', column: 'p' }, { kind: 'cell', column: 'q' }]);
  });
});

describe('row validation', () => {
  const typed = sig([
    { name: 'f', dtype: 'float32', shape: [-1, 1] },
    { name: 'i', dtype: 'int8', shape: [-1, 1] },
    { name: 'b', dtype: 'bool', shape: [-1, 1] },
    { name: 's', dtype: 'string', shape: [-1, 1] },
  ], [{ name: 'y', dtype: 'float32', shape: [-1] }]);
  const model = (s: ModelSignature): LoadedModel => ({ version: versionOf(s), runtime: new SumRuntime(s) });

  it('accepts numbers from CSV text and JSON alike, rejects the rest row by row', async () => {
    const rows = [
      { f: '1.5', i: '3', b: 'true', s: 'x' },      // ok
      { f: 2, i: 4, b: false, s: 'y' },             // ok
      { f: '0x1F', i: 1, b: 1, s: 'z' },            // hex is not a decimal number
      { f: 1, i: 300, b: 1, s: 'z' },               // out of int8 range
      { f: 1, i: 1, b: 'maybe', s: 'z' },           // not a boolean
      { f: '', i: 1, b: 1, s: 'z' },                // missing
      { f: 1, i: 1.5, b: 1, s: 'z' },               // not an integer
      { f: true, i: 1, b: 1, s: 'z' },              // boolean for a number
    ];
    const result = await score(model(typed), frame(rows), { inputColumns: { f: ['f'], i: ['i'], b: ['b'], s: ['s'] } });
    assert.deepEqual(result.rows, [0, 1]);
    assert.deepEqual(result.rejects.map((r) => [r.row, r.error.code, r.error.params.column]), [
      [2, 'FERRY_E_VALUE_TYPE', 'f'], [3, 'FERRY_E_VALUE_TYPE', 'i'], [4, 'FERRY_E_VALUE_TYPE', 'b'],
      [5, 'FERRY_E_VALUE_MISSING', 'f'], [6, 'FERRY_E_VALUE_TYPE', 'i'], [7, 'FERRY_E_VALUE_TYPE', 'f'],
    ]);
  });
  it('nullable float inputs turn empty cells into NaN instead of rejecting', async () => {
    const s = sig([{ name: 'x', dtype: 'float32', shape: [-1, 2], nullable: true }]);
    const result = await score(model(s), frame([{ a: '', b: 1 }, { a: 'NaN', b: 2 }]));
    assert.equal(result.rejects.length, 0);
    assert.deepEqual(result.outputs[0]?.values, [null, null], 'NaN sums come back as null in JSON');
  });
  it('a row whose whole-input cell has the wrong width is rejected alone', async () => {
    const s = sig([{ name: 'x', dtype: 'float32', shape: [-1, 3] }]);
    const result = await score(model(s), frame([{ x: [1, 2, 3] }, { x: [1, 2] }, { x: [[1], [2], [3]] }]));
    assert.deepEqual(result.rows, [0, 2]);
    assert.deepEqual(result.outputs[0]?.values, [6, 6]);
    assert.equal(result.rejects[0]?.error.code, 'FERRY_E_TENSOR_SHAPE');
  });
  it('a bad value inside a whole-input cell names its element (and its column when the signature maps one)', async () => {
    const rows = [{ x: [1, 2, 3] }, { x: [1, 'two', 3] }, { x: [1, 2, null] }];
    const plain = await score(model(sig([{ name: 'x', dtype: 'float32', shape: [-1, 3] }])), frame(rows));
    assert.deepEqual(plain.rejects.map((r) => [r.row, r.error.code, r.error.params.column]), [[1, 'FERRY_E_VALUE_TYPE', 'x[1]'], [2, 'FERRY_E_VALUE_MISSING', 'x[2]']]);
    const mapped = await score(model(sig([{ name: 'x', dtype: 'float32', shape: [-1, 3], columns: ['a', 'b', 'c'] }])), frame(rows));
    assert.deepEqual(mapped.rejects.map((r) => r.error.message), [
      'Row 2, column "x[1] (b)": expected a number (float32) but got text.',
      'Row 3, column "x[2] (c)": a value is required (a number (float32)) but the cell is empty.',
    ]);
  });
  it('a one-value input takes a plain cell or a one-element list, and rejects a longer list or a NaN number', async () => {
    const s = sig([{ name: 'x', dtype: 'float64', shape: [-1] }]);
    const result = await score(model(s), frame([{ x: '7' }, { x: [8] }, { x: [1, 2] }, { x: 9.5 }, { x: Number.NaN }]));
    assert.deepEqual(result.rows, [0, 1, 3]);
    assert.deepEqual(result.outputs[0]?.values, [7, 8, 9.5]);
    assert.deepEqual(result.rejects.map((r) => [r.row, r.error.code]), [[2, 'FERRY_E_TENSOR_SHAPE'], [4, 'FERRY_E_VALUE_TYPE']]);
  });
});

describe('scoring', () => {
  it('runs models with a fixed batch size in chunks, padding the last', async () => {
    const s = sig([{ name: 'x', dtype: 'float32', shape: [3, 2] }]);
    const runtime = new SumRuntime(s);
    const rows = Array.from({ length: 7 }, (_, i) => ({ a: i, b: 10 }));
    const result = await score({ version: versionOf(s), runtime }, frame(rows));
    assert.deepEqual(runtime.batches, [3, 3, 3]);
    assert.deepEqual(result.outputs[0]?.values, rows.map((r) => r.a + 10));
  });
  it('refuses unknown outputs', async () => {
    const s = sig([{ name: 'x', dtype: 'float32', shape: [-1, 1] }]);
    await assert.rejects(score({ version: versionOf(s), runtime: new SumRuntime(s) }, frame([{ a: 1 }]), { outputs: ['z'] }), code('FERRY_E_OUTPUT_UNKNOWN', /"y"/));
  });
  it('gives scalars for one value per row and arrays otherwise (real ONNX model)', async () => {
    const f = fixture('digits_cnn');
    const runtime = await loadArtifact(onnxRuntime, readFileSync(f.model), {}, f.name);
    try {
      const lines = readFileSync(f.input, 'utf8').trim().split('\n');
      const header = lines[0]!.split(',');
      const rows = lines.slice(1, 4).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i]!, v])));
      const result = await score({ version: versionOf(runtime.signature()), runtime }, frame(rows), { ignore: ['id'] });
      const label = result.outputs.find((o) => o.name === 'label')!;
      const logits = result.outputs.find((o) => o.name === 'logits')!;
      assert.deepEqual(label.values, f.expected.outputs.label!.slice(0, 3));
      assert.deepEqual(logits.rowShape, [10]);
      assert.equal((logits.values[0] as number[]).length, 10);
    } finally {
      await runtime.close();
    }
  });
});

/**
 * The sampling fallback on an ONNX model whose exact Shapley values are known: the diabetes
 * regressor is linear (StandardScaler + Ridge), so against a background set B the values are
 * wⱼ · (xⱼ − mean_B xⱼ). The estimate must lie within its stated error, and a row gets the same
 * numbers whatever batch it is in.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import type { ModelSignature } from '../src/core/signature.js';
import { explainerFor } from '../src/explain/explainers.js';
import { explanationsOf } from '../src/explain/explanation.js';
import { onnxRuntime } from '../src/runtimes/onnx/onnx-runtime.js';
import { FIXTURES } from './helpers/env.js';
import { readMatrix } from './helpers/matrix.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const DIR = join(FIXTURES, 'diabetes_regressor');

describe('sampled Shapley values (ONNX fallback)', () => {
  it('a linear ONNX model: within the stated error of the exact values, labelled approximate', async () => {
    const runtime = await loadArtifact(onnxRuntime, readFileSync(join(DIR, 'model.onnx')), {}, 'diabetes');
    const { columns, rows, x } = readMatrix(join(DIR, 'input.csv'));
    const F = columns.length;
    const signature: ModelSignature = { ...runtime.signature(), inputs: [{ ...runtime.signature().inputs[0]!, columns }] };
    const half = Math.floor(rows / 2);
    const background = new Map(columns.map((c, j) => [c, Float64Array.from({ length: half }, (_, r) => x[r * F + j]!)]));
    const { numeric, names } = await explainerFor(runtime, signature, 'diabetes', { background, pairs: 64 });
    assert.ok(numeric);
    const { explainer, matrix } = numeric;
    assert.equal(explainer.method, 'sampling');
    assert.deepEqual(names, columns);
    const n = 6;
    const rowsX = x.slice(half * F, (half + n) * F);
    const { x: xm, rows: got } = matrix({ input: { dtype: 'float32', shape: [n, F], data: Float32Array.from(rowsX) } });
    assert.equal(got, n);
    const a = await explainer.explain(xm, n);
    assert.equal(a.approximate, true);
    // Exact: the weights by finite differences (the model is linear), the background means.
    const score = async (v: Float64Array, k: number): Promise<Float64Array> => Float64Array.from((await runtime.predict({ input: { dtype: 'float32', shape: [k, F], data: Float32Array.from(v) } })).variable!.data as Float32Array);
    const zero = await score(new Float64Array(F), 1);
    const unit = new Float64Array(F * F);
    for (let j = 0; j < F; j++) unit[j * F + j] = 1;
    const ones = await score(unit, F);
    const w = Float64Array.from(ones, (v) => v - zero[0]!);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < F; j++) {
        const mean = background.get(columns[j]!)!.reduce((s, v) => s + v, 0) / half;
        const exact = w[j]! * (xm[r * F + j]! - mean);
        const err = a.error![r * F + j]!;
        assert.ok(Math.abs(a.values[r * F + j]! - exact) <= 4 * err + 1e-3 * Math.max(1, Math.abs(exact)), `row ${r} feature ${j}: ${a.values[r * F + j]} vs exact ${exact} (error ${err})`);
      }
    }
    const [first] = explanationsOf(a, names, { topK: 3 });
    assert.equal(first!.approximate, true);
    assert.equal(first!.top_k!.length, 3);
    assert.ok(first!.error && typeof first!.error.age === 'number');
    // The same row alone gives the same numbers (the generator is seeded by the row's values).
    const alone = await explainer.explain(xm.slice(2 * F, 3 * F), 1);
    for (let j = 0; j < F; j++) assert.equal(alone.values[j], a.values[2 * F + j]);
    await runtime.close();
  });

  it('a tensor input registered without a column mapping takes its feature names from the profile\'s mapping', async () => {
    const runtime = await loadArtifact(onnxRuntime, readFileSync(join(DIR, 'model.onnx')), {}, 'diabetes');
    const { columns, rows, x } = readMatrix(join(DIR, 'input.csv'));
    const F = columns.length;
    const background = new Map(columns.map((c, j) => [c, Float64Array.from({ length: rows }, (_, r) => x[r * F + j]!)]));
    const signature = runtime.signature();
    assert.equal(signature.inputs[0]!.columns, undefined, 'no saved mapping');
    // Before: names were input_0…, which the profile's background does not have.
    await assert.rejects(explainerFor(runtime, signature, 'diabetes', { background }), (e) => isFerryError(e, 'FERRY_E_EXPLAIN_BACKGROUND') && /no column "input_0"/.test(e.message));
    const { names } = await explainerFor(runtime, signature, 'diabetes', { background, columns: { input: columns }, pairs: 8 });
    assert.deepEqual(names, columns);
    await runtime.close();
  });

  it('without background rows: FERRY_E_EXPLAIN_BACKGROUND', async () => {
    const runtime = await loadArtifact(onnxRuntime, readFileSync(join(DIR, 'model.onnx')), {}, 'diabetes');
    await assert.rejects(explainerFor(runtime, runtime.signature(), 'diabetes'), (e) => isFerryError(e, 'FERRY_E_EXPLAIN_BACKGROUND'));
    await runtime.close();
  });
});

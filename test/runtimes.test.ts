/**
 * Every runtime in the catalog runs the shared contract (runtime.suite.ts). A runtime added to
 * the catalog's table without a line here fails the first test: the line names a model of its
 * format with the reference's outputs, and a damaged file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Tensor } from '../src/core/tensor.js';
import { builtinRuntimes } from '../src/runtimes/catalog.js';
import { lightgbmRuntime } from '../src/runtimes/lightgbm/lightgbm-runtime.js';
import { onnxRuntime } from '../src/runtimes/onnx/onnx-runtime.js';
import { pmmlRuntime } from '../src/runtimes/pmml/pmml-runtime.js';
import { sklearnRuntime } from '../src/runtimes/sklearn/sklearn-runtime.js';
import { xgboostRuntime } from '../src/runtimes/xgboost/xgboost-runtime.js';
import { ROOT } from './helpers/env.js';
import { runtimeSuite, type RuntimeSpec } from './runtime.suite.js';

const ROWS = 20;
const file = (path: string): Buffer => readFileSync(join(ROOT, 'fixtures', path));
const json = <T>(path: string): T => JSON.parse(file(path).toString('utf8')) as T;
/** The first bytes of a file: a download cut short. */
const cut = (path: string): Uint8Array => { const b = file(path); return b.subarray(0, Math.floor(b.length / 2)); };

/** The first ROWS rows of a fixture CSV (after its id column, when it has one) as one [rows, features] tensor. */
function features(path: string, dtype: 'float32' | 'float64', idColumn = true): Tensor {
  const lines = file(path).toString('utf8').trim().split('\n').slice(1, ROWS + 1);
  const cells = lines.flatMap((l) => l.split(',').slice(idColumn ? 1 : 0).map((c) => (c === '' ? Number.NaN : Number(c))));
  const width = cells.length / lines.length;
  return { dtype, shape: [lines.length, width], data: dtype === 'float32' ? Float32Array.from(cells) : Float64Array.from(cells) };
}

const firstRows = <T>(values: readonly T[]): T[] => values.slice(0, ROWS);

/** One line per runtime in the catalog. */
const SPECS: Readonly<Record<string, RuntimeSpec>> = {
  // scikit-learn's MLPClassifier, exported by hand to ONNX; expected = sklearn's predict / predict_proba.
  onnx: {
    factory: onnxRuntime,
    reference: () => {
      const e = json<{ outputs: { label: number[]; probabilities: number[][] } }>('models/breast_mlp/expected.json');
      return {
        label: 'breast_mlp', artifact: file('models/breast_mlp/model.onnx'), inputs: { input: features('models/breast_mlp/input.csv', 'float32') },
        expected: { label: firstRows(e.outputs.label), probabilities: firstRows(e.outputs.probabilities).flat() }, tolerance: 1e-4,
      };
    },
    damaged: () => cut('models/breast_mlp/model.onnx'),
  },
  // xgboost 1.7.4's own predict_proba on the saved model.
  xgboost: {
    factory: xgboostRuntime,
    reference: () => {
      const e = json<{ probabilities: number[][]; label: number[] }>('xgboost/breast_bench/expected.json');
      return {
        label: 'breast_bench', artifact: file('xgboost/breast_bench/model.json'), inputs: { input: features('xgboost/breast_bench/input.csv', 'float32') },
        expected: { probabilities: firstRows(e.probabilities).flat(), label: firstRows(e.label) }, tolerance: 1e-6,
      };
    },
    damaged: () => cut('xgboost/breast_bench/model.json'),
  },
  // LightGBM's own predictions, written with the model (scripts/fixtures).
  lightgbm: {
    factory: lightgbmRuntime,
    reference: () => {
      const e = json<{ probabilities: number[][]; label: number[] }>('lightgbm/binary_plain/expected.json');
      return {
        label: 'binary_plain', artifact: file('lightgbm/binary_plain/model.txt'), inputs: { input: features('lightgbm/binary_plain/input.csv', 'float64') },
        expected: { probabilities: firstRows(e.probabilities).flat(), label: firstRows(e.label) }, tolerance: 1e-9,
      };
    },
    damaged: () => cut('lightgbm/binary_plain/model.txt'),
  },
  // Values derived by hand (fixtures/pmml/README.md, hand-transforms), with text and missing inputs.
  pmml: {
    factory: pmmlRuntime,
    reference: () => ({
      label: 'hand-transforms', artifact: file('pmml/cases/hand-transforms/model.pmml'),
      inputs: {
        x: { dtype: 'float64', shape: [4], data: Float64Array.from([10, 150, Number.NaN, 40]) },
        y: { dtype: 'float64', shape: [4], data: Float64Array.from([4, 12, 2, 1]) },
        color: { dtype: 'string', shape: [4], data: ['red', 'blue', null, 'purple'] as unknown as string[] },
      },
      expected: { score: [14, 48, 17, 14], x_bin_out: ['low', 'high', 'mid', 'mid'] }, tolerance: 1e-12,
    }),
    damaged: () => cut('pmml/forest.pmml'),
  },
  // scikit-learn 1.2.1's own predict / predict_proba on the pickled estimator.
  sklearn: {
    factory: sklearnRuntime,
    reference: () => {
      const e = json<{ probabilities: number[][]; label: string[] }>('sklearn/rf_breast/expected.json');
      return {
        label: 'rf_breast', artifact: file('sklearn/rf_breast/model.joblib'), inputs: { input: features('sklearn/rf_breast/input.csv', 'float64', false) },
        expected: { probabilities: firstRows(e.probabilities).flat(), label: firstRows(e.label) }, tolerance: 1e-9,
      };
    },
    damaged: () => cut('sklearn/rf_breast/model.joblib'),
  },
};

describe('runtime catalog', () => {
  it('every runtime in the catalog runs the shared contract', () => {
    for (const factory of builtinRuntimes) assert.ok(SPECS[factory.format], `runtime "${factory.format}" has no line in test/runtimes.test.ts`);
  });
});

for (const spec of Object.values(SPECS)) runtimeSuite(spec);

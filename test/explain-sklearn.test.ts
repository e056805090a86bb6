/**
 * TreeSHAP on scikit-learn tree models (pickles translated by the sklearn runtime): additive to
 * the model's own margins on every tree fixture, equal to brute-force Shapley values when the
 * model has ≤ 10 features, and absent where features are no longer the inputs (encoders). Linear
 * models with affine steps (scalers, an imputer): each contribution equals the change of the
 * model's own decision value when that input moves from its mean to the row's value.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LinearExplainer } from '../src/explain/linear-explainer.js';
import { TreeExplainer } from '../src/explain/tree-explainer.js';
import { sklearnRuntime } from '../src/runtimes/sklearn/sklearn-runtime.js';
import { ROOT } from './helpers/env.js';
import { assertAdditive, assertBruteForce } from './helpers/shapley.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const DIR = join(ROOT, 'fixtures/sklearn');
const TREES = /^(dt|rf|et|extratree|gb|hgb)_/;
const fixtures = readdirSync(DIR).filter((n) => TREES.test(n) && existsSync(join(DIR, n, 'expected.json'))).sort();

/** input.csv (no id column; empty = missing) as a row-major matrix. */
function readRows(name: string): { rows: number; x: Float64Array } {
  const [head, ...lines] = readFileSync(join(DIR, name, 'input.csv'), 'utf8').trim().split(/\r?\n/);
  const width = head!.split(',').length;
  const x = new Float64Array(lines.length * width);
  lines.forEach((l, r) => l.split(',').forEach((c, j) => (x[r * width + j] = c === '' ? Number.NaN : Number(c))));
  return { rows: lines.length, x };
}

describe('TreeSHAP on scikit-learn tree models', () => {
  for (const name of fixtures) {
    it(`${name}: additive, and equal to brute force when ≤ 10 features`, async () => {
      const runtime = await loadArtifact(sklearnRuntime, readFileSync(join(DIR, name, 'model.joblib')), {}, name);
      const s = await runtime.structure?.();
      assert.ok(s?.kind === 'trees', 'a tree structure');
      const { rows, x } = readRows(name);
      const a = await new TreeExplainer(s, name).explain(x, rows);
      assertAdditive(s, a, rows);
      if (s.numFeature <= 10) assertBruteForce(s, a, x, Math.min(rows, 4));
    });
  }

  it('a forest\'s margins are its predict_proba: the explained scores equal the served probabilities', async () => {
    const runtime = await loadArtifact(sklearnRuntime, readFileSync(join(DIR, 'rf_breast', 'model.joblib')), {}, 'rf_breast');
    const s = await runtime.structure!();
    assert.ok(s?.kind === 'trees');
    const { rows, x } = readRows('rf_breast');
    const a = await new TreeExplainer(s, 'rf_breast').explain(x, rows);
    const out = await runtime.predict({ input: { dtype: 'float64', shape: [rows, s.numFeature], data: x } });
    const p = out.probabilities!.data as Float64Array;
    for (let i = 0; i < p.length; i++) assert.ok(Math.abs(a.scores[i]! - p[i]!) <= 1e-12, `value ${i}`);
  });

  it('models whose features are no longer the inputs (a ColumnTransformer with encoders) have no tree form', async () => {
    const runtime = await loadArtifact(sklearnRuntime, readFileSync(join(DIR, 'ct_onehot_drop_rf', 'model.joblib')), {}, 'ct');
    assert.equal(await runtime.structure?.(), undefined);
  });
});

const LINEAR = ['linreg_diabetes', 'ridge_diabetes', 'lasso_diabetes', 'enet_diabetes', 'logreg_breast', 'logreg_iris', 'logreg_ovr_wine',
  'pipe_robust_maxabs_sgd_wine', 'pipe_scaler_logreg_breast', 'sgd_hinge_breast', 'sgdreg_pipe_diabetes'];

describe('linear attributions on scikit-learn linear models', () => {
  for (const name of LINEAR) {
    it(`${name}: wⱼ·(xⱼ − E[xⱼ]) equals the model's own decision change per input; additive`, async () => {
      const runtime = await loadArtifact(sklearnRuntime, readFileSync(join(DIR, name, 'model.joblib')), {}, name);
      const s = await runtime.structure?.();
      assert.ok(s?.kind === 'linear', 'a linear structure');
      const { rows, x } = readRows(name);
      const F = s.numFeature;
      const G = s.numGroup;
      const means = Array.from({ length: F }, (_, j) => {
        let sum = 0;
        let n = 0;
        for (let r = 0; r < rows; r++) if (!Number.isNaN(x[r * F + j]!)) { sum += x[r * F + j]!; n++; }
        return n > 0 ? sum / n : 0;
      });
      const a = await new LinearExplainer(s, means, name).explain(x, rows);
      for (let r = 0; r < rows; r++) {
        const scale = Math.max(1, ...Array.from({ length: G }, (_, g) => Math.abs(a.scores[r * G + g]!)));
        assert.ok(Math.abs(a.residual[r]!) <= 1e-9 * scale, `row ${r}: residual ${a.residual[r]}`);
      }
      for (let r = 0; r < Math.min(rows, 3); r++) {
        for (let j = 0; j < F; j++) {
          if (Number.isNaN(x[r * F + j]!)) continue;
          const moved = x.slice(r * F, (r + 1) * F);
          moved[j] = means[j]!;
          const here = s.margins(x.slice(r * F, (r + 1) * F), 1);
          const there = s.margins(moved, 1);
          for (let g = 0; g < G; g++) {
            const want = here[g]! - there[g]!;
            const got = a.values[(r * G + g) * F + j]!;
            assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(here[g]!)), `row ${r} output ${g} feature ${j}: ${got} vs ${want}`);
          }
        }
      }
    });
  }

  it('a clipping MinMaxScaler is not affine: no linear structure (sampling explains it)', async () => {
    const runtime = await loadArtifact(sklearnRuntime, readFileSync(join(DIR, 'pipe_impute_minmax_ridge', 'model.joblib')), {}, 'clip');
    assert.equal(await runtime.structure?.(), undefined);
  });

  it('probability space of a logistic regression adds up to its predict_proba', async () => {
    const runtime = await loadArtifact(sklearnRuntime, readFileSync(join(DIR, 'pipe_scaler_logreg_breast', 'model.joblib')), {}, 'lr');
    const s = await runtime.structure!();
    assert.ok(s?.kind === 'linear');
    const { rows, x } = readRows('pipe_scaler_logreg_breast');
    const a = await new LinearExplainer(s, undefined, 'lr').explain(x, rows, { space: 'probability' });
    const p = (await runtime.predict({ input: { dtype: 'float64', shape: [rows, s.numFeature], data: x } })).probabilities!.data as Float64Array;
    const K = p.length / rows;
    for (let r = 0; r < rows; r++) {
      const sum = a.base[0]! + Array.from({ length: s.numFeature }, (_, j) => a.values[r * s.numFeature + j]!).reduce((u, v) => u + v, 0);
      const want = K === 2 ? p[r * 2 + 1]! : p[r * K]!;
      assert.ok(Math.abs(sum - want) <= 1e-9, `row ${r}: ${sum} vs ${want}`);
    }
  });
});

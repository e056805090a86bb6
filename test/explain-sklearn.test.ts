/**
 * TreeSHAP on scikit-learn tree models (pickles translated by the sklearn runtime): additive to
 * the model's own margins on every tree fixture, equal to brute-force Shapley values when the
 * model has ≤ 10 features, and absent where features are no longer the inputs (encoders).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TreeExplainer } from '../src/explain/tree-explainer.js';
import { sklearnRuntime } from '../src/runtimes/sklearn/sklearn-runtime.js';
import { ROOT } from './helpers/env.js';
import { assertAdditive, assertBruteForce } from './helpers/shapley.js';

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
      const runtime = await sklearnRuntime.load(readFileSync(join(DIR, name, 'model.joblib')), {}, name);
      const s = await runtime.structure?.();
      assert.ok(s?.kind === 'trees', 'a tree structure');
      const { rows, x } = readRows(name);
      const a = await new TreeExplainer(s, name).explain(x, rows);
      assertAdditive(s, a, rows);
      if (s.numFeature <= 10) assertBruteForce(s, a, x, Math.min(rows, 4));
    });
  }

  it('a forest\'s margins are its predict_proba: the explained scores equal the served probabilities', async () => {
    const runtime = await sklearnRuntime.load(readFileSync(join(DIR, 'rf_breast', 'model.joblib')), {}, 'rf_breast');
    const s = await runtime.structure!();
    assert.ok(s?.kind === 'trees');
    const { rows, x } = readRows('rf_breast');
    const a = await new TreeExplainer(s, 'rf_breast').explain(x, rows);
    const out = await runtime.predict({ input: { dtype: 'float64', shape: [rows, s.numFeature], data: x } });
    const p = out.probabilities!.data as Float64Array;
    for (let i = 0; i < p.length; i++) assert.ok(Math.abs(a.scores[i]! - p[i]!) <= 1e-12, `value ${i}`);
  });

  it('models whose features are no longer the inputs (a ColumnTransformer with encoders) have no tree form', async () => {
    const runtime = await sklearnRuntime.load(readFileSync(join(DIR, 'ct_onehot_drop_rf', 'model.joblib')), {}, 'ct');
    assert.equal(await runtime.structure?.(), undefined);
  });
});

/**
 * `ferry export --target node` of scikit-learn models (registered from pickles): the package,
 * copied outside the project, reproduces scikit-learn's own outputs (the fixtures' expected.json)
 * for each estimator family — linear, trees, a ColumnTransformer with text columns, k-nearest
 * neighbours, an MLP, kernel SVMs, and wrapped LightGBM / XGBoost boosters — and ships only the evaluator code
 * its model reaches.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { registerModels, runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';

/** Fixture → the largest difference allowed against scikit-learn (XGBoost scores in float32, as xgboost does). */
const CASES: Record<string, number> = {
  logreg_breast: 1e-9, rf_diabetes: 1e-9, ct_onehot_drop_rf: 1e-9, hgb_missing_split: 1e-9,
  knn_wine: 1e-9, mlp_iris: 1e-9, lgbm_binary_wrapper: 1e-9, xgb_iris: 1e-6, svc_rbf_iris: 1e-9, svr_rbf_diabetes: 1e-9,
};

/** CSV rows as an application passes them: numbers, text, and null for empty cells. */
function csvObjects(path: string): Record<string, unknown>[] {
  const [head = '', ...lines] = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const header = head.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i]!, v === '' ? null : Number.isNaN(Number(v)) ? v : Number(v)])));
}

describe('ferry export --target node: scikit-learn', () => {
  const tmp = tempDir('ferry-edge-sk-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  after(() => tmp.cleanup());
  before(() => registerModels(Object.keys(CASES).map((name) => ({ name, path: join(ROOT, 'fixtures/sklearn', name, 'model.joblib') })), env));

  for (const [name, tolerance] of Object.entries(CASES)) {
    it(`${name}: the package, outside the project, gives scikit-learn's outputs`, async () => {
      const dir = join(ROOT, 'fixtures/sklearn', name);
      const out = join(tmp.dir, 'exports', name);
      const exp = await runCli(['export', name, '--target', 'node', '--out', out, '--sample', join(dir, 'input.csv'), '--json'], env);
      assert.equal(exp.code, 0, exp.stderr);
      const report = JSON.parse(exp.stdout) as { parity: { ok: boolean; rows: number } };
      assert.equal(report.parity.ok, true);
      const away = join(tempDir('ferry-edge-sk-away-').dir, 'pkg');
      cpSync(out, away, { recursive: true });
      const mod = (await import(pathToFileURL(join(away, 'index.js')).href)) as { predict: (rows: unknown[]) => Promise<Record<string, unknown>[]> };
      const got = await mod.predict(csvObjects(join(dir, 'input.csv')));
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { label?: unknown[]; probabilities?: number[][]; prediction?: number[] };
      assert.ok(got.length > 0);
      got.forEach((row, i) => {
        if (expected.label) assert.deepEqual(row.label, expected.label[i], `row ${i + 1} label`);
        if (expected.prediction) assert.ok(Math.abs((row.prediction as number) - expected.prediction[i]!) <= tolerance * Math.max(1, Math.abs(expected.prediction[i]!)), `row ${i + 1}: ${String(row.prediction)} vs ${expected.prediction[i]}`);
        expected.probabilities?.[i]?.forEach((p, k) => assert.ok(Math.abs((row.probabilities as number[])[k]! - p) <= tolerance, `row ${i + 1} probability ${k}`));
      });
    });
  }

  it('a package carries only the evaluators its model reaches (no XGBoost for a linear model, no column transformer without one)', () => {
    const code = (name: string) => readFileSync(join(tmp.dir, 'exports', name, 'index.js'), 'utf8');
    const [linear, booster, columns] = [code('logreg_breast'), code('xgb_iris'), code('ct_onehot_drop_rf')];
    // xgboost's objective table is in the XGBoost evaluator only.
    assert.ok(booster.includes('reg:squarederror'), 'the wrapped XGBoost model carries the XGBoost evaluator');
    assert.ok(!linear.includes('reg:squarederror') && !columns.includes('reg:squarederror'), 'the others do not');
    assert.ok(linear.includes('exported without the column-transformer steps'), 'a model without a ColumnTransformer has its stand-in');
    assert.ok(!columns.includes('exported without the column-transformer steps'), 'a model with one carries the real code');
    assert.ok(linear.length + 10_000 < booster.length, `${linear.length} vs ${booster.length} bytes`);
    assert.ok(code('knn_wine').includes('exported without the SVM evaluator') && !code('svc_rbf_iris').includes('exported without the SVM evaluator'), 'the SVM evaluator goes with SVMs only');
  });
});

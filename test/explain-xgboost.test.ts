/**
 * TreeSHAP on XGBoost models: equal to xgboost 1.7.4's own `pred_contribs=True` on every tree
 * fixture (scripts/fixtures/xgboost_contribs.py wrote them), to a brute-force Shapley computation
 * on the small ones, and additive (base + Σ = the runtime's margin) everywhere.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TreeExplainer } from '../src/explain/tree-explainer.js';
import type { TreeStructure } from '../src/runtimes/model-structure.js';
import { xgboostRuntime } from '../src/runtimes/xgboost/xgboost-runtime.js';
import { ROOT } from './helpers/env.js';
import { readMatrix } from './helpers/matrix.js';
import { assertBruteForce } from './helpers/shapley.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const DIR = join(ROOT, 'fixtures/xgboost');
const REF = join(ROOT, 'fixtures/explain/xgboost');

async function structureOf(name: string): Promise<TreeStructure | undefined> {
  const runtime = await loadArtifact(xgboostRuntime, readFileSync(join(DIR, name, 'model.json')), {}, name);
  const s = await runtime.structure?.();
  return s?.kind === 'trees' ? s : undefined;
}

const fixtures = readdirSync(DIR).filter((n) => !n.includes('linear')).sort();

describe('TreeSHAP on XGBoost fixtures', () => {
  for (const name of fixtures) {
    it(`${name}: matches xgboost pred_contribs and adds up to the margin`, async () => {
      const s = await structureOf(name);
      assert.ok(s, 'the model has covers');
      const { rows, x } = readMatrix(join(DIR, name, 'input.csv'));
      const explainer = new TreeExplainer(s, name);
      const a = await explainer.explain(x, rows);
      const F = s.numFeature;
      const G = s.numGroup;
      for (let r = 0; r < rows; r++) {
        const margin = a.scores[r * G]!;
        assert.ok(Math.abs(a.residual[r]!) <= 1e-5 * Math.max(1, Math.abs(margin)), `row ${r}: residual ${a.residual[r]} vs margin ${margin}`);
      }
      const ref = JSON.parse(readFileSync(join(REF, `${name}.json`), 'utf8')) as { contribs: number[][] | number[][][] };
      for (let r = 0; r < rows; r++) {
        for (let g = 0; g < G; g++) {
          const expected = (G === 1 ? ref.contribs[r] : (ref.contribs[r] as number[][])[g]) as number[];
          for (let j = 0; j < F; j++) {
            const got = a.values[(r * G + g) * F + j]!;
            const want = expected[j]!;
            assert.ok(Math.abs(got - want) <= 1e-4 + 1e-4 * Math.abs(want), `row ${r} class ${g} feature ${j}: ${got} vs xgboost ${want}`);
          }
          const bias = expected[F]!;
          assert.ok(Math.abs(a.base[g]! - bias) <= 1e-4 + 1e-4 * Math.abs(bias), `class ${g} base ${a.base[g]} vs xgboost ${bias}`);
        }
      }
    });
  }

  for (const name of fixtures) {
    it(`${name}: equals brute-force Shapley values (models of ≤ 10 features)`, async (t) => {
      const s = await structureOf(name);
      assert.ok(s);
      if (s.numFeature > 10) return t.skip(`${s.numFeature} features: brute force is for ≤ 10`);
      const { rows, x } = readMatrix(join(DIR, name, 'input.csv'));
      const a = await new TreeExplainer(s, name).explain(x, rows);
      assertBruteForce(s, a, x, Math.min(rows, 8));
    });
  }

  it('probability space: additive to the probability, same signs as margin space', async () => {
    const s = await structureOf('breast_hist');
    assert.ok(s);
    const { rows, x } = readMatrix(join(DIR, 'breast_hist', 'input.csv'));
    const e = new TreeExplainer(s, 'breast_hist');
    const m = await e.explain(x, rows, { space: 'margin' });
    const p = await e.explain(x, rows, { space: 'probability' });
    for (let r = 0; r < rows; r++) {
      assert.ok(p.scores[r]! > 0 && p.scores[r]! < 1);
      assert.ok(Math.abs(p.residual[r]!) < 1e-6);
      for (let j = 0; j < s.numFeature; j++) assert.ok(Math.sign(p.values[r * s.numFeature + j]!) === Math.sign(m.values[r * s.numFeature + j]!) || m.values[r * s.numFeature + j] === 0);
    }
  });
});

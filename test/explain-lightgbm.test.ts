/**
 * TreeSHAP on LightGBM text models: equal to brute-force Shapley values (path-dependent value
 * function over internal_count/leaf_count) on the small fixtures, additive to the runtime's raw
 * score on every fixture; linear-tree models have no exact form.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TreeExplainer } from '../src/explain/tree-explainer.js';
import { lightgbmRuntime } from '../src/runtimes/lightgbm/lightgbm-runtime.js';
import { ROOT } from './helpers/env.js';
import { readMatrix } from './helpers/matrix.js';
import { bruteForceShapley } from './helpers/shapley.js';

const DIR = join(ROOT, 'fixtures/lightgbm');
const fixtures = readdirSync(DIR).filter((n) => !n.endsWith('.md')).sort();

describe('TreeSHAP on LightGBM fixtures', () => {
  for (const name of fixtures) {
    it(`${name}: additive, and equal to brute force when ≤ 10 features`, async () => {
      const runtime = await lightgbmRuntime.load(readFileSync(join(DIR, name, 'model.txt')), {}, name);
      const s = await runtime.structure?.();
      if (name === 'linear_tree') {
        assert.equal(s, undefined, 'linear leaves depend on the row: no exact tree form');
        return;
      }
      assert.ok(s?.kind === 'trees');
      const { rows, x } = readMatrix(join(DIR, name, 'input.csv'));
      const a = await new TreeExplainer(s, name).explain(x, rows);
      const G = s.numGroup;
      const F = s.numFeature;
      for (let r = 0; r < rows; r++) {
        let scale = 1;
        for (let g = 0; g < G; g++) scale = Math.max(scale, Math.abs(a.scores[r * G + g]!));
        assert.ok(Math.abs(a.residual[r]!) <= 1e-9 * scale, `row ${r}: residual ${a.residual[r]}`);
      }
      if (F > 10) return;
      for (let r = 0; r < Math.min(rows, 6); r++) {
        const { phi, base } = bruteForceShapley(s, x, r);
        for (let g = 0; g < G; g++) {
          assert.ok(Math.abs(a.base[g]! - base[g]!) <= 1e-9 * Math.max(1, Math.abs(base[g]!)));
          for (let j = 0; j < F; j++) {
            const want = phi[g]![j]!;
            const got = a.values[(r * G + g) * F + j]!;
            assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `row ${r} class ${g} feature ${j}: ${got} vs ${want}`);
          }
        }
      }
    });
  }
});

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
import { assertAdditive, assertBruteForce } from './helpers/shapley.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const DIR = join(ROOT, 'fixtures/lightgbm');
const fixtures = readdirSync(DIR).filter((n) => !n.endsWith('.md')).sort();

describe('TreeSHAP on LightGBM fixtures', () => {
  for (const name of fixtures) {
    it(`${name}: additive, and equal to brute force when ≤ 10 features`, async () => {
      const runtime = await loadArtifact(lightgbmRuntime, readFileSync(join(DIR, name, 'model.txt')), {}, name);
      const s = await runtime.structure?.();
      if (name === 'linear_tree') {
        assert.equal(s, undefined, 'linear leaves depend on the row: no exact tree form');
        return;
      }
      assert.ok(s?.kind === 'trees');
      const { rows, x } = readMatrix(join(DIR, name, 'input.csv'));
      const a = await new TreeExplainer(s, name).explain(x, rows);
      assertAdditive(s, a, rows);
      if (s.numFeature <= 10) assertBruteForce(s, a, x, Math.min(rows, 6));
    });
  }
});

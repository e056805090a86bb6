/**
 * `ferry evaluate`, `ferry compare` and `ferry best` through the real CLI, on SQLite and
 * PostgreSQL. Metrics are checked against scikit-learn's on the same labelled rows
 * (scripts/monitoring/evaluation_reference.py).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import { openFerry } from '../src/main/ferry.js';
import { ShadowResultStore } from '../src/monitoring/shadow-store.js';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/env.js';
import { fixture } from './helpers/fixtures.js';
import { storeEnvs } from './helpers/stores.js';

const MON = join(ROOT, 'fixtures/monitoring');
const expected = JSON.parse(readFileSync(join(MON, 'evaluation-expected.json'), 'utf8')) as Record<string, Record<string, number>>;
const breast = fixture('breast_mlp');
const diabetes = fixture('diabetes_regressor');
const xgbBreast = join(ROOT, 'fixtures/xgboost/breast_hist/model.json');

const envs = await storeEnvs();
for (const store of envs) {
  describe(`evaluate, compare, best (${store.name})`, () => {
    const env = store.env;
    const cli = (args: string[]) => runCli(args, env);
    before(async () => {
      for (const args of [
        ['register', breast.model, '-n', 'breast', '--metric', 'auc=0.95', '--metric', 'rmse=0.3'],
        ['register', breast.model, '-n', 'breast', '--metric', 'auc=0.97', '--metric', 'rmse=0.2'],
        ['register', xgbBreast, '-n', 'breast', '--metric', 'auc=0.96'],
        ['register', diabetes.model, '-n', 'diabetes'],
      ]) {
        const r = await cli(args);
        assert.equal(r.code, 0, r.stderr);
      }
    });
    after(() => store.cleanup());

    it('evaluate: classification metrics per version equal scikit-learn\'s', async () => {
      const r = await cli(['evaluate', 'breast', '--versions', '1,2', '--data', join(MON, 'breast_mlp-labelled.csv'), '--label', 'diagnosis', '--ignore', 'id', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const evals = JSON.parse(r.stdout) as { version: number; task: string; rows: number; metrics: Record<string, number> }[];
      assert.deepEqual(evals.map((e) => [e.version, e.task, e.rows]), [[1, 'classification', 50], [2, 'classification', 50]]);
      for (const e of evals) {
        for (const [m, want] of Object.entries(expected.breast_mlp ?? {})) {
          assert.ok(Math.abs((e.metrics[m] ?? NaN) - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${m}: ${e.metrics[m]} vs scikit-learn ${want}`);
        }
      }
      const table = await cli(['evaluate', 'breast', '--versions', '1,3', '--data', join(MON, 'breast_mlp-labelled.csv'), '--label', 'diagnosis', '--ignore', 'id']);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /VERSION\s+TASK\s+ROWS\s+ACCURACY\s+PRECISION\s+RECALL\s+F1\s+ROC_AUC\s+LOG_LOSS/);
      assert.match(table.stdout, /^3\s+classification\s+50\s/m);
    });

    it('evaluate: regression metrics equal scikit-learn\'s', async () => {
      const r = await cli(['evaluate', 'diabetes', '--data', join(MON, 'diabetes_regressor-labelled.csv'), '--label', 'progression', '--ignore', 'id', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const [e] = JSON.parse(r.stdout) as { task: string; metrics: Record<string, number> }[];
      assert.equal(e?.task, 'regression');
      for (const [m, want] of Object.entries(expected.diabetes_regressor ?? {})) {
        assert.ok(Math.abs((e?.metrics[m] ?? NaN) - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${m}: ${e?.metrics[m]} vs scikit-learn ${want}`);
      }
    });

    it('evaluate: a missing label column is a catalog error', async () => {
      const r = await cli(['evaluate', 'breast', '--data', breast.input, '--label', 'diagnosis', '--ignore', 'id']);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /FERRY_E_LABEL_MISSING: The label column "diagnosis" is not in the data/);
    });

    it('compare: the same artifact twice is equivalent; an XGBoost model of the same task is not', async () => {
      const same = await cli(['compare', 'breast:1', 'breast:2', '--data', breast.input, '--ignore', 'id', '--json']);
      assert.equal(same.code, 0, same.stderr);
      const s = JSON.parse(same.stdout) as { equivalent: boolean; agreement: number; maxAbsDiff: number; rows: number };
      assert.deepEqual([s.equivalent, s.agreement, s.maxAbsDiff, s.rows], [true, 1, 0, 50]);
      const diff = await cli(['compare', 'breast:1', 'breast:3', '--data', breast.input, '--ignore', 'id', '--json']);
      assert.equal(diff.code, 0, diff.stderr);
      const d = JSON.parse(diff.stdout) as { equivalent: boolean; agreement: number; maxAbsDiff: number; worst: { row: number; maxAbsDiff: number }[]; outputs: Record<string, { agreement: number }> };
      assert.equal(d.equivalent, false);
      assert.ok(d.agreement < 1);
      assert.ok(d.maxAbsDiff > 0.01);
      assert.equal(d.worst.length, 5);
      assert.ok(d.worst.every((w, i) => i === 0 || (d.worst[i - 1]?.maxAbsDiff ?? 0) >= w.maxAbsDiff), 'worst rows first');
      assert.ok((d.outputs.label?.agreement ?? 0) > 0.8, 'the two classifiers mostly agree on labels');
      const human = await cli(['compare', 'breast:1', 'breast:3', '--data', breast.input, '--ignore', 'id', '--tolerance', '1']);
      assert.match(human.stdout, /breast:1 vs breast:3: (EQUIVALENT|NOT equivalent) within 1/);
    });

    it('compare --shadow summarises recorded shadow pairs', async () => {
      const app = await openFerry(loadConfig(env));
      try {
        const at = new Date().toISOString();
        await new ShadowResultStore(app.database).record([
          { model: 'breast', primaryVersion: 1, shadowVersion: 2, requestId: 'r1', primaryOutput: { label: 1, probabilities: [0.1, 0.9] }, shadowOutput: { label: 1, probabilities: [0.1, 0.9] }, error: null, maxAbsDiff: 0, at },
          { model: 'breast', primaryVersion: 1, shadowVersion: 2, requestId: 'r2', primaryOutput: { label: 1, probabilities: [0.4, 0.6] }, shadowOutput: { label: 0, probabilities: [0.6, 0.4] }, error: null, maxAbsDiff: 1, at },
          { model: 'breast', primaryVersion: 1, shadowVersion: 2, requestId: 'r3', primaryOutput: { label: 0, probabilities: [0.9, 0.1] }, shadowOutput: null, error: 'boom', maxAbsDiff: null, at },
        ]);
      } finally {
        await app.close();
      }
      const r = await cli(['compare', '--shadow', 'breast', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const [c] = JSON.parse(r.stdout) as { a: string; b: string; rows: number; agreement: number; errors: number; equivalent: boolean; maxAbsDiff: number; worst: { row: string }[] }[];
      assert.deepEqual([c?.a, c?.b, c?.rows, c?.agreement, c?.errors, c?.equivalent, c?.maxAbsDiff], ['breast:1', 'breast:2', 2, 0.5, 1, false, 1]);
      assert.equal(c?.worst[0]?.row, 'r2');
    });

    it('best names the best version by a registry metric, in either direction', async () => {
      const max = await cli(['best', 'breast', '--metric', 'auc', '--json']);
      assert.equal(max.code, 0, max.stderr);
      assert.deepEqual((JSON.parse(max.stdout) as { best: { version: number } }).best.version, 2);
      const min = await cli(['best', 'breast', '--metric', 'auc', '--min', '--json']);
      assert.equal((JSON.parse(min.stdout) as { best: { version: number } }).best.version, 1);
      const rmse = await cli(['best', 'breast', '--metric', 'rmse']);
      assert.match(rmse.stdout, /Best: breast:2 \(rmse = 0.2, lower is better\)/);
      const none = await cli(['best', 'breast', '--metric', 'f1']);
      assert.equal(none.code, 4);
      assert.match(none.stderr, /FERRY_E_METRIC_UNAVAILABLE/);
    });
  });
}

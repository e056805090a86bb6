/**
 * Rows the runtime itself refuses — a category a scikit-learn encoder never saw in training
 * (handle_unknown="error") — are rejects like rows validation refuses: named by the input column
 * and the row of the Frame, while the other rows are scored with the answers they get alone. With
 * batching, one request's bad row fails that request only, not the requests batched with it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ColumnFrame, type Cell } from '../src/core/frame.js';
import { isFerryError } from '../src/core/errors.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';
import { sklearnRuntime } from '../src/runtimes/sklearn/sklearn-runtime.js';
import { DEFAULT_BATCH_POLICY } from '../src/scoring/batcher.js';
import { Scorer, type LoadedModel } from '../src/scoring/scorer.js';
import type { ModelVersion } from '../src/registry/types.js';
import { ROOT } from './helpers/env.js';

const DIR = join(ROOT, 'fixtures/sklearn/ct_onehot_drop_rf');

async function model(): Promise<LoadedModel> {
  const runtime = await loadArtifact(sklearnRuntime, readFileSync(join(DIR, 'model.joblib')), {}, 'ct');
  return { runtime, version: { model: 'ct', version: 1, signature: runtime.signature() } as unknown as ModelVersion };
}

/** The fixture's rows (as `ferry predict` reads CSV), `n` of them, with plan "gold" (never seen) at the rows in `bad`. */
function frame(n: number, bad: ReadonlySet<number>): ColumnFrame {
  const [head, ...lines] = readFileSync(join(DIR, 'input.csv'), 'utf8').trim().split(/\r?\n/);
  const names = (head as string).split(',');
  const plan = names.indexOf('plan');
  const rows: Cell[][] = [];
  for (let i = 0; i < n; i++) {
    const cells = (lines[i % lines.length] as string).split(',').map((v, j): Cell => (j < 2 ? (v === '' ? null : Number(v)) : v));
    if (bad.has(i)) cells[plan] = 'gold';
    rows.push(cells);
  }
  return ColumnFrame.fromRecords(names, rows);
}

describe('rows a runtime refuses', () => {
  it('are rejected with their column and Frame row; the others get the answers they get alone (few and many bad rows)', async () => {
    const m = await model();
    const scorer = new Scorer();
    for (const bad of [new Set([2]), new Set([0, 3, 7, 11, 15, 19, 23, 30, 31, 39])]) {
      const input = frame(40, bad);
      const result = await scorer.frame(m, input);
      const good = Array.from({ length: 40 }, (_, i) => i).filter((i) => !bad.has(i));
      assert.deepEqual(result.rows, good);
      assert.deepEqual(result.rejects.map((r) => r.row), [...bad].sort((a, b) => a - b));
      for (const r of result.rejects) {
        assert.ok(isFerryError(r.error, 'FERRY_E_VALUE_TYPE'));
        assert.equal(r.error.message, `Row ${r.row + 1}, column "plan": expected one of the categories seen in training ("basic", "pro", "team") but got "gold".`);
      }
      const alone = await scorer.frame(m, frame(40, new Set()));
      for (const [k, name] of result.outputs.map((o) => o.name).entries()) {
        const expected = good.map((i) => alone.outputs[k]?.values[i]);
        assert.deepEqual(result.outputs[k]?.values, expected, `${name} with ${bad.size} bad row(s)`);
      }
      assert.equal(result.inputs?.tensors.plan?.shape[0], good.length, 'the scored inputs are the scored rows');
    }
  });

  it('a Frame whose every row is refused scores nothing and rejects every row', async () => {
    const result = await new Scorer().frame(await model(), frame(9, new Set(Array.from({ length: 9 }, (_, i) => i))));
    assert.deepEqual(result.rows, []);
    assert.equal(result.rejects.length, 9);
    assert.equal(result.outputs[0]?.values.length, 0);
  });

  it('with batching, a bad row fails only its own request', async () => {
    const m = await model();
    const scorer = new Scorer({ batchPolicy: () => ({ ...DEFAULT_BATCH_POLICY, maxBatchSize: 64, maxQueueDelayUs: 20_000 }) });
    // The first runs at once; the next two wait for it and go together in one batch.
    const [first, bad, good] = await Promise.all([scorer.frame(m, frame(3, new Set())), scorer.frame(m, frame(4, new Set([1]))), scorer.frame(m, frame(5, new Set()))]);
    assert.deepEqual(first.rows, [0, 1, 2]);
    assert.deepEqual(bad.rows, [0, 2, 3]);
    assert.deepEqual(bad.rejects.map((r) => r.error.message), ['Row 2, column "plan": expected one of the categories seen in training ("basic", "pro", "team") but got "gold".']);
    assert.deepEqual(good.rows, [0, 1, 2, 3, 4]);
    const alone = await new Scorer().frame(m, frame(5, new Set()));
    assert.deepEqual(good.outputs.map((o) => o.values), alone.outputs.map((o) => o.values));
    scorer.close();
  });

  it('a NaN the runtime refuses (a scikit-learn model without missing-value support) is named at its row counted from 1', async () => {
    const runtime = await loadArtifact(sklearnRuntime, readFileSync(join(ROOT, 'fixtures/sklearn/logreg_breast/model.joblib')), {}, 'lr');
    const spec = runtime.signature().inputs[0];
    const width = Number(spec?.shape[1]);
    const data = new Float64Array(3 * width).fill(1);
    data[width + 4] = Number.NaN; // row 2, column 5
    const tensors = { [spec?.name ?? 'input']: { dtype: 'float64', shape: [3, width], data } } as unknown as Parameters<typeof runtime.predict>[0];
    await assert.rejects(runtime.predict(tensors), (e) => isFerryError(e, 'FERRY_E_VALUE_MISSING') && e.params.row === 2 && /^Row 2, column "mean_smoothness"/.test(e.message));
  });
});

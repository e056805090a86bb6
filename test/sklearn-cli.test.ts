/**
 * scikit-learn files through the CLI (in process): `ferry register model.joblib` + `ferry predict`
 * reproduce scikit-learn, `--sample/--expected` refuses a registration whose answers differ,
 * `ferry inspect` lists globals, arrays and estimators and says why a file cannot load.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, tempDir } from './helpers/env.js';
import { runCli } from './helpers/cli.js';

const SK = join(ROOT, 'fixtures/sklearn');

describe('ferry register / predict / inspect with scikit-learn files', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  after(() => tmp.cleanup());

  it('register + predict reproduce scikit-learn (string labels, probabilities)', async () => {
    const reg = await runCli(['register', join(SK, 'hgb_codes_missing/model.joblib'), '--name', 'churn', '--json'], env);
    assert.equal(reg.code, 0, reg.stderr);
    const v = JSON.parse(reg.stdout) as { format: string; lineage: { source: { sha256: string; sklearn: string; estimator: string } } };
    assert.equal(v.format, 'sklearn');
    assert.equal(v.lineage.source.sklearn, '1.2.1');
    assert.match(v.lineage.source.estimator, /HistGradientBoostingClassifier/);
    const out = join(tmp.dir, 'out.jsonl');
    const pred = await runCli(['predict', 'churn', '--input', join(SK, 'hgb_codes_missing/input.csv'), '--output', out], env);
    assert.equal(pred.code, 0, pred.stderr);
    const expected = JSON.parse(readFileSync(join(SK, 'hgb_codes_missing/expected.json'), 'utf8')) as { label: string[]; probabilities: number[][] };
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { label: string; probabilities: number[] });
    assert.deepEqual(rows.map((r) => r.label), expected.label);
    rows.forEach((r, i) => r.probabilities.forEach((p, k) => assert.ok(Math.abs(p - expected.probabilities[i]![k]!) <= 1e-9, `row ${i}`)));
  });

  it('a category unseen in training (handle_unknown="error") is reported at its row, counted from 1 like every row error', async () => {
    const [head, ...lines] = readFileSync(join(SK, 'ct_onehot_drop_rf/input.csv'), 'utf8').trim().split(/\r?\n/);
    const plan = head!.split(',').indexOf('plan');
    const rows = lines.slice(0, 4).map((l, i) => (i === 2 ? l.split(',').map((v, j) => (j === plan ? 'enterprise' : v)).join(',') : l));
    const input = join(tmp.dir, 'unseen-plan.csv');
    writeFileSync(input, `${head}\n${rows.join('\n')}\n`);
    assert.equal((await runCli(['register', join(SK, 'ct_onehot_drop_rf/model.joblib'), '--name', 'unseen'], env)).code, 0);
    const r = await runCli(['predict', 'unseen', '--input', input, '--output', join(tmp.dir, 'unseen.jsonl')], env);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /FERRY_E_VALUE_TYPE: Row 3, column "plan": expected one of the categories seen in training \([^)]*\) but got "enterprise"/);
  });

  it('--sample/--expected: registers when the answers match, refuses (nothing stored) when they differ', async () => {
    const expected = JSON.parse(readFileSync(join(SK, 'gb_diabetes/expected.json'), 'utf8')) as { prediction: number[] };
    const good = join(tmp.dir, 'good.csv');
    const bad = join(tmp.dir, 'bad.csv');
    writeFileSync(good, `prediction\n${expected.prediction.map((p) => String(p)).join('\n')}\n`);
    writeFileSync(bad, `prediction\n${expected.prediction.map((p, i) => String(i === 2 ? p + 1 : p)).join('\n')}\n`);
    const input = join(SK, 'gb_diabetes/input.csv');
    const ok = await runCli(['register', join(SK, 'gb_diabetes/model.joblib'), '--name', 'gb', '--sample', input, '--expected', good], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /checked/);
    const refused = await runCli(['register', join(SK, 'gb_diabetes/model.joblib'), '--name', 'gb', '--sample', input, '--expected', bad], env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /FERRY_E_REGISTRATION_MISMATCH/);
    assert.match(refused.stderr, /row 2, prediction/);
    const versions = await runCli(['versions', 'gb', '--json'], env);
    assert.equal((JSON.parse(versions.stdout) as unknown[]).length, 1);
  });

  it('inspect: globals (allowed or not), arrays, estimators, and why a file cannot load', async () => {
    const good = await runCli(['inspect', join(SK, 'pipe_impute_minmax_ridge/model.joblib'), '--json'], env);
    assert.equal(good.code, 0, good.stderr);
    const report = JSON.parse(good.stdout) as { loadable: boolean; globals: { name: string; allowed: boolean }[]; arrays: { path: string; shape: number[] }[]; estimators: string[] };
    assert.equal(report.loadable, true);
    assert.ok(report.globals.every((g) => g.allowed));
    assert.ok(report.arrays.some((a) => a.path === 'steps[ridge].coef_' && a.shape[0] === 3));
    assert.ok(report.estimators.some((e) => /steps\[minmaxscaler\]: sklearn\.preprocessing\._data\.MinMaxScaler/.test(e)));

    const evil = await runCli(['inspect', join(ROOT, 'fixtures/sklearn-malicious/object_array_nested.joblib')], env);
    assert.equal(evil.code, 0, evil.stderr);
    assert.match(evil.stdout, /(posix|os)\.system\s+NO — refused/);
    assert.match(evil.stdout, /Loadable: no/);

    const ada = await runCli(['inspect', join(ROOT, 'fixtures/sklearn-unsupported/adaboost_pipeline.joblib')], env);
    assert.match(ada.stdout, /step "clf" \(sklearn\.ensemble\._weight_boosting\.AdaBoostClassifier\)/);
    assert.match(ada.stdout, /skl2onnx/);
    const reg = await runCli(['register', join(ROOT, 'fixtures/sklearn-unsupported/adaboost_pipeline.joblib'), '--name', 'ada'], env);
    assert.match(reg.stderr, /FERRY_E_SKLEARN_UNSUPPORTED/);
  });
});

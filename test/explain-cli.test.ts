/**
 * `ferry explain`: the real binary on registered models — TreeSHAP numbers equal xgboost's own
 * pred_contribs, the one JSON shape with keys and reason codes, per-class values for multi-class
 * models, sampled explanations against a background file, and errors with stable codes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { FIXTURES, ROOT, tempDir } from './helpers/env.js';

const XGB = join(ROOT, 'fixtures/xgboost');
const { dir, cleanup } = tempDir('ferry-explain-');
const env = { FERRY_HOME: join(dir, 'home') };
after(cleanup);

interface Line {
  id: number;
  output_space: string;
  base_value: number | number[];
  contributions: Record<string, number | number[]>;
  residual: number;
  method: string;
  approximate?: boolean;
  top_k?: { name: string; value: number; direction: string }[];
}

const lines = (text: string): Line[] => text.trim().split('\n').map((l) => JSON.parse(l) as Line);

describe('ferry explain', () => {
  it('an XGBoost classifier: xgboost pred_contribs numbers, keys, reason codes', async () => {
    assert.equal((await runCli(['register', join(XGB, 'breast_hist/model.json'), '--name', 'breast'], env)).code, 0);
    const out = join(dir, 'breast.jsonl');
    const r = await runCli(['explain', 'breast', '--input', join(XGB, 'breast_hist/input.csv'), '--key', 'id', '--top-k', '3', '--output', out], env);
    assert.equal(r.code, 0, r.stderr);
    const got = lines(readFileSync(out, 'utf8'));
    const ref = JSON.parse(readFileSync(join(ROOT, 'fixtures/explain/xgboost/breast_hist.json'), 'utf8')) as { contribs: number[][] };
    const names = readFileSync(join(XGB, 'breast_hist/input.csv'), 'utf8').split('\n')[0]!.split(',').slice(1);
    assert.equal(got.length, 20);
    got.forEach((e, r) => {
      assert.equal(e.id, r);
      assert.equal(e.output_space, 'margin');
      assert.equal(e.method, 'tree-shap');
      assert.ok(Math.abs(e.residual) < 1e-5);
      names.forEach((n, j) => assert.ok(Math.abs((e.contributions[n] as number) - ref.contribs[r]![j]!) <= 1e-4 + 1e-4 * Math.abs(ref.contribs[r]![j]!), n));
      assert.ok(Math.abs((e.base_value as number) - ref.contribs[r]![names.length]!) < 1e-4);
      assert.equal(e.top_k!.length, 3);
      assert.ok(Math.abs(e.top_k![0]!.value) >= Math.abs(e.top_k![2]!.value));
    });
    const p = await runCli(['explain', 'breast', '--input', join(XGB, 'breast_hist/input.csv'), '--key', 'id', '--space', 'probability'], env);
    assert.equal(p.code, 0, p.stderr);
    const first = lines(p.stdout)[0]!;
    assert.equal(first.output_space, 'probability');
    assert.ok((first.base_value as number) > 0 && (first.base_value as number) < 1);
  });

  it('multi-class: one value per class, in class order', async () => {
    assert.equal((await runCli(['register', join(XGB, 'iris_softprob/model.json'), '--name', 'iris'], env)).code, 0);
    const r = await runCli(['explain', 'iris', '--input', join(XGB, 'iris_softprob/input.csv'), '--key', 'id'], env);
    assert.equal(r.code, 0, r.stderr);
    const e = lines(r.stdout)[0]!;
    assert.equal((e.base_value as number[]).length, 3);
    for (const v of Object.values(e.contributions)) assert.equal((v as number[]).length, 3);
  });

  it('an ONNX model: sampled against --background, labelled approximate; without background a coded error', async () => {
    const m = join(FIXTURES, 'diabetes_regressor');
    const cols = 'input=age,sex,bmi,bp,s1,s2,s3,s4,s5,s6';
    assert.equal((await runCli(['register', join(m, 'model.onnx'), '--name', 'diabetes', '--input-columns', cols], env)).code, 0);
    const bad = await runCli(['explain', 'diabetes', '--input', join(m, 'input.csv'), '--key', 'id'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /FERRY_E_EXPLAIN_BACKGROUND/);
    const r = await runCli(['explain', 'diabetes', '--input', join(m, 'input.csv'), '--key', 'id', '--background', join(m, 'input.csv')], env);
    assert.equal(r.code, 0, r.stderr);
    const e = lines(r.stdout)[0]!;
    assert.equal(e.method, 'sampling');
    assert.equal(e.approximate, true);
    assert.equal(e.output_space, 'raw');
    const space = await runCli(['explain', 'breast', '--input', join(XGB, 'breast_hist/input.csv'), '--key', 'id', '--space', 'raw'], env);
    assert.match(space.stderr, /FERRY_E_EXPLAIN_SPACE/);
  });
});

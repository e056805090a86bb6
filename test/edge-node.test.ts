/**
 * `ferry export --target node`: the package runs from a folder outside the project with no
 * node_modules, and gives the server's predictions (`ferry predict`) for XGBoost, LightGBM and
 * PMML models; the reference library's own numbers for XGBoost. Unsupported models and
 * over-budget exports are refused with their catalog codes, and nothing is left behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { registerModels, runCli } from './helpers/cli.js';
import { ferryCli, ROOT, tempDir } from './helpers/env.js';
import { assertMatchesReference, fixture, fixtures, inputColumnFlags } from './helpers/fixtures.js';

interface Case {
  name: string;
  model: string;
  input: string;
  keys: string[];
}

const X = (n: string): Case => ({ name: `xgb_${n}`, model: `fixtures/xgboost/${n}/model.json`, input: `fixtures/xgboost/${n}/input.csv`, keys: ['id'] });
const L = (n: string): Case => ({ name: `lgb_${n}`, model: `fixtures/lightgbm/${n}/model.txt`, input: `fixtures/lightgbm/${n}/input.csv`, keys: ['id'] });
const CASES: Case[] = [
  X('breast_nan'), X('iris_softprob'), X('diabetes_reg'), X('diabetes_linear'), X('cat_partition'),
  L('binary_missing'), L('multiclass'), L('regression_l1'),
  { name: 'pmml_logistic', model: 'fixtures/pmml/cases/sklearn-logistic/model.pmml', input: 'fixtures/pmml/cases/sklearn-logistic/input.csv', keys: [] },
  // A tree ensemble the server scores by its batch path: the package ships that path's layout and code, not the PMML engine.
  { name: 'pmml_forest', model: 'fixtures/pmml/forest.pmml', input: 'fixtures/pmml/cases/sklearn-forest/input.csv', keys: [] },
];

const readJsonl = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

/** CSV rows as the objects an application would pass: numbers, and null for empty cells. */
function csvObjects(path: string): Record<string, unknown>[] {
  const [head = '', ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const header = head.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i]!, v === '' ? null : Number.isNaN(Number(v)) ? v : Number(v)])));
}

function assertClose(got: unknown, want: unknown, where: string): void {
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && got.length === want.length, `${where}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    want.forEach((w, i) => assertClose(got[i], w, `${where}[${i}]`));
  } else if (typeof want === 'number') {
    assert.equal(typeof got, 'number', `${where}: ${JSON.stringify(got)} vs ${want}`);
    assert.ok(Math.abs((got as number) - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${where}: ${String(got)} vs ${want}`);
  } else {
    assert.deepEqual(got, want, where);
  }
}

describe('ferry export --target node', () => {
  const tmp = tempDir('ferry-edge-');
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  after(() => tmp.cleanup());

  before(() => registerModels(CASES.map((c) => ({ name: c.name, path: join(ROOT, c.model) })), env));

  for (const c of CASES) {
    it(`${c.name}: the package, copied outside the project, gives the server's predictions`, async () => {
      const out = join(tmp.dir, 'exports', c.name);
      const keyFlags = c.keys.flatMap((k) => ['--key', k]);
      const exp = await runCli(['export', c.name, '--target', 'node', '--out', out, '--sample', join(ROOT, c.input), ...keyFlags, '--json'], env);
      assert.equal(exp.code, 0, exp.stderr);
      const report = JSON.parse(exp.stdout) as { parity: { ok: boolean; maxDiff: number; rows: number }; size: { gzip: number } };
      assert.equal(report.parity.ok, true);
      assert.ok(report.parity.rows > 0);

      const served = join(tmp.dir, `${c.name}.jsonl`);
      const pred = await runCli(['predict', c.name, '--input', join(ROOT, c.input), ...keyFlags, '--output', served], env);
      assert.equal(pred.code, 0, pred.stderr);

      // A folder of its own: no node_modules above it, nothing of Ferry's reachable.
      const away = join(tempDir('ferry-edge-away-').dir, 'pkg');
      cpSync(out, away, { recursive: true });
      assert.equal(existsSync(join(away, 'node_modules')), false);
      const pkg = JSON.parse(readFileSync(join(away, 'package.json'), 'utf8')) as { type: string; name: string; version: string; ferry: { model: string; version: number; digest: string } };
      assert.equal(pkg.type, 'module');
      assert.equal(pkg.name, c.name);
      assert.equal(pkg.version, '1.0.0');
      assert.equal(pkg.ferry.model, c.name);
      assert.match(pkg.ferry.digest, /^sha256:[0-9a-f]{64}$/);
      const mod = (await import(pathToFileURL(join(away, 'index.js')).href)) as { predict: (rows: unknown[], o?: { keys?: string[] }) => Promise<Record<string, unknown>[]> };
      const got = await mod.predict(csvObjects(join(ROOT, c.input)), { keys: c.keys });
      const want = readJsonl(served);
      assert.equal(got.length, want.length);
      want.forEach((w, i) => assertClose(got[i], w, `${c.name} row ${i + 1}`));
      // The shipped test passes where the package now lives.
      const test = JSON.parse(execFileSync(process.execPath, ['test.js'], { cwd: away, encoding: 'utf8' }).trim()) as { ok: boolean };
      assert.equal(test.ok, true);
    });
  }

  it('xgboost: the package reproduces xgboost\'s own probabilities (float32, missing values)', async () => {
    const away = join(tmp.dir, 'exports', 'xgb_breast_nan');
    const mod = (await import(pathToFileURL(join(away, 'index.js')).href)) as { predict: (rows: unknown[], o?: { keys?: string[] }) => Promise<{ probabilities: number[]; label: number }[]>; predictBatch: (x: Float32Array, n: number) => Promise<Record<string, { data: ArrayLike<number> }>> };
    const expected = JSON.parse(readFileSync(join(ROOT, 'fixtures/xgboost/breast_nan/expected.json'), 'utf8')) as { probabilities: number[][]; label: number[] };
    const rows = csvObjects(join(ROOT, 'fixtures/xgboost/breast_nan/input.csv'));
    const got = await mod.predict(rows, { keys: ['id'] });
    got.forEach((p, i) => {
      assert.ok(Math.abs(p.probabilities[1]! - expected.probabilities[i]![1]!) < 1e-6, `row ${i}`);
      assert.equal(p.label, expected.label[i]);
    });
    // The typed-array entry point: rows packed in a Float32Array, NaN = missing.
    const columns = Object.keys(rows[0]!).filter((k) => k !== 'id');
    const x = Float32Array.from(rows.flatMap((r) => columns.map((c) => (r[c] === null ? Number.NaN : (r[c] as number)))));
    const batch = await mod.predictBatch(x, rows.length);
    const probs = batch.probabilities!.data;
    expected.probabilities.forEach((p, i) => assert.ok(Math.abs(probs[2 * i + 1]! - p[1]!) < 1e-6));
  });

  it('a bad row fails predict with the server\'s error code', async () => {
    const mod = (await import(pathToFileURL(join(tmp.dir, 'exports', 'xgb_breast_nan', 'index.js')).href)) as { predict: (rows: unknown[], o?: { keys?: string[] }) => Promise<unknown> };
    const rows = csvObjects(join(ROOT, 'fixtures/xgboost/breast_nan/input.csv')).slice(0, 2);
    rows[1]!.mean_radius = 'twelve';
    await assert.rejects(mod.predict(rows, { keys: ['id'] }), (err: { code?: string; message: string }) => err.code === 'FERRY_E_VALUE_TYPE' && /Row 2, column "mean_radius"/.test(err.message));
  });

  it('index.d.ts declares the input columns and outputs', () => {
    const dts = readFileSync(join(tmp.dir, 'exports', 'xgb_breast_nan', 'index.d.ts'), 'utf8');
    assert.match(dts, /"mean_radius"\?: number \| string \| null;/);
    assert.match(dts, /"probabilities": number\[\];/);
    assert.match(dts, /"label": number \| null;/);
  });

  // ONNX: the server's ONNX runtime code on onnxruntime-web (WebAssembly, one thread), against the reference library's outputs.
  for (const f of fixtures()) {
    it(`onnx ${f.name}: the package (onnxruntime-web) reproduces ${f.expected.reference}`, async () => {
      const name = `onnx_${f.name}`;
      const reg = await runCli(['register', f.model, '--name', name, ...inputColumnFlags(f, true)], env);
      assert.equal(reg.code, 0, reg.stderr);
      const out = join(tmp.dir, 'exports', name);
      const exp = await runCli(['export', name, '--target', 'node', '--out', out, '--sample', f.input, '--key', 'id', '--json'], env);
      assert.equal(exp.code, 0, exp.stderr);
      const report = JSON.parse(exp.stdout) as { files: string[]; parity: { ok: boolean } };
      assert.equal(report.parity.ok, true);
      assert.deepEqual(report.files.filter((p) => p.endsWith('.wasm')), ['ort-wasm-simd-threaded.wasm'], 'only the one single-threaded wasm is copied');
      const away = join(tempDir('ferry-edge-away-').dir, 'pkg');
      cpSync(out, away, { recursive: true });
      const mod = (await import(pathToFileURL(join(away, 'index.js')).href)) as { predict: (rows: unknown[], o?: { keys?: string[] }) => Promise<Record<string, unknown>[]> };
      assertMatchesReference(f, await mod.predict(csvObjects(f.input), { keys: ['id'] }));
    });
  }

  it('onnx: an export run from a working directory outside Ferry finds onnxruntime-web from Ferry\'s own folder', async () => {
    const f = fixture('diabetes_regressor');
    assert.equal((await runCli(['register', f.model, '--name', 'onnx_elsewhere', ...inputColumnFlags(f, true)], env)).code, 0);
    const out = join(tmp.dir, 'exports', 'elsewhere');
    // A real process: in this one esbuild's service already runs from the project folder (tsx started it).
    const exp = await ferryCli(['export', 'onnx_elsewhere', '--target', 'node', '--out', out, '--sample', f.input, '--key', 'id', '--json'], env, undefined, tempDir('ferry-edge-cwd-').dir);
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal((JSON.parse(exp.stdout) as { parity: { ok: boolean } }).parity.ok, true);
  });

  it('onnx breast_mlp --quantize int8: int8 weights behind DequantizeLinear, within 0.01 of the reference and no label changed', async () => {
    const f = fixture('breast_mlp');
    const out = join(tmp.dir, 'exports', 'mlp-int8');
    const exp = await runCli(['export', 'onnx_breast_mlp', '--target', 'node', '--out', out, '--sample', f.input, '--key', 'id', '--quantize', 'int8', '--json'], env);
    assert.equal(exp.code, 0, exp.stderr);
    const report = JSON.parse(exp.stdout) as { parity: { ok: boolean }; quantization: { tensors: { name: string }[]; before: { raw: number }; after: { raw: number }; maxChange: number; labelChanges: number; rows: number } };
    const q = report.quantization;
    assert.deepEqual(q.tensors.map((t) => t.name), ['W1'], 'the 30×16 weight; the 16×1 one would not shrink');
    assert.ok(q.after.raw < q.before.raw, `${q.after.raw} < ${q.before.raw}`);
    assert.equal(q.labelChanges, 0);
    assert.ok(q.maxChange > 0 && q.maxChange < 0.01, `largest change ${q.maxChange}`);
    assert.equal(report.parity.ok, true, 'the package gives the quantized model\'s server predictions');
    const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')) as { ferry: { quantized?: string } };
    assert.equal(pkg.ferry.quantized, 'int8');
    // The stated tolerance: probabilities within 0.01 of the reference library's float model, the same labels.
    const mod = (await import(pathToFileURL(join(out, 'index.js')).href)) as { predict: (rows: unknown[], o?: { keys?: string[] }) => Promise<{ probabilities: number[]; label: number }[]> };
    const got = await mod.predict(csvObjects(f.input), { keys: ['id'] });
    const want = f.expected.outputs as { probabilities: number[][]; label: number[] };
    got.forEach((p, i) => {
      assert.equal(p.label, want.label[i], `row ${i} label`);
      p.probabilities.forEach((v, k) => assert.ok(Math.abs(v - want.probabilities[i]![k]!) < 0.01, `row ${i} p${k}: ${v} vs ${want.probabilities[i]![k]}`));
    });
  });

  it('--quantize int8 refuses an export whose labels change beyond --max-label-change unless --force', async () => {
    const dir = join(ROOT, 'test/edge-fixtures/quantize_flip');
    const columns = Array.from({ length: 16 }, (_, j) => `x${j}`).join(',');
    assert.equal((await runCli(['register', join(dir, 'model.onnx'), '--name', 'flip', '--input-columns', `input=${columns}`], env)).code, 0);
    const out = join(tmp.dir, 'exports', 'flip');
    const args = ['export', 'flip', '--target', 'node', '--out', out, '--sample', join(dir, 'input.csv'), '--key', 'id', '--quantize', 'int8'];
    const refused = await runCli(args, env);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /FERRY_E_EXPORT_QUANTIZE_DRIFT.*10 of 20 sample row/);
    assert.equal(existsSync(out), false, 'nothing written');
    const allowed = await runCli([...args, '--max-label-change', '50%', '--json'], env);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal((JSON.parse(allowed.stdout) as { quantization: { labelChanges: number; forced: boolean } }).quantization.labelChanges, 10);
    const forced = await runCli([...args, '--force'], env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /10 label\(s\) changed \(allowed 1\.00 %\) — written with --force/);
    const trees = await runCli(['export', 'xgb_breast_nan', '--target', 'node', '--out', join(tmp.dir, 'exports', 'x8'), '--sample', join(ROOT, 'fixtures/xgboost/breast_nan/input.csv'), '--key', 'id', '--quantize', 'int8'], env);
    assert.equal(trees.code, 4);
    assert.match(trees.stderr, /FERRY_E_EXPORT_UNSUPPORTED.*ONNX/);
  });

  it('a target that cannot carry the model refuses it with FERRY_E_EXPORT_UNSUPPORTED, and nothing is written', async () => {
    const out = join(tmp.dir, 'exports', 'mlp.txt');
    const r = await runCli(['export', 'onnx_breast_mlp', '--target', 'equation', '--out', out], env);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /FERRY_E_EXPORT_UNSUPPORTED.*linear models/);
    assert.equal(existsSync(out), false);
  });

  it('--max-size refuses an export over budget and leaves nothing behind', async () => {
    const out = join(tmp.dir, 'exports', 'too-big');
    const r = await runCli(['export', 'xgb_breast_nan', '--target', 'node', '--out', out, '--sample', join(ROOT, 'fixtures/xgboost/breast_nan/input.csv'), '--key', 'id', '--max-size', '2kb'], env);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /FERRY_E_EXPORT_TOO_LARGE/);
    assert.equal(existsSync(out), false);
  });
});

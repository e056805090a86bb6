/**
 * The native XGBoost runtime: models saved by xgboost 1.7's save_model (JSON and UBJSON) score
 * exactly as xgboost does (scripts/fixtures/xgboost.py wrote the reference predictions).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import type { Tensor } from '../src/core/tensor.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';
import { decodeUbjson } from '../src/runtimes/xgboost/ubjson.js';
import { onnxRuntime } from '../src/runtimes/onnx/onnx-runtime.js';
import { jsonWithNaN } from '../src/runtimes/xgboost/xgboost-loaded.js';
import { xgboostRuntime } from '../src/runtimes/xgboost/xgboost-runtime.js';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const DIR = join(ROOT, 'fixtures/xgboost');
const TOLERANCE = 1e-6;

interface Expected {
  objective: string;
  booster: string;
  margin: number[] | number[][];
  prediction?: number[];
  probabilities?: number[][];
  label?: number[];
}

interface Fixture {
  name: string;
  dir: string;
  columns: string[];
  rows: number;
  x: Float32Array;
  expected: Expected;
}

function load(name: string): Fixture {
  const dir = join(DIR, name);
  const lines = readFileSync(join(dir, 'input.csv'), 'utf8').trim().split('\n');
  const columns = (lines[0] ?? '').split(',').slice(1);
  const rows = lines.length - 1;
  const x = new Float32Array(rows * columns.length);
  lines.slice(1).forEach((line, r) => {
    line.split(',').slice(1).forEach((cell, j) => {
      x[r * columns.length + j] = cell === '' ? Number.NaN : Number(cell);
    });
  });
  return { name, dir, columns, rows, x, expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected };
}

const fixtures = readdirSync(DIR).filter((n) => existsSync(join(DIR, n, 'expected.json'))).sort().map(load);

/** The reference values of one output, flattened. */
function reference(f: Fixture, output: string): number[] {
  const e = f.expected;
  const values = output === 'margin' ? e.margin : output === 'prediction' ? e.prediction : output === 'probabilities' ? e.probabilities : e.label;
  assert.ok(values, `${f.name}: expected.json has no ${output}`);
  return values.flat();
}

function maxError(t: Tensor, want: number[]): number {
  assert.equal(t.data.length, want.length);
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(Number(t.data[i]) - (want[i] ?? Number.NaN)));
  return max;
}

function expectedOutputs(e: Expected): string[] {
  if (e.objective === 'binary:logitraw') return ['margin'];
  if (e.objective === 'multi:softmax') return ['label'];
  if (e.label) return ['probabilities', 'label'];
  return ['prediction'];
}

describe('xgboost runtime', () => {
  it('has fixtures for every objective and booster it claims', () => {
    const objectives = new Set(fixtures.map((f) => f.expected.objective));
    for (const o of ['reg:squarederror', 'reg:logistic', 'binary:logistic', 'binary:logitraw', 'multi:softprob', 'multi:softmax', 'count:poisson',
      'reg:pseudohubererror', 'binary:hinge', 'reg:gamma', 'reg:tweedie', 'survival:cox', 'rank:pairwise', 'rank:ndcg', 'rank:map']) {
      assert.ok(objectives.has(o), o);
    }
    assert.deepEqual(new Set(fixtures.map((f) => f.expected.booster)), new Set(['gbtree', 'dart', 'gblinear']));
  });

  for (const f of fixtures) {
    for (const ext of ['json', 'ubj']) {
      it(`${f.name} (${ext}): signature and xgboost's predictions within ${TOLERANCE}`, async () => {
        const bytes = readFileSync(join(f.dir, `model.${ext}`));
        assert.equal(xgboostRuntime.sniff(bytes), 'yes');
        const runtime = await loadArtifact(xgboostRuntime, bytes, {}, f.name);
        try {
          const sig = runtime.signature();
          assert.equal(sig.inputs.length, 1);
          const input = sig.inputs[0];
          assert.deepEqual({ name: input?.name, dtype: input?.dtype, shape: input?.shape, nullable: input?.nullable }, { name: 'input', dtype: 'float32', shape: [-1, f.columns.length], nullable: true });
          // Models saved with feature names declare them as the input's columns.
          if (!f.columns[0]?.match(/^f\d+$/)) assert.deepEqual(input?.columns, f.columns);
          else assert.equal(input?.columns, undefined);
          const names = expectedOutputs(f.expected);
          assert.deepEqual(sig.outputs.map((o) => o.name), names);

          const out = await runtime.predict({ input: { dtype: 'float32', shape: [f.rows, f.columns.length], data: f.x } });
          for (const name of names) {
            const t = out[name];
            assert.ok(t, name);
            assert.deepEqual(t.shape, sig.outputs.find((o) => o.name === name)?.shape.map((d) => (d < 0 ? f.rows : d)));
            const err = maxError(t, reference(f, name));
            assert.ok(err <= TOLERANCE, `${f.name} ${name}: max abs error ${err}`);
          }
          // Only what is asked for, and one row alone gives the same answer as in the batch.
          const first = await runtime.predict({ input: { dtype: 'float32', shape: [1, f.columns.length], data: f.x.subarray(0, f.columns.length) } }, [names[0] ?? '']);
          assert.deepEqual(Object.keys(first), [names[0]]);
        } finally {
          await runtime.close();
        }
      });
    }
  }

  it('the missing-value fixture really has missing cells (its parity test checks default directions)', () => {
    const f = fixtures.find((x) => x.name === 'breast_nan');
    assert.ok(f && f.x.some((v) => Number.isNaN(v)), 'the breast_nan fixture has missing cells');
  });

  it('the categorical fixtures use one-hot and partition splits and probe odd category codes', () => {
    const partition = JSON.parse(readFileSync(join(DIR, 'cat_partition/model.json'), 'utf8').replace(/NaN/g, 'null')) as { learner: { feature_types: string[]; gradient_booster: { model: { trees: { categories_sizes: number[] }[] } } } };
    assert.deepEqual(partition.learner.feature_types, ['float', 'float', 'c', 'c']);
    assert.ok(partition.learner.gradient_booster.model.trees.some((t) => t.categories_sizes.some((n) => n > 1)), 'partition splits hold several categories');
    for (const name of ['cat_onehot', 'cat_partition']) {
      const f = load(name);
      const codes = [...f.x].filter((_, i) => i % 4 >= 2);
      for (const odd of [-1, 100, 1e9, 5.5]) assert.ok(codes.includes(odd), `${name} probes code ${odd}`);
      assert.ok(codes.some((v) => Number.isNaN(v)), `${name} has a missing category`);
    }
  });

  it('an ONNX TreeEnsembleClassifier built from breast_bench\'s trees (onnxruntime) agrees with Ferry and xgboost', async () => {
    const f = load('breast_bench');
    const onnx = await loadArtifact(onnxRuntime, readFileSync(join(f.dir, 'model.onnx')), { intraOpThreads: 1 }, 'breast_bench.onnx');
    const ferryModel = await loadArtifact(xgboostRuntime, readFileSync(join(f.dir, 'model.json')), {}, f.name);
    try {
      const input = { input: { dtype: 'float32' as const, shape: [f.rows, f.columns.length], data: f.x } };
      const [a, b] = [await onnx.predict(input), await ferryModel.predict(input)];
      assert.ok(maxError(a.probabilities!, reference(f, 'probabilities')) <= 1e-6, 'onnxruntime vs xgboost');
      assert.ok(maxError(b.probabilities!, [...a.probabilities!.data].map(Number)) <= 1e-6, 'Ferry vs onnxruntime');
      assert.deepEqual([...a.label!.data], [...b.label!.data]);
    } finally {
      await onnx.close();
      await ferryModel.close();
    }
  });

  it('honours best_iteration like the sklearn wrapper (early stopping)', async () => {
    const f = load('diabetes_early_stop');
    const e = f.expected as Expected & { best_iteration: number; booster_predict_all_trees: number[] };
    const runtime = await loadArtifact(xgboostRuntime, readFileSync(join(f.dir, 'model.json')), {}, f.name);
    const out = await runtime.predict({ input: { dtype: 'float32', shape: [f.rows, f.columns.length], data: f.x } });
    assert.ok(out.prediction);
    assert.ok(maxError(out.prediction, e.prediction ?? []) <= TOLERANCE);
    assert.ok(maxError(out.prediction, e.booster_predict_all_trees) > 1, 'the trees after best_iteration are left out');
  });

  it('the catalog detects XGBoost JSON and UBJSON by content', () => {
    const catalog = new RuntimeCatalog();
    assert.equal(catalog.detect(readFileSync(join(DIR, 'diabetes_reg/model.json')), 'x').format, 'xgboost');
    assert.equal(catalog.detect(readFileSync(join(DIR, 'diabetes_reg/model.ubj')), 'x').format, 'xgboost');
    assert.equal(xgboostRuntime.sniff(Buffer.from('{"name": "not a model"}')), 'no');
    assert.equal(xgboostRuntime.sniff(Buffer.from([0x08, 0x07])), 'no');
  });

  it('refuses corrupted and unsupported models with FERRY_E_ARTIFACT_INVALID naming the problem', async () => {
    const text = readFileSync(join(DIR, 'breast_hist/model.json'), 'utf8');
    const refuses = async (bytes: Uint8Array | string, pattern: RegExp): Promise<void> => {
      await assert.rejects(
        loadArtifact(xgboostRuntime, typeof bytes === 'string' ? Buffer.from(bytes) : bytes, {}, 'bad.json'),
        (e) => isFerryError(e, 'FERRY_E_ARTIFACT_INVALID') && /"bad\.json" is not a valid XGBoost model/.test(e.message) && pattern.test(e.message),
      );
    };
    await refuses(text.slice(0, text.length / 2), /JSON does not parse/);
    await refuses(text.replace('"binary:logistic"', '"reg:quantileerror"'), /objective "reg:quantileerror" is not supported/);
    await refuses(text.replace('"split_type":[0', '"split_type":[1'), /categorical node 0 has no category set/);
    await refuses(text.replace('"split_type":[0', '"split_type":[7'), /split_type\[0\] = 7/);
    await refuses(text.replace('"left_children":[1,', '"left_children":[0,'), /reached twice/);
    await refuses(text.replace('"split_indices":[27,', '"split_indices":[99,'), /feature 99/);
    await refuses(text.replace('"name":"gbtree"', '"name":"boosted-forest"'), /booster "boosted-forest" is not supported/);
    await refuses('{"learner": {}}', /learner_model_param is missing/);
    const ubj = readFileSync(join(DIR, 'breast_hist/model.ubj'));
    await refuses(ubj.subarray(0, ubj.length - 100), /unexpected end of data/);
  });

  it('reads the bare NaN/Infinity tokens xgboost writes, leaving strings alone', () => {
    const text = '{"a":[NaN,1.5E0,-Infinity],"b":"NaN, \\"Infinity\\"","c":Infinity}';
    assert.deepEqual(JSON.parse(jsonWithNaN(text)), { a: [null, 1.5, null], b: 'NaN, "Infinity"', c: null });
    assert.equal(jsonWithNaN('{"x": 1}'), '{"x": 1}');
  });

  it('decodes UBJSON containers, typed arrays and big-endian numbers', () => {
    const bytes = Buffer.concat([
      Buffer.from('{i\x01aSi\x02hii\x01b[$d#i\x02', 'latin1'),
      Buffer.from([0x3f, 0xc0, 0, 0, 0xbf, 0x80, 0, 0]),
      Buffer.from('i\x01c[I\x01\x00TZ]}', 'latin1'),
    ]);
    const v = decodeUbjson(bytes) as Record<string, unknown>;
    assert.equal(v.a, 'hi');
    assert.deepEqual(Array.from(v.b as Float32Array), [1.5, -1]);
    assert.deepEqual(v.c, [256, true, null]);
  });
});

describe('ferry register + predict an XGBoost model', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  after(() => tmp.cleanup());

  it('breast_nan (JSON, empty CSV cells = missing) matches xgboost', async () => {
    const f = load('breast_nan');
    const reg = await runCli(['register', join(f.dir, 'model.json'), '--name', 'xgb'], env);
    assert.equal(reg.code, 0, reg.stderr);
    const out = join(tmp.dir, 'out.jsonl');
    const pred = await runCli(['predict', 'xgb', '--input', join(f.dir, 'input.csv'), '--key', 'id', '--output', out], env);
    assert.equal(pred.code, 0, pred.stderr);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: number; probabilities: number[]; label: number });
    assert.equal(rows.length, f.rows);
    let max = 0;
    rows.forEach((row, i) => {
      assert.equal(row.id, i);
      assert.equal(row.label, f.expected.label?.[i]);
      const want = f.expected.probabilities?.[i] ?? [];
      row.probabilities.forEach((p, k) => { max = Math.max(max, Math.abs(p - (want[k] ?? Number.NaN))); });
    });
    assert.ok(max <= TOLERANCE, `max abs error ${max}`);
  });
});

describe('xgboost in worker threads (how the server runs models)', () => {
  it('RuntimeCatalog.load with workers gives the same predictions, off the calling thread', async () => {
    const f = fixtures.find((x) => x.name === 'breast_nan')!;
    const runtime = await new RuntimeCatalog().load('xgboost', readFileSync(join(f.dir, 'model.json')), { workers: 1 }, f.name);
    try {
      assert.equal(runtime.constructor.name, 'ThreadedRuntime');
      const out = await runtime.predict({ input: { dtype: 'float32', shape: [f.rows, f.columns.length], data: f.x } });
      for (const name of expectedOutputs(f.expected)) assert.ok(maxError(out[name]!, reference(f, name)) <= TOLERANCE, name);
    } finally {
      await runtime.close();
    }
  });
});

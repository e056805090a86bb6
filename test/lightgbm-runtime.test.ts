/**
 * The native LightGBM runtime against fixtures/lightgbm: text models in save_model's layout whose
 * expected predictions come from an independent evaluator (scripts/fixtures/lightgbm_reference.py)
 * and, for the hand-built model, from values worked out by hand (fixtures/lightgbm/README.md).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import type { Tensor } from '../src/core/tensor.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';
import { compileLightgbm } from '../src/runtimes/lightgbm/lightgbm-text.js';
import { lightgbmRuntime } from '../src/runtimes/lightgbm/lightgbm-runtime.js';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const DIR = join(ROOT, 'fixtures/lightgbm');
/** The reference evaluator does the same double arithmetic in the same order: the answers are identical. */
const TOLERANCE = 1e-12;

interface Expected {
  objective: string;
  raw: number[][];
  prediction?: number[];
  probabilities?: number[][];
  label?: number[];
}

interface Fixture {
  name: string;
  dir: string;
  columns: string[];
  rows: number;
  x: Float64Array;
  text: string;
  expected: Expected;
}

function load(name: string): Fixture {
  const dir = join(DIR, name);
  const lines = readFileSync(join(dir, 'input.csv'), 'utf8').trim().split('\n');
  const columns = (lines[0] ?? '').split(',').slice(1);
  const rows = lines.length - 1;
  const x = new Float64Array(rows * columns.length);
  lines.slice(1).forEach((line, r) => {
    line.split(',').slice(1).forEach((cell, j) => {
      x[r * columns.length + j] = cell === '' ? Number.NaN : Number(cell);
    });
  });
  const text = readFileSync(join(dir, 'model.txt'), 'utf8');
  return { name, dir, columns, rows, x, text, expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected };
}

const fixtures = readdirSync(DIR).filter((n) => existsSync(join(DIR, n, 'expected.json'))).sort().map(load);

function outputsOf(e: Expected): string[] {
  return e.probabilities ? ['probabilities', 'label'] : ['prediction'];
}

function reference(f: Fixture, output: string): number[] {
  const e = f.expected;
  const v = output === 'prediction' ? e.prediction : output === 'probabilities' ? e.probabilities : e.label;
  assert.ok(v, `${f.name}: expected.json has no ${output}`);
  return v.flat();
}

function maxError(t: Tensor, want: readonly number[]): number {
  assert.equal(t.data.length, want.length);
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(Number(t.data[i]) - (want[i] ?? Number.NaN)));
  return max;
}

const tensor = (f: Fixture): Tensor => ({ dtype: 'float64', shape: [f.rows, f.columns.length], data: f.x });

describe('lightgbm runtime', () => {
  it('has fixtures for every objective, split kind and missing type it claims', () => {
    const objectives = new Set(fixtures.map((f) => f.expected.objective.split(' ')[0]));
    for (const o of ['regression', 'regression_l1', 'huber', 'binary', 'multiclass', 'multiclassova', 'poisson', 'gamma', 'tweedie', 'lambdarank', 'cross_entropy']) {
      assert.ok(objectives.has(o), o);
    }
    const all = fixtures.map((f) => f.text).join('\n');
    assert.match(all, /^num_cat=[1-9]/m, 'categorical splits');
    assert.match(all, /^is_linear=1/m, 'linear trees');
    assert.match(all, /^average_output$/m, 'random forest');
    const types = new Set(all.split('\n').filter((l) => l.startsWith('decision_type=')).flatMap((l) => l.slice(14).split(' ')).map(Number));
    for (const t of [0, 2, 4, 6, 8, 10, 1, 9]) assert.ok(types.has(t), `decision_type ${t}`);
    assert.ok(fixtures.every((f) => f.x.some((v) => Number.isNaN(v))), 'every input has missing cells');
    // Both evaluation loops are exercised: the fast one (plain splits only) and the general one.
    const simple = fixtures.map((f) => compileLightgbm(f.text).simple);
    assert.ok(simple.includes(true) && simple.includes(false), 'fast and general evaluation paths');
  });

  for (const f of fixtures) {
    it(`${f.name}: signature and the reference predictions within ${TOLERANCE}`, async () => {
      const bytes = Buffer.from(f.text);
      assert.equal(lightgbmRuntime.sniff(bytes), 'yes');
      const runtime = await loadArtifact(lightgbmRuntime, bytes, {}, f.name);
      try {
        const sig = runtime.signature();
        const input = sig.inputs[0];
        assert.deepEqual({ name: input?.name, dtype: input?.dtype, shape: input?.shape, nullable: input?.nullable }, { name: 'input', dtype: 'float64', shape: [-1, f.columns.length], nullable: true });
        if (f.columns.every((c, i) => c === `Column_${i}`)) assert.equal(input?.columns, undefined);
        else assert.deepEqual(input?.columns, f.columns);
        const names = outputsOf(f.expected);
        assert.deepEqual(sig.outputs.map((o) => o.name), names);
        const out = await runtime.predict({ input: tensor(f) });
        for (const name of names) {
          const t = out[name];
          assert.ok(t, name);
          assert.deepEqual(t.shape, sig.outputs.find((o) => o.name === name)?.shape.map((d) => (d < 0 ? f.rows : d)));
          const err = maxError(t, reference(f, name));
          assert.ok(err <= TOLERANCE, `${f.name} ${name}: max abs error ${err}`);
        }
        // One row alone answers as in the batch; float32 tensors are accepted too.
        const one = await runtime.predict({ input: { dtype: 'float64', shape: [1, f.columns.length], data: f.x.slice(0, f.columns.length) } }, [names[0] ?? '']);
        assert.deepEqual(Object.keys(one), [names[0]]);
        assert.ok(maxError(one[names[0] ?? '']!, reference(f, names[0] ?? '').slice(0, one[names[0] ?? '']!.data.length)) <= TOLERANCE);
      } finally {
        await runtime.close();
      }
    });
  }

  it('the hand-built model gives the raw scores worked out by hand', async () => {
    const f = load('hand');
    const hand = JSON.parse(readFileSync(join(f.dir, 'hand-derived.json'), 'utf8')) as { raw: number[] };
    const runtime = await loadArtifact(lightgbmRuntime, Buffer.from(f.text), {}, 'hand');
    const out = await runtime.predict({ input: tensor(f) });
    const p = out.probabilities!.data as Float64Array;
    hand.raw.forEach((raw, r) => {
      assert.ok(Math.abs((p[2 * r + 1] ?? 0) - 1 / (1 + Math.exp(-raw))) < 1e-15, `row ${r}`);
      assert.equal(out.label!.data[r], raw > 0 ? 1n : 0n);
    });
  });

  it('breast_bench (xgboost trees rewritten as LightGBM) gives xgboost 1.7.4\'s own probabilities', async () => {
    const f = load('breast_bench');
    const xgb = JSON.parse(readFileSync(join(f.dir, 'xgboost_expected.json'), 'utf8')) as { probabilities: number[][]; label: number[] };
    const runtime = await loadArtifact(lightgbmRuntime, Buffer.from(f.text), {}, f.name);
    const out = await runtime.predict({ input: tensor(f) });
    // xgboost adds leaves in float32, LightGBM in double: the sums differ in the last float32 bits.
    assert.ok(maxError(out.probabilities!, xgb.probabilities.flat()) <= 1e-6);
    assert.deepEqual([...out.label!.data].map(Number), xgb.label);
  });

  it('the catalog detects LightGBM text models by content', () => {
    const catalog = new RuntimeCatalog();
    assert.equal(catalog.detect(Buffer.from(fixtures[0]!.text), 'model.txt').format, 'lightgbm');
    assert.equal(catalog.detect(Buffer.from(fixtures[0]!.text.replace(/\n/g, '\r\n')), 'model.txt').format, 'lightgbm');
    assert.equal(lightgbmRuntime.sniff(Buffer.from('tree house\nnum_class=1')), 'no');
    assert.equal(lightgbmRuntime.sniff(Buffer.from('treelite model\n')), 'no');
  });

  it('refuses damaged and unsupported models with FERRY_E_ARTIFACT_INVALID naming the problem', async () => {
    const text = load('hand').text;
    const refuses = async (bytes: string | Uint8Array, pattern: RegExp): Promise<void> => {
      await assert.rejects(
        loadArtifact(lightgbmRuntime, typeof bytes === 'string' ? Buffer.from(bytes) : bytes, {}, 'bad.txt'),
        (e) => isFerryError(e, 'FERRY_E_ARTIFACT_INVALID') && /"bad\.txt" is not a valid LightGBM model/.test(e.message) && pattern.test(e.message),
      );
    };
    await refuses(text.slice(0, text.indexOf('Tree=1')), /end of trees" is missing/);
    await refuses(text.replace('objective=binary sigmoid:1', 'objective=custom_thing'), /objective "custom_thing" is not supported/);
    await refuses(text.replace('objective=binary sigmoid:1\n', ''), /"objective" is missing/);
    await refuses(text.replace('left_child=-1 -2', 'left_child=0 -2'), /reached twice/);
    await refuses(text.replace('split_feature=0 1', 'split_feature=0 7'), /feature 7/);
    await refuses(text.replace('leaf_value=-1 0.5 1', 'leaf_value=-1 0.5'), /leaf_value" has 2 values, expected 3/);
    await refuses(text.replace('leaf_value=-1 0.5 1', 'leaf_value=-1 nan 1'), /not a finite number/);
    await refuses(text.replace('cat_boundaries=0 1', 'cat_boundaries=0 2'), /cat_threshold" has 1 values, expected 2/);
    await refuses(text.replace('Tree=1', 'Tree=5'), /out of order/);
    await refuses(text.replace('num_tree_per_iteration=1', 'num_tree_per_iteration=3'), /does not fit num_tree_per_iteration=3/);
    await refuses(new Uint8Array([0x74, 0x72, 0x65, 0x65, 0x0a, 0xff, 0xfe]), /not valid UTF-8/);
  });

  it('rejects tensors of the wrong width with a catalog error', async () => {
    const runtime = await loadArtifact(lightgbmRuntime, Buffer.from(load('hand').text), {}, 'hand');
    await assert.rejects(runtime.predict({ input: { dtype: 'float64', shape: [1, 2], data: new Float64Array(2) } }), (e) => isFerryError(e, 'FERRY_E_TENSOR_SHAPE'));
    await assert.rejects(runtime.predict({ input: { dtype: 'float64', shape: [1, 3], data: new Float64Array(3) } }, ['margin']), (e) => isFerryError(e, 'FERRY_E_OUTPUT_UNKNOWN'));
  });
});

describe('lightgbm in worker threads (how the server runs models)', () => {
  it('RuntimeCatalog.load with workers scores the same, off the calling thread', async () => {
    const f = fixtures.find((x) => x.name === 'multiclass_categorical')!;
    const runtime = await new RuntimeCatalog().load('lightgbm', Buffer.from(f.text), { workers: 1 }, f.name);
    try {
      assert.equal(runtime.constructor.name, 'ThreadedRuntime');
      const out = await runtime.predict({ input: tensor(f) });
      for (const name of outputsOf(f.expected)) assert.ok(maxError(out[name]!, reference(f, name)) <= TOLERANCE, name);
    } finally {
      await runtime.close();
    }
  });
});

describe('ferry register + predict a LightGBM model', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  after(() => tmp.cleanup());

  it('binary_missing (format detected, empty CSV cells = missing) matches the reference', async () => {
    const f = load('binary_missing');
    const reg = await runCli(['register', join(f.dir, 'model.txt'), '--name', 'lgb'], env);
    assert.equal(reg.code, 0, reg.stderr);
    const out = join(tmp.dir, 'out.jsonl');
    const pred = await runCli(['predict', 'lgb', '--input', join(f.dir, 'input.csv'), '--key', 'id', '--output', out], env);
    assert.equal(pred.code, 0, pred.stderr);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: number; probabilities: number[]; label: number });
    assert.equal(rows.length, f.rows);
    let max = 0;
    rows.forEach((row, i) => {
      assert.equal(row.label, f.expected.label?.[i]);
      row.probabilities.forEach((p, k) => { max = Math.max(max, Math.abs(p - (f.expected.probabilities?.[i]?.[k] ?? Number.NaN))); });
    });
    assert.ok(max <= TOLERANCE, `max abs error ${max}`);
  });
});

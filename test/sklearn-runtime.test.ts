/**
 * The sklearn runtime against scikit-learn's own predictions: every fixture written by
 * scripts/fixtures/sklearn_fixtures.py (joblib files, plain pickles of protocols 2, 4, 5, and
 * each joblib compressor), loaded without Python and scored on held-back rows.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { isFerryError } from '../src/core/errors.js';
import type { Tensor } from '../src/core/tensor.js';
import { decompress, decompressAsync } from '../src/runtimes/sklearn/pickle/joblib.js';
import { PickleLimitExceeded } from '../src/runtimes/sklearn/pickle/values.js';
import { decodeDocument, encodeDocument, type DocValue } from '../src/runtimes/sklearn/document.js';
import { sklearnRuntime } from '../src/runtimes/sklearn/sklearn-runtime.js';
import { ROOT } from './helpers/env.js';
import { loadArtifact, translateArtifact } from '../src/runtimes/artifact-error.js';

const DIR = join(ROOT, 'fixtures/sklearn');
const models = readdirSync(DIR).filter((n) => existsSync(join(DIR, n, 'expected.json'))).sort();

interface Expected {
  readonly estimator: string;
  readonly columns: readonly string[];
  readonly label?: readonly (string | number)[];
  readonly probabilities?: readonly (readonly number[])[];
  readonly prediction?: readonly number[];
}

/** input.csv as a float64 matrix (empty cells: NaN). */
function readInput(name: string): { data: Float64Array; rows: number; columns: string[] } {
  const [head, ...lines] = readFileSync(join(DIR, name, 'input.csv'), 'utf8').trim().split(/\r?\n/);
  const columns = head!.split(',');
  const data = new Float64Array(lines.length * columns.length);
  lines.forEach((l, r) => l.split(',').forEach((c, j) => (data[r * columns.length + j] = c === '' ? Number.NaN : Number(c))));
  return { data, rows: lines.length, columns };
}

/** input.csv as text cells, row by row. */
function readCells(name: string): string[][] {
  const [, ...lines] = readFileSync(join(DIR, name, 'input.csv'), 'utf8').trim().split(/\r?\n/);
  return lines.map((l) => l.split(','));
}

/** |a − b| ≤ tol · max(1, |b|). */
export function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs scikit-learn ${expected}`);
}

export function compare(out: Record<string, Tensor>, expected: Expected, tol: number, what: string): void {
  if (expected.label) {
    const labels = Array.from(out.label!.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v));
    assert.deepEqual(labels, expected.label, `${what}: labels`);
  }
  if (expected.probabilities) {
    const p = out.probabilities!.data as Float64Array;
    const k = expected.probabilities[0]!.length;
    expected.probabilities.forEach((row, r) => row.forEach((v, j) => close(p[r * k + j]!, v, tol, `${what} row ${r} class ${j}`)));
  }
  if (expected.prediction) expected.prediction.forEach((v, r) => close((out.prediction!.data as Float64Array)[r]!, v, tol, `${what} row ${r}`));
}

async function check(name: string, file: string): Promise<void> {
  const expected = JSON.parse(readFileSync(join(DIR, name, 'expected.json'), 'utf8')) as Expected;
  const { data, rows } = readInput(name);
  const runtime = await loadArtifact(sklearnRuntime, readFileSync(join(DIR, name, file)), {}, `${name}/${file}`);
  const specs = runtime.signature().inputs;
  // Models with text columns take one input per column, as the DataFrame had them.
  const inputs: Record<string, Tensor> = specs.length > 1
    ? Object.fromEntries(specs.map((spec, j) => [spec.name, spec.dtype === 'string'
      ? { dtype: 'string', shape: [rows], data: readCells(name).map((row) => row[j] === '' ? null : row[j]!) } as unknown as Tensor
      : { dtype: 'float64', shape: [rows], data: Float64Array.from({ length: rows }, (_, r) => data[r * specs.length + j]!) }]))
    : { input: { dtype: 'float64', shape: [rows, expected.columns.length], data } };
  const out = await runtime.predict(inputs);
  compare(out, expected, 1e-9, `${name}/${file}`);
}

describe('sklearn runtime: scikit-learn 1.2.1 predictions reproduced', () => {
  for (const name of models) {
    it(`${name}: labels exactly, probabilities/predictions within 1e-9`, () => check(name, 'model.joblib'));
  }

  it('plain pickles of protocols 2, 4 and 5, and joblib files compressed with zlib, gzip, bz2 and xz', async () => {
    for (const f of ['model.p2.pkl', 'model.p4.pkl', 'model.p5.pkl', 'model.joblib.zlib', 'model.joblib.gzip', 'model.joblib.bz2', 'model.joblib.xz', 'model.joblib.lzma']) await check('dt_iris', f);
  });

  it('a zlib or gzip joblib file whose pickle is larger than 64 KB is recognised by its content', () => {
    // knn_diabetes keeps its training rows (78 KB); compressed, the first 64 KB of the file inflate to more than 64 KB.
    const pickle = readFileSync(join(DIR, 'knn_diabetes', 'model.joblib'));
    assert.ok(pickle.length > 1 << 16);
    const noise = Buffer.concat([pickle, randomBytes(1 << 17)]);
    for (const bytes of [deflateSync(noise, { level: 3 }), gzipSync(noise, { level: 3 })]) {
      assert.ok(bytes.length > 1 << 16);
      assert.equal(sklearnRuntime.sniff(bytes), 'yes');
      assert.equal(sklearnRuntime.sniff(bytes.subarray(0, 200)), 'yes'); // a cut stream too
    }
    assert.equal(sklearnRuntime.sniff(deflateSync(Buffer.from('{"not": "a pickle"}'))), 'no');
  });

  it('an xz stream stops at the size limit, before the memory is taken', async () => {
    const bytes = readFileSync(join(DIR, 'dt_iris', 'model.joblib.xz'));
    await assert.rejects(decompressAsync(bytes, 1000), (e) => e instanceof PickleLimitExceeded);
    const damaged = Uint8Array.from(bytes);
    damaged.fill(0x41, 40, 200);
    await assert.rejects(loadArtifact(sklearnRuntime, damaged, {}, 'damaged.xz'), (e) => isFerryError(e, 'FERRY_E_ARTIFACT_INVALID'));
  });

  it('an lzma stream stops at the size limit, and a damaged one is refused', async () => {
    const bytes = readFileSync(join(DIR, 'dt_iris', 'model.joblib.lzma'));
    assert.throws(() => decompress(bytes, 1000), (e) => e instanceof PickleLimitExceeded);
    for (const at of [13, 20, 60, 200, bytes.length - 5]) {
      const damaged = Uint8Array.from(bytes);
      damaged[at] = damaged[at]! ^ 0x5a;
      // A flipped byte either fails to decode or decodes to a stream the unpickler refuses: never a crash or a hang.
      await assert.rejects(loadArtifact(sklearnRuntime, damaged, {}, 'damaged.lzma'), (e) => isFerryError(e));
    }
  });

  it('lz4 files are refused with advice to re-save', async () => {
    for (const c of ['lz4']) {
      await assert.rejects(loadArtifact(sklearnRuntime, readFileSync(join(DIR, 'dt_iris', `model.joblib.${c}`)), {}, c), (e) => isFerryError(e, 'FERRY_E_ARTIFACT_INVALID') && /compress=3/.test(e.message));
    }
  });
});

describe('sklearn runtime: text columns (ColumnTransformer, encoders)', () => {
  const load = async (name: string) => {
    const bytes = readFileSync(join(DIR, name, 'model.joblib'));
    const t = await translateArtifact(sklearnRuntime, bytes, name);
    return { doc: decodeDocument(t!.artifact), runtime: await loadArtifact(sklearnRuntime, t!.artifact, {}, name) };
  };
  const row = (plan: string | null, city: string | null): Record<string, Tensor> => ({
    age: { dtype: 'float64', shape: [1], data: Float64Array.of(41) },
    income: { dtype: 'float64', shape: [1], data: Float64Array.of(20000) },
    city: { dtype: 'string', shape: [1], data: [city] } as unknown as Tensor,
    plan: { dtype: 'string', shape: [1], data: [plan] } as unknown as Tensor,
  });

  it('the signature takes one input per DataFrame column, text where an encoder was fitted on text', async () => {
    const { runtime } = await load('ct_onehot_drop_rf');
    assert.deepEqual(runtime.signature().inputs.map((s) => `${s.name}:${s.dtype}`), ['age:float64', 'income:float64', 'city:string', 'plan:string']);
  });

  it('a category never seen in training is refused by handle_unknown="error", and ignored by "ignore"', async () => {
    const strict = (await load('ct_onehot_drop_rf')).runtime;
    await assert.rejects(strict.predict(row('gold', 'paris')), (e) => isFerryError(e, 'FERRY_E_VALUE_TYPE') && /"gold"/.test(e.message) && /"basic"/.test(e.message));
    const lenient = (await load('ct_onehot_logreg')).runtime;
    const out = await lenient.predict(row('gold', 'paris'));
    assert.equal(out.probabilities!.shape[1], 2);
  });

  it('a document whose column selection points outside the input is refused on load', async () => {
    const { doc } = await load('ct_onehot_logreg');
    const steps = doc.steps as Record<string, DocValue>[];
    const branches = steps[0]!.branches as Record<string, DocValue>[];
    const tampered = { ...doc, steps: [{ ...steps[0]!, branches: [{ ...branches[0]!, select: Int32Array.of(0, 9) }, ...branches.slice(1)] }, ...steps.slice(1)] };
    await assert.rejects(loadArtifact(sklearnRuntime, encodeDocument(tampered), {}, 'tampered'), (e) => isFerryError(e, 'FERRY_E_ARTIFACT_INVALID') && /outside/.test(e.message));
  });
});

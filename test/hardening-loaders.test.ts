/**
 * Regression tests for model files that cost a few kilobytes to write and gigabytes to load
 * (issue #18): an XGBoost or LightGBM width no tree uses, nested UBJSON containers of
 * zero-width elements, and warm-up allocating whatever width a model declares.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import { lightgbmRuntime } from '../src/runtimes/lightgbm/lightgbm-runtime.js';
import { decodeUbjson, UbjsonError } from '../src/runtimes/xgboost/ubjson.js';
import { xgboostRuntime } from '../src/runtimes/xgboost/xgboost-runtime.js';
import { ROOT } from './helpers/env.js';
import { startInProcess } from './helpers/inproc.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const XGB = join(ROOT, 'fixtures/xgboost/breast_hist/model.json');
const LGBM = join(ROOT, 'fixtures/lightgbm/binary_plain/model.txt');

describe('widths no tree uses', () => {
  it('an XGBoost model with num_feature 50 000 000 is refused at load, naming the width its trees use', async () => {
    const doc = JSON.parse(readFileSync(XGB, 'utf8')) as { learner: { learner_model_param: { num_feature: string }; feature_names?: string[]; feature_types?: string[] } };
    doc.learner.learner_model_param.num_feature = '50000000';
    delete doc.learner.feature_names;
    delete doc.learner.feature_types;
    const bytes = Buffer.from(JSON.stringify(doc));
    const rss = process.memoryUsage().rss;
    await assert.rejects(loadArtifact(xgboostRuntime, bytes, {}, 'wide.json'), (err) => isFerryError(err, 'FERRY_E_ARTIFACT_INVALID') && /num_feature is 50000000.*trees split on features 0\.\.\d+/.test(err.message));
    assert.ok(process.memoryUsage().rss - rss < 100 * 1024 * 1024, 'refused without allocating the width');
  });

  it('a LightGBM model with max_feature_idx 49 999 999 is refused at load', async () => {
    const text = readFileSync(LGBM, 'utf8').replace(/^max_feature_idx=\d+$/m, 'max_feature_idx=49999999').replace(/^feature_names=.*$/m, 'feature_names=');
    await assert.rejects(loadArtifact(lightgbmRuntime, Buffer.from(text), {}, 'wide.txt'), (err) => isFerryError(err, 'FERRY_E_ARTIFACT_INVALID') && /max_feature_idx is 49999999/.test(err.message));
  });
});

describe('UBJSON element budget', () => {
  it('nested typed containers of zero-width elements are refused instead of exhausting the heap', () => {
    // [$[#I<1000> then 1000 inner arrays, each "$Z#I<4000>": 7 KB on disk, 4 M nulls decoded.
    const inner = Buffer.from([0x24, 0x5a, 0x23, 0x49, 4000 >> 8, 4000 & 0xff]);
    const doc = Buffer.concat([Buffer.from([0x5b, 0x24, 0x5b, 0x23, 0x49, 1000 >> 8, 1000 & 0xff]), ...Array.from({ length: 1000 }, () => inner)]);
    assert.ok(doc.length < 8000);
    assert.throws(() => decodeUbjson(doc), (err) => err instanceof UbjsonError && /more elements than its size allows/.test(err.message));
    // An ordinary model still decodes.
    const ubj = readFileSync(join(ROOT, 'fixtures/xgboost/breast_hist/model.ubj'));
    assert.equal(typeof decodeUbjson(ubj), 'object');
  });
});

describe('warm-up memory', () => {
  it('warm-up is skipped when one row of zeros would exceed 16 Mi elements (a 94-byte ONNX file declares 36 M)', async () => {
    const lines: string[] = [];
    const srv = await startInProcess({ register: [{ path: join(ROOT, 'fixtures/hardening/huge_input.onnx'), name: 'huge' }], log: (l) => lines.push(l) });
    try {
      assert.equal((await fetch(`${srv.url}/v2/health/ready`)).status, 200, 'loaded, not warmed');
      const skipped = lines.map((l) => JSON.parse(l) as { msg: string; elements?: number }).find((l) => l.msg.startsWith('warm-up skipped'));
      assert.equal(skipped?.elements, 36_000_000, 'the skip is logged with the size');
    } finally {
      await srv.cleanup();
    }
  });
});

describe('warm-up input a model refuses', () => {
  it('a scikit-learn model whose encoder refuses empty text (handle_unknown="error") is loaded and answers', async () => {
    const lines: string[] = [];
    const dir = join(ROOT, 'fixtures/sklearn/ct_onehot_drop_rf');
    const srv = await startInProcess({ register: [{ path: join(dir, 'model.joblib'), name: 'ct' }], log: (l) => lines.push(l) });
    try {
      assert.equal((await fetch(`${srv.url}/v2/health/ready`)).status, 200);
      const refused = lines.map((l) => JSON.parse(l) as { msg: string; code?: string }).find((l) => l.msg.startsWith('warm-up input refused'));
      assert.equal(refused?.code, 'FERRY_E_VALUE_TYPE', 'the encoder refused the empty text as an unknown category');
      const [head = '', first = ''] = readFileSync(join(dir, 'input.csv'), 'utf8').split(/\r?\n/);
      const cells = first.split(',');
      const row = Object.fromEntries(head.split(',').map((c, i) => [c, i < 2 ? (cells[i] === '' ? null : Number(cells[i])) : cells[i]]));
      const r = await fetch(`${srv.url}/models/ct/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dataframe_records: [row] }) });
      assert.equal(r.status, 200, await r.clone().text());
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { label: string[]; probabilities: number[][] };
      const body = await r.json() as { predictions: { label: string; probabilities: number[] }[] };
      assert.equal(body.predictions[0]?.label, expected.label[0]);
      body.predictions[0]?.probabilities.forEach((p, k) => assert.ok(Math.abs(p - expected.probabilities[0]![k]!) < 1e-9));
    } finally {
      await srv.cleanup();
    }
  });
});

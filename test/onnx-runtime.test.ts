/** The ONNX runtime behind ModelRuntime: signatures from the graph, typed tensors, errors. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';
import { onnxRuntime } from '../src/runtimes/onnx/onnx-runtime.js';
import { fixture, fixtures } from './helpers/fixtures.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

describe('onnx runtime', () => {
  for (const f of fixtures()) {
    it(`${f.name}: signature derived from the graph matches the exporter's`, async () => {
      const runtime = await loadArtifact(onnxRuntime, readFileSync(f.model), { intraOpThreads: 1, interOpThreads: 1 }, f.name);
      try {
        const sig = runtime.signature();
        assert.deepEqual(sig.inputs.map((s) => ({ name: s.name, dtype: s.dtype, shape: s.shape })), f.meta.inputs);
        assert.deepEqual(sig.outputs.map((s) => ({ name: s.name, dtype: s.dtype, shape: s.shape })), f.meta.outputs);
      } finally {
        await runtime.close();
      }
    });
  }

  it('string inputs and outputs, int64 outputs', async () => {
    const f = fixture('iris_string');
    const runtime = await loadArtifact(onnxRuntime, readFileSync(f.model), {}, f.name);
    try {
      const out = await runtime.predict({
        sepal: { dtype: 'float32', shape: [2, 2], data: new Float32Array([5.1, 3.5, 6.7, 3.0]) },
        petal_size: { dtype: 'string', shape: [2, 1], data: ['small', 'large'] },
      });
      assert.deepEqual(out.species?.data, ['setosa', 'virginica']);
      assert.equal(out.probabilities?.dtype, 'float32');
      assert.deepEqual(out.probabilities?.shape, [2, 3]);
    } finally {
      await runtime.close();
    }
    const wine = fixture('wine_two_inputs');
    const w = await loadArtifact(onnxRuntime, readFileSync(wine.model), {}, wine.name);
    try {
      const out = await w.predict({
        numeric: { dtype: 'float32', shape: [1, 12], data: new Float32Array(12).fill(1) },
        bucket: { dtype: 'int64', shape: [1, 1], data: new BigInt64Array([2n]) },
      }, ['label']);
      assert.equal(out.label?.dtype, 'int64');
      assert.deepEqual(Object.keys(out), ['label'], 'only the requested output is computed');
    } finally {
      await w.close();
    }
  });

  it('sniffs ONNX by content and refuses what is not a model', async () => {
    const catalog = new RuntimeCatalog();
    assert.equal(catalog.detect(readFileSync(fixture('breast_mlp').model), 'x').format, 'onnx');
    await assert.rejects(loadArtifact(onnxRuntime, Buffer.from('not a model at all'), {}, 'junk.onnx'), (e) => isFerryError(e, 'FERRY_E_ARTIFACT_INVALID') && /junk\.onnx/.test(e.message));
    assert.throws(() => catalog.get('caffe'), (e) => isFerryError(e, 'FERRY_E_RUNTIME_UNAVAILABLE') && /onnx/.test(e.message));
  });
});

describe('onnx in worker threads', () => {
  it('predicts like the in-process session, and a file that is no model is refused with its catalog error', async () => {
    const f = fixture('breast_mlp');
    const catalog = new RuntimeCatalog();
    const threaded = await catalog.load('onnx', readFileSync(f.model), { workers: 1 }, f.name);
    const inline = await catalog.load('onnx', readFileSync(f.model), {}, f.name);
    try {
      const x = { input: { dtype: 'float32' as const, shape: [2, 30], data: new Float32Array(60).fill(0.5) } };
      assert.deepEqual(Array.from((await threaded.predict(x)).probabilities!.data as Float32Array), Array.from((await inline.predict(x)).probabilities!.data as Float32Array));
      await assert.rejects(threaded.predict({ input: { dtype: 'float32', shape: [1, 3], data: new Float32Array(3) } }), (e) => isFerryError(e, 'FERRY_E_PREDICTION_FAILED') && /input/.test(e.message));
    } finally {
      await threaded.close();
      await inline.close();
    }
    await assert.rejects(catalog.load('onnx', Buffer.from('not a model at all'), { workers: 1 }, 'junk.onnx'),
      (e) => isFerryError(e, 'FERRY_E_ARTIFACT_INVALID') && /^"junk\.onnx" is not a valid ONNX model: [^"]+$/.test(e.message));
  });
});

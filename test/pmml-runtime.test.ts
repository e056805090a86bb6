/**
 * The PMML runtime: documents are detected by content, compiled once, and score like the
 * reference (scikit-learn's own predictions, hand-derived values) through the Scorer; what the
 * evaluator does not implement is refused at load naming the element; malformed XML is a
 * catalog error; worker threads give the same answers with text and missing values.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import type { Tensor } from '../src/core/tensor.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';
import { pmmlRuntime } from '../src/runtimes/pmml/pmml-runtime.js';
import { runCorpus } from '../scripts/pmml-corpus.js';
import { ROOT } from './helpers/env.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const FIXTURES = join(ROOT, 'fixtures/pmml');
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A small document around a model body. */
function doc(model: string, fields = '<DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/>', extra = ''): string {
  return `<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>${fields}</DataDictionary>${extra}${model}</PMML>`;
}

const REGRESSION = `<RegressionModel functionName="regression"><MiningSchema><MiningField name="y" usageType="target"/><MiningField name="x"/></MiningSchema>
  <RegressionTable intercept="1"><NumericPredictor name="x" coefficient="2"/></RegressionTable></RegressionModel>`;

describe('PMML runtime', () => {
  it('every fixture case scores like its reference (sklearn predict/predict_proba, hand-derived values)', async () => {
    const { cases, outcomes } = await runCorpus(FIXTURES);
    assert.ok(cases.length >= 6, 'the fixture corpus lists its cases');
    for (const type of ['RegressionModel', 'TreeModel', 'MiningModel']) assert.ok(cases.some((c) => c.type === type), `a ${type} fixture`);
    for (const o of outcomes) assert.ok(o.ok && o.checked > 0, `${o.id}: ${o.detail}`);
  });

  it('a tree ensemble scores the same through its array path and the general path', async () => {
    const text = readFileSync(join(FIXTURES, 'forest.pmml'), 'utf8');
    // A segment predicate other than <True/> (always true on these rows) turns the array path off.
    const general = text.replace(/(<Segment id="\d+">\s*)<True\/>/g, '$1<SimplePredicate field="mean_texture" operator="greaterThan" value="-1"/>');
    assert.notEqual(general, text);
    const [head, ...lines] = readFileSync(join(FIXTURES, 'cases/sklearn-forest/input.csv'), 'utf8').trim().split('\n');
    const names = head!.split(',');
    const inputs: Record<string, Tensor> = Object.fromEntries(names.map((n, j) => [n, {
      dtype: 'float64', shape: [lines.length], data: Float64Array.from(lines, (l, i) => (i % 5 === 0 && j % 7 === 0 ? Number.NaN : Number(l.split(',')[j]))),
    } satisfies Tensor]));
    const fast = await loadArtifact(pmmlRuntime, bytes(text), {}, 'fast');
    const slow = await loadArtifact(pmmlRuntime, bytes(general), {}, 'general');
    const a = await fast.predict(inputs);
    const b = await slow.predict(inputs);
    for (const name of Object.keys(a)) assert.deepEqual(b[name]!.data, a[name]!.data, name);
    await fast.close();
    await slow.close();
  });

  it('recognises PMML by content: declaration, comments, namespace prefix; not other XML', () => {
    const catalog = new RuntimeCatalog();
    assert.equal(catalog.detect(readFileSync(join(FIXTURES, 'forest.pmml')), 'forest.pmml').format, 'pmml');
    assert.equal(pmmlRuntime.sniff(bytes('\uFEFF<?xml version="1.0"?>\n<!-- exported --><pmml:PMML xmlns:pmml="http://www.dmg.org/PMML-4_4"/>')), 'yes');
    assert.equal(pmmlRuntime.sniff(bytes('<?xml version="1.0"?><svg/>')), 'no');
    assert.equal(pmmlRuntime.sniff(bytes('{"learner": {}}')), 'no');
  });

  it('signature: one nullable [-1] input per active field (dtype from the DataField), one output per target and final OutputField', async () => {
    const rt = await loadArtifact(pmmlRuntime, readFileSync(join(FIXTURES, 'cases/sklearn-logistic/model.pmml')), {}, 'logistic');
    const sig = rt.signature();
    assert.deepEqual(sig.inputs.map((i) => [i.name, i.dtype, i.shape, i.nullable]), [
      ['sepal_length', 'float64', [-1], true], ['sepal_width', 'float64', [-1], true], ['petal_length', 'float64', [-1], true], ['petal_width', 'float64', [-1], true],
    ]);
    assert.deepEqual(sig.outputs.map((o) => [o.name, o.dtype]), [
      ['predicted_species', 'string'], ['probability_setosa', 'float64'], ['probability_versicolor', 'float64'], ['probability_virginica', 'float64'], ['species', 'string'],
    ]);
    await rt.close();
  });

  it('missing inputs give missing results: NaN for numbers, null for text', async () => {
    const rt = await loadArtifact(pmmlRuntime, readFileSync(join(FIXTURES, 'cases/hand-missing/model.pmml')), {}, 'hand-missing');
    const out = await rt.predict({
      a: { dtype: 'float64', shape: [3], data: Float64Array.from([1, Number.NaN, 0.5]) },
      b: { dtype: 'string', shape: [3], data: ['u', 'v', null] as unknown as string[] },
    });
    assert.deepEqual([...(out.y!.data as Float64Array)], [3, Number.NaN, 2]);
    assert.deepEqual(out.tree_label!.data, ['yes', 'no', null]);
    assert.deepEqual([...(out.p_yes!.data as Float64Array)].map((v) => (Number.isNaN(v) ? null : v)), [0.75, 0.2, null]);
    await rt.close();
  });

  it('refuses what it does not implement at load, naming the element', async () => {
    const cases: [string, string][] = [
      [doc('<TextModel functionName="classification"><MiningSchema/></TextModel>'), 'TextModel'],
      [doc(REGRESSION.replace('<RegressionTable', '<LocalTransformations><DerivedField name="l" dataType="double" optype="continuous"><Lag field="x"/></DerivedField></LocalTransformations><RegressionTable')), 'Lag'],
      [doc(REGRESSION.replace('<NumericPredictor name="x"', '<NumericPredictor name="z"').replace('</MiningSchema>', '</MiningSchema><LocalTransformations><DerivedField name="z" dataType="double" optype="continuous"><Apply function="noSuchFunction"><FieldRef field="x"/></Apply></DerivedField></LocalTransformations>')), 'noSuchFunction'],
      [doc(REGRESSION.replace('functionName="regression"', 'functionName="regression" normalizationMethod="someday"')), 'someday'],
    ];
    for (const [text, name] of cases) {
      await assert.rejects(loadArtifact(pmmlRuntime, bytes(text), {}, 'bad.pmml'), (err: unknown) => {
        assert.ok(isFerryError(err), String(err));
        assert.equal(err.code, 'FERRY_E_PMML_UNSUPPORTED');
        assert.match(err.message, new RegExp(name));
        assert.match(err.message, /bad\.pmml/);
        return true;
      });
    }
  });

  it('malformed XML and invalid PMML are catalog errors, not crashes', async () => {
    await assert.rejects(loadArtifact(pmmlRuntime, bytes('<PMML version="4.4"><DataDictionary><DataField name="x"'), {}, 'broken.pmml'), (err: unknown) => {
      assert.ok(isFerryError(err));
      assert.equal(err.code, 'FERRY_E_ARTIFACT_INVALID');
      assert.match(err.message, /broken\.pmml.*XML/);
      return true;
    });
    await assert.rejects(loadArtifact(pmmlRuntime, bytes(doc('<RegressionModel functionName="regression"><RegressionTable intercept="1"/></RegressionModel>')), {}, 'noschema.pmml'), (err: unknown) => {
      assert.ok(isFerryError(err));
      assert.equal(err.code, 'FERRY_E_PMML_INVALID');
      assert.match(err.message, /MiningSchema/);
      return true;
    });
  });

  it('scores in worker threads exactly as on the calling thread (text and missing values cross the thread boundary)', async () => {
    const catalog = new RuntimeCatalog();
    const model = readFileSync(join(FIXTURES, 'cases/hand-transforms/model.pmml'));
    const inputs: Record<string, Tensor> = {
      x: { dtype: 'float64', shape: [4], data: Float64Array.from([10, 150, Number.NaN, 40]) },
      y: { dtype: 'float64', shape: [4], data: Float64Array.from([4, 12, 2, 1]) },
      color: { dtype: 'string', shape: [4], data: ['red', 'blue', null, 'purple'] as unknown as string[] },
    };
    const inline = await catalog.load('pmml', model, {}, 'inline');
    const threaded = await catalog.load('pmml', model, { workers: 2 }, 'threaded');
    try {
      const a = await inline.predict(inputs);
      const b = await threaded.predict(inputs);
      assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
      for (const name of Object.keys(a)) assert.deepEqual(b[name]!.data, a[name]!.data, name);
      assert.deepEqual([...(a.score!.data as Float64Array)], [14, 48, 17, 14]);
      assert.deepEqual(a.x_bin_out!.data, ['low', 'high', 'mid', 'mid']);
    } finally {
      await inline.close();
      await threaded.close();
    }
  });
});

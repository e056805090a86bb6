/**
 * Exact linear attributions of PMML RegressionModel and GeneralRegressionModel, against values
 * computed by hand from the PMML semantics: wⱼ · (xⱼ − E[xⱼ]) with E from the reference means, base
 * value intercept + Σ wⱼ · E[xⱼ], the margin before the normalization / link, and the model's own
 * prediction equal to the link of base + Σ contributions; categorical predictors contribute their
 * level's coefficient less its expectation under the reference shares. Models that are not linear in
 * their inputs (powers, interaction terms) have no linear structure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tensor } from '../src/core/tensor.js';
import { explainerFor } from '../src/explain/explainers.js';
import { pmmlRuntime } from '../src/runtimes/pmml/pmml-runtime.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function doc(fields: string[], target: string, model: string): string {
  const dict = fields.map((f) => `<DataField name="${f}" optype="continuous" dataType="double"/>`).join('');
  return `<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>${dict}${target}</DataDictionary>${model}</PMML>`;
}

const schema = (fields: string[], target: string): string =>
  `<MiningSchema><MiningField name="${target}" usageType="target"/>${fields.map((f) => `<MiningField name="${f}"/>`).join('')}</MiningSchema>`;

function columns(rows: number[][], names: string[]): Record<string, Tensor> {
  return Object.fromEntries(names.map((n, j) => [n, { dtype: 'float64', shape: [rows.length], data: Float64Array.from(rows, (r) => r[j]!) }]));
}

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

describe('PMML linear models: exact attributions', () => {
  it('RegressionModel (regression): w·(x − mean), base = intercept + Σ w·mean, equal to the prediction', async () => {
    // y = 1.5 + 2·a − 0.5·b (b given as two NumericPredictors, −0.25 each: they add up).
    const model = `<RegressionModel functionName="regression">${schema(['a', 'b'], 'y')}<RegressionTable intercept="1.5">
      <NumericPredictor name="a" coefficient="2"/><NumericPredictor name="b" coefficient="-0.25"/><NumericPredictor name="b" coefficient="-0.25"/></RegressionTable></RegressionModel>`;
    const runtime = await loadArtifact(pmmlRuntime, bytes(doc(['a', 'b'], '<DataField name="y" optype="continuous" dataType="double"/>', model)), {}, 'reg');
    const means = new Map([['a', 1], ['b', 4]]);
    const m = await explainerFor(runtime, runtime.signature(), 'reg', { means });
    assert.equal(m.method, 'linear');
    assert.deepEqual(m.names, ['a', 'b']);
    const rows = [[3, 2], [0, 10]];
    const { x } = m.numeric!.matrix(columns(rows, ['a', 'b']));
    const e = await m.numeric!.explainer.explain(x, 2);
    // Hand: base 1.5 + 2·1 − 0.5·4 = 1.5; row 0: a 2·(3 − 1) = 4, b −0.5·(2 − 4) = 1 → 6.5; row 1: −2, −3 → −3.5.
    close(e.base[0]!, 1.5, 'base');
    assert.deepEqual(Array.from(e.values), [4, 1, -2, -3]);
    assert.deepEqual(Array.from(e.scores), [6.5, -3.5]);
    assert.deepEqual(Array.from(e.residual), [0, 0]);
    const predicted = Object.values(await runtime.predict(columns(rows, ['a', 'b'])))[0]!.data as Float64Array;
    assert.deepEqual(Array.from(predicted), [6.5, -3.5]);
  });

  it('RegressionModel (binary classification, logit): log-odds of the first category; probability space adds up to its probability', async () => {
    const model = `<RegressionModel functionName="classification" normalizationMethod="logit">${schema(['a', 'b'], 'y')}
      <Output><OutputField name="p_yes" feature="probability" value="yes" dataType="double"/></Output>
      <RegressionTable intercept="-1" targetCategory="yes"><NumericPredictor name="a" coefficient="0.5"/><NumericPredictor name="b" coefficient="1"/></RegressionTable>
      <RegressionTable intercept="0" targetCategory="no"/></RegressionModel>`;
    const target = '<DataField name="y" optype="categorical" dataType="string"><Value value="yes"/><Value value="no"/></DataField>';
    const runtime = await loadArtifact(pmmlRuntime, bytes(doc(['a', 'b'], target, model)), {}, 'logit');
    const m = await explainerFor(runtime, runtime.signature(), 'logit', { means: new Map([['a', 2], ['b', 0]]) });
    const rows = [[4, 1]];
    const { x } = m.numeric!.matrix(columns(rows, ['a', 'b']));
    const margin = await m.numeric!.explainer.explain(x, 1);
    // Hand: base −1 + 0.5·2 + 0 = 0; a 0.5·(4 − 2) = 1, b 1·(1 − 0) = 1; margin −1 + 0.5·4 + 1 = 2.
    assert.deepEqual([margin.base[0], ...margin.values, margin.scores[0]], [0, 1, 1, 2]);
    const p = await m.numeric!.explainer.explain(x, 1, { space: 'probability' });
    const py = 1 / (1 + Math.exp(-2));
    close(p.base[0]!, 0.5, 'probability base');
    close(p.base[0]! + p.values[0]! + p.values[1]!, py, 'probability sum');
    close(p.values[0]!, p.values[1]!, 'equal margins, equal shares');
    const out = await runtime.predict(columns(rows, ['a', 'b']));
    const probability = Object.entries(out).find(([k]) => k === 'p_yes')?.[1].data as Float64Array | undefined;
    assert.ok(probability, Object.keys(out).join());
    close(probability[0]!, py, 'the model\'s own probability');
  });

  it('RegressionModel (classification, softmax): one margin per category, in table order', async () => {
    const model = `<RegressionModel functionName="classification" normalizationMethod="softmax">${schema(['a'], 'y')}
      <RegressionTable intercept="1" targetCategory="r"><NumericPredictor name="a" coefficient="2"/></RegressionTable>
      <RegressionTable intercept="0" targetCategory="g"><NumericPredictor name="a" coefficient="-1"/></RegressionTable>
      <RegressionTable intercept="0.5" targetCategory="b"/></RegressionModel>`;
    const target = '<DataField name="y" optype="categorical" dataType="string"><Value value="r"/><Value value="g"/><Value value="b"/></DataField>';
    const runtime = await loadArtifact(pmmlRuntime, bytes(doc(['a'], target, model)), {}, 'softmax');
    const m = await explainerFor(runtime, runtime.signature(), 'softmax', { means: new Map([['a', 1]]) });
    assert.equal(m.numeric!.explainer.groups, 3);
    const { x } = m.numeric!.matrix(columns([[3]], ['a']));
    const e = await m.numeric!.explainer.explain(x, 1);
    // Hand: bases 1 + 2 = 3, 0 − 1 = −1, 0.5; contributions 2·2 = 4, −1·2 = −2, 0.
    assert.deepEqual(Array.from(e.base), [3, -1, 0.5]);
    assert.deepEqual(Array.from(e.values), [4, -2, 0]);
  });

  it('GeneralRegressionModel (generalizedLinear, log link): covariate β summed per field, intercept and offsetValue in the base', async () => {
    const model = `<GeneralRegressionModel modelType="generalizedLinear" functionName="regression" linkFunction="log" offsetValue="0.1">${schema(['a', 'b'], 'y')}
      <ParameterList><Parameter name="p0"/><Parameter name="p1"/><Parameter name="p2"/></ParameterList>
      <CovariateList><Predictor name="a"/><Predictor name="b"/></CovariateList>
      <PPMatrix><PPCell value="1" predictorName="a" parameterName="p1"/><PPCell value="1" predictorName="b" parameterName="p2"/></PPMatrix>
      <ParamMatrix><PCell parameterName="p0" beta="0.2"/><PCell parameterName="p1" beta="0.3"/><PCell parameterName="p2" beta="-0.4"/></ParamMatrix>
      </GeneralRegressionModel>`;
    const runtime = await loadArtifact(pmmlRuntime, bytes(doc(['a', 'b'], '<DataField name="y" optype="continuous" dataType="double"/>', model)), {}, 'glm');
    const m = await explainerFor(runtime, runtime.signature(), 'glm', { means: new Map([['a', 1], ['b', 1]]) });
    assert.equal(m.method, 'linear');
    assert.deepEqual(m.numeric!.explainer.spaces, ['margin']);
    const rows = [[2, 0.5]];
    const { x } = m.numeric!.matrix(columns(rows, ['a', 'b']));
    const e = await m.numeric!.explainer.explain(x, 1);
    // Hand: η = 0.2 + 0.1 + 0.3·a − 0.4·b; base 0.3 + 0.3 − 0.4 = 0.2; a 0.3·1 = 0.3, b −0.4·(−0.5) = 0.2; η = 0.7.
    close(e.base[0]!, 0.2, 'base');
    close(e.values[0]!, 0.3, 'a');
    close(e.values[1]!, 0.2, 'b');
    close(e.scores[0]!, 0.7, 'margin');
    const predicted = Object.values(await runtime.predict(columns(rows, ['a', 'b'])))[0]!.data as Float64Array;
    close(predicted[0]!, Math.exp(0.7), 'the model\'s own prediction is exp(margin)');
  });

  it('RegressionModel with a CategoricalPredictor: the level\'s coefficient less its expectation under the reference shares', async () => {
    const model = `<RegressionModel functionName="regression">${schema(['a', 'c'], 'y')}<RegressionTable intercept="1">
      <NumericPredictor name="a" coefficient="2"/><CategoricalPredictor name="c" value="u" coefficient="3"/><CategoricalPredictor name="c" value="v" coefficient="-1"/></RegressionTable></RegressionModel>`;
    const cField = '<DataField name="c" optype="categorical" dataType="string"><Value value="u"/><Value value="v"/><Value value="w"/></DataField>';
    const runtime = await loadArtifact(pmmlRuntime, bytes(doc(['a'], cField + '<DataField name="y" optype="continuous" dataType="double"/>', model)), {}, 'cat');
    const m = await explainerFor(runtime, runtime.signature(), 'cat', { means: new Map([['a', 1]]), shares: new Map([['c', new Map([['u', 0.5], ['v', 0.25], ['w', 0.25]])]]) });
    assert.equal(m.method, 'linear');
    assert.deepEqual(m.names, ['a', 'c']);
    const tensors: Record<string, Tensor> = {
      a: { dtype: 'float64', shape: [4], data: Float64Array.from([3, 0, Number.NaN, 1]) },
      c: { dtype: 'string', shape: [4], data: ['v', 'w', 'u', 'zzz'] },
    };
    const e = await m.explain(tensors);
    // Hand: E[c part] = 0.5·3 + 0.25·(−1) + 0.25·0 = 1.25; base 1 + 2·1 + 1.25 = 4.25.
    // Row 0 (a 3, c v): a 2·(3 − 1) = 4, c −1 − 1.25 = −2.25 → 6. Row 1 (a 0, c w): −2, −1.25 → 1.
    close(e.base[0]!, 4.25, 'base');
    assert.deepEqual(Array.from(e.values.subarray(0, 4)), [4, -2.25, -2, -1.25]);
    assert.deepEqual(Array.from(e.scores.subarray(0, 2)), [6, 1]);
    assert.ok(Number.isNaN(e.scores[2]!), 'a missing input: the model gives no score');
    assert.ok(Number.isNaN(e.scores[3]!), 'an undeclared category is invalid: no score either');
    const predicted = Object.values(await runtime.predict(tensors))[0]!.data as Float64Array;
    assert.deepEqual(Array.from(predicted.subarray(0, 2)), [6, 1]);
  });

  it('models not linear in their inputs have no linear structure', async () => {
    const power = `<RegressionModel functionName="regression">${schema(['a'], 'y')}<RegressionTable intercept="1"><NumericPredictor name="a" exponent="2" coefficient="2"/></RegressionTable></RegressionModel>`;
    const term = `<RegressionModel functionName="regression">${schema(['a', 'b'], 'y')}<RegressionTable intercept="1"><PredictorTerm coefficient="2"><FieldRef field="a"/><FieldRef field="b"/></PredictorTerm></RegressionTable></RegressionModel>`;
    const target = '<DataField name="y" optype="continuous" dataType="double"/>';
    for (const [name, text] of [['power', doc(['a'], target, power)], ['interaction term', doc(['a', 'b'], target, term)]] as const) {
      const runtime = await loadArtifact(pmmlRuntime, bytes(text), {}, name);
      assert.equal(await runtime.structure?.(), undefined, name);
    }
  });
});

/**
 * PMML tree ensembles in exported packages: a document the server scores by its batch path ships
 * as that path's layout (`pmmlBatchData`, through the package codec) and is scored by the
 * `pmml-ensemble` evaluator — the server's `ensembleRun` and `BatchScorer` without the PMML engine.
 * Its results equal the server runtime's exactly, for every combining method the batch path takes,
 * missing inputs included; other documents keep the full engine.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Tensor } from '../src/core/tensor.js';
import { pmmlBatchData } from '../src/edge/formats.js';
import { encodeModel, encodeModelText } from '../src/edge/package/codec.js';
import { evaluator } from '../src/edge/package/evaluators/pmml-batch.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';
import { pmmlRuntime } from '../src/runtimes/pmml/pmml-runtime.js';
import { ROOT } from './helpers/env.js';
import { forestInputs } from './helpers/pmml-kernels.js';

const FIXTURES = join(ROOT, 'fixtures/pmml');
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Three regression trees, one per missing-value strategy, combined by `method`. */
function regressionEnsemble(method: string): string {
  const tree = (strategy: string, i: number): string => `<Segment id="${i}" weight="${0.5 + i / 4}"><True/><TreeModel functionName="regression" missingValueStrategy="${strategy}">
    <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="a"/><MiningField name="b"/></MiningSchema>
    <Node id="1" score="${i}"${strategy === 'defaultChild' ? ' defaultChild="3"' : ''}><True/>
      <Node id="2" score="${i * 1.5}"><SimplePredicate field="a" operator="lessOrEqual" value="${i}"/></Node>
      <Node id="3" score="-${i / 3}"${strategy === 'defaultChild' ? ' defaultChild="4"' : ''}><SimplePredicate field="a" operator="greaterThan" value="${i}"/>
        <Node id="4" score="0.25"><SimplePredicate field="b" operator="lessThan" value="0.5"/></Node>
        <Node id="5" score="7.125"><SimplePredicate field="b" operator="greaterOrEqual" value="0.5"/></Node>
      </Node>
    </Node></TreeModel></Segment>`;
  return `<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>
    <DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
    <MiningModel functionName="regression"><MiningSchema><MiningField name="y" usageType="target"/><MiningField name="a"/><MiningField name="b"/></MiningSchema>
    <Segmentation multipleModelMethod="${method}">${tree('lastPrediction', 1)}${tree('defaultChild', 2)}${tree('nullPrediction', 3)}${tree('none', 4)}</Segmentation></MiningModel></PMML>`;
}

/** A standalone TreeModel over a and b; `leaf` overrides node 5's score and distribution (classification). */
function singleTree(functionName: 'regression' | 'classification', strategy: string, leaf?: { score: string; lo?: number; hi?: number }): string {
  const cls = functionName === 'classification';
  const node = (id: number, score: string, lo: number | undefined, hi: number | undefined, rest: string): string => {
    const dist = cls && lo !== undefined ? `<ScoreDistribution value="lo" recordCount="${lo * 8}" probability="${lo}"/><ScoreDistribution value="hi" recordCount="${hi! * 8}" probability="${hi}"/>` : '';
    return `<Node id="${id}" score="${score}"${strategy === 'defaultChild' && (id === 1 || id === 3) ? ` defaultChild="${id === 1 ? 3 : 4}"` : ''}>${rest.replace('@', dist)}</Node>`;
  };
  const s = (lo: string, n: string): string => (cls ? (Number(n) > 1 ? 'hi' : 'lo') : n);
  const five = leaf ?? { score: s('', '7.125'), lo: 0.125, hi: 0.875 };
  return `<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>
    <DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/>
    ${cls ? '<DataField name="y" optype="categorical" dataType="string"><Value value="lo"/><Value value="hi"/></DataField>' : '<DataField name="y" optype="continuous" dataType="double"/>'}</DataDictionary>
    <TreeModel functionName="${functionName}" missingValueStrategy="${strategy}"${strategy === 'none' ? ' noTrueChildStrategy="returnLastPrediction"' : ''}>
    <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="a"/><MiningField name="b"/></MiningSchema>
    ${cls ? '<Output><OutputField name="p_lo" feature="probability" value="lo"/><OutputField name="p_hi" feature="probability" value="hi"/><OutputField name="label" feature="predictedValue" dataType="string"/></Output>' : ''}
    ${node(1, s('', '1'), 0.5, 0.5, `@<True/>${node(2, s('', '1.5'), 0.25, 0.75, '@<SimplePredicate field="a" operator="lessOrEqual" value="1"/>')}${node(3, s('', '3'), 0.25, 0.75,
      `@<SimplePredicate field="a" operator="greaterThan" value="1"/>${node(4, s('', '0.25'), 1, 0, '@<SimplePredicate field="b" operator="lessThan" value="0.5"/>')}${node(5, five.score, five.lo, five.hi, '@<SimplePredicate field="b" operator="greaterOrEqual" value="0.5"/>')}`)}`)}
    </TreeModel></PMML>`;
}

const regressionInputs: Record<string, Tensor> = {
  a: { dtype: 'float64', shape: [8], data: Float64Array.of(0, 1, 2.5, 3, Number.NaN, 5, 1, Number.NaN) },
  b: { dtype: 'float64', shape: [8], data: Float64Array.of(0, 0.5, Number.NaN, 0.7, 0.2, 0.5, Number.NaN, Number.NaN) },
};

/** The package's evaluator and the server's runtime on the same tensors: identical outputs. */
async function compare(text: string, inputs: Record<string, Tensor>): Promise<void> {
  const form = pmmlBatchData(bytes(text));
  assert.ok(form, 'the document ships as its batch arrays');
  const server = await loadArtifact(pmmlRuntime, bytes(text), {}, 'server');
  try {
    const want = await server.predict(inputs);
    // The binary form and the JSON text form (the export ships whichever gzips smaller).
    for (const data of [encodeModel(form), bytes(encodeModelText(form))]) {
      const got = await (await evaluator.load(data, 'pkg')).predict(inputs);
      assert.deepEqual(Object.keys(got), Object.keys(want));
      for (const name of Object.keys(want)) assert.deepEqual(got[name]!.data, want[name]!.data, name);
    }
    const pkg = await evaluator.load(encodeModel(form), 'pkg');
    const one = Object.keys(want)[0]!;
    assert.deepEqual(Object.keys(await pkg.predict(inputs, [one])), [one]);
  } finally {
    await server.close();
  }
}

describe('PMML batch-path documents in packages (the pmml-batch evaluator)', () => {
  const forest = readFileSync(join(FIXTURES, 'forest.pmml'), 'utf8');

  for (const method of ['average', 'weightedAverage', 'sum', 'majorityVote', 'weightedMajorityVote']) {
    it(`classification ${method}: the package's results are the server's`, async () => {
      let text = forest.replace('multipleModelMethod="average"', `multipleModelMethod="${method}"`);
      let i = 0;
      if (method.startsWith('weighted')) text = text.replace(/<Segment id="(\d+)">/g, (_m, id: string) => `<Segment id="${id}" weight="${(0.25 + ((i++ * 37) % 11) / 10).toFixed(2)}">`);
      await compare(text, forestInputs());
    });
  }

  for (const method of ['sum', 'average', 'weightedAverage', 'weightedSum']) {
    it(`regression ${method} over every missing-value strategy: the package's results are the server's`, async () => {
      await compare(regressionEnsemble(method), regressionInputs);
    });
  }

  for (const name of ['sklearn-logistic', 'sklearn-linear']) {
    it(`${name} (RegressionModel): the package's results are the server's`, async () => {
      const text = readFileSync(join(FIXTURES, `cases/${name}/model.pmml`), 'utf8');
      const [head, ...lines] = readFileSync(join(FIXTURES, `cases/${name}/input.csv`), 'utf8').trim().split('\n');
      const inputs = Object.fromEntries(head!.split(',').map((n, j) => [n, {
        dtype: 'float64', shape: [lines.length + 1], data: Float64Array.from({ length: lines.length + 1 }, (_, i) => (i === lines.length || (i % 3 === 0 && j === 1) ? Number.NaN : Number(lines[i]!.split(',')[j]))),
      } satisfies Tensor]));
      await compare(text, inputs);
    });
  }

  for (const [method, ordinal, k] of [['softmax', false, 3], ['logit', false, 3], ['probit', true, 3], ['simplemax', false, 2], ['cloglog', false, 2]] as const) {
    it(`RegressionModel classification, ${method}${ordinal ? ' (ordinal)' : ''}, ${k} categories, exponents: the package's results are the server's`, async () => {
      const cats = ['lo', 'mid', 'hi'].slice(0, k);
      const tables = cats.map((c, i) => `<RegressionTable targetCategory="${c}" intercept="${0.5 - i / 4}"><NumericPredictor name="a" coefficient="${0.3 * (i + 1)}"/><NumericPredictor name="b" exponent="2" coefficient="${-0.2 + i / 10}"/><NumericPredictor name="a" coefficient="0.05"/></RegressionTable>`).join('');
      const text = `<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>
        <DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/>
        <DataField name="c" optype="${ordinal ? 'ordinal' : 'categorical'}" dataType="string">${cats.map((c) => `<Value value="${c}"/>`).join('')}</DataField></DataDictionary>
        <RegressionModel functionName="classification" normalizationMethod="${method}"><MiningSchema><MiningField name="c" usageType="target"/><MiningField name="a"/><MiningField name="b"/></MiningSchema>
        <Output>${cats.map((c) => `<OutputField name="p_${c}" feature="probability" value="${c}"/>`).join('')}</Output>${tables}</RegressionModel></PMML>`;
      await compare(text, regressionInputs);
    });
  }

  for (const strategy of ['none', 'lastPrediction', 'nullPrediction', 'defaultChild']) {
    it(`a standalone regression TreeModel (${strategy}): scored as a one-tree ensemble, the package's results are the server's`, async () => {
      await compare(singleTree('regression', strategy), regressionInputs);
    });
  }

  it('a standalone classification TreeModel whose every score is its distribution\'s pick: the package\'s results are the server\'s', async () => {
    await compare(singleTree('classification', 'lastPrediction'), regressionInputs);
    await compare(singleTree('classification', 'none'), regressionInputs);
  });

  it('a classification TreeModel the one-tree ensemble would answer differently keeps the row path and the engine', () => {
    // A score that is not its distribution's first highest (ties included), a score without a distribution.
    assert.equal(pmmlBatchData(bytes(singleTree('classification', 'lastPrediction', { score: 'hi', lo: 0.5, hi: 0.5 }))), undefined);
    assert.equal(pmmlBatchData(bytes(singleTree('classification', 'lastPrediction', { score: 'lo', lo: 0.25, hi: 0.75 }))), undefined);
    assert.equal(pmmlBatchData(bytes(singleTree('classification', 'lastPrediction', { score: 'lo' }))), undefined);
  });

  it('other documents keep the full PMML engine', () => {
    assert.equal(pmmlBatchData(bytes(regressionEnsemble('median'))), undefined);
    assert.equal(pmmlBatchData(readFileSync(join(FIXTURES, 'cases/sklearn-grm-logit/model.pmml'))), undefined);
  });

  it('missingValueReplacement: a missing input takes its MiningField\'s fill before the walk, as on the row path', async () => {
    const text = readFileSync(join(FIXTURES, 'cases/sklearn-tree-missing/model.pmml'), 'utf8');
    const [head, ...lines] = readFileSync(join(FIXTURES, 'cases/sklearn-tree-missing/input.csv'), 'utf8').trim().split('\n');
    const names = head!.split(',');
    const rows = lines.length + 1;
    // Every 3rd cell missing (NaN), one row all missing.
    const inputs: Record<string, Tensor> = Object.fromEntries(names.map((n, j) => [n, {
      dtype: 'float64', shape: [rows], data: Float64Array.from({ length: rows }, (_, i) => (i === lines.length || (i + j) % 3 === 0 ? Number.NaN : Number(lines[i]!.split(',')[j]))),
    } satisfies Tensor]));
    const form = pmmlBatchData(bytes(text));
    assert.ok(form?.fills && Array.from(form.fills).some((v) => !Number.isNaN(v)), 'the batch path carries the fills');
    await compare(text, inputs);
    // The row path (an empty LocalTransformations keeps the document off the batch path) gives the same.
    const rowPath = text.replace('</MiningSchema>', '</MiningSchema><LocalTransformations/>');
    assert.equal(pmmlBatchData(bytes(rowPath)), undefined);
    const server = await loadArtifact(pmmlRuntime, bytes(text), {}, 'batch');
    const general = await loadArtifact(pmmlRuntime, bytes(rowPath), {}, 'row');
    try {
      const want = await general.predict(inputs);
      const got = await server.predict(inputs);
      for (const name of Object.keys(want)) assert.deepEqual(got[name]!.data, want[name]!.data, name);
    } finally {
      await server.close();
      await general.close();
    }
  });

  it('an absent input fails with the server\'s error code', async () => {
    const pkg = await evaluator.load(encodeModel(pmmlBatchData(bytes(regressionEnsemble('sum')))!), 'pkg');
    await assert.rejects(pkg.predict({ a: regressionInputs.a! }), (err: { code?: string }) => err.code === 'FERRY_E_INPUT_MISSING');
    await assert.rejects(pkg.predict(regressionInputs, ['nope']), (err: { code?: string }) => err.code === 'FERRY_E_OUTPUT_UNKNOWN');
  });
});

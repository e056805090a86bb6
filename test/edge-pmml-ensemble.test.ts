/**
 * PMML tree ensembles in exported packages: a document the server scores by its batch path ships
 * as that path's layout (`pmmlEnsembleData`, through the package codec) and is scored by the
 * `pmml-ensemble` evaluator — the server's `ensembleRun` and `BatchScorer` without the PMML engine.
 * Its results equal the server runtime's exactly, for every combining method the batch path takes,
 * missing inputs included; other documents keep the full engine.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Tensor } from '../src/core/tensor.js';
import { pmmlEnsembleData } from '../src/edge/formats.js';
import { encodeModel } from '../src/edge/package/codec.js';
import { evaluator } from '../src/edge/package/evaluators/pmml-ensemble.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';
import { pmmlRuntime } from '../src/runtimes/pmml/pmml-runtime.js';
import { ROOT } from './helpers/env.js';

const FIXTURES = join(ROOT, 'fixtures/pmml');
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The forest fixture's rows, every 5th row with every 7th field missing, and one row all missing. */
function forestInputs(): Record<string, Tensor> {
  const [head, ...lines] = readFileSync(join(FIXTURES, 'cases/sklearn-forest/input.csv'), 'utf8').trim().split('\n');
  const names = head!.split(',');
  const rows = lines.length + 1;
  return Object.fromEntries(names.map((n, j) => [n, {
    dtype: 'float64', shape: [rows], data: Float64Array.from({ length: rows }, (_, i) => (i === lines.length || (i % 5 === 0 && j % 7 === 0) ? Number.NaN : Number(lines[i]!.split(',')[j]))),
  } satisfies Tensor]));
}

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

const regressionInputs: Record<string, Tensor> = {
  a: { dtype: 'float64', shape: [8], data: Float64Array.of(0, 1, 2.5, 3, Number.NaN, 5, 1, Number.NaN) },
  b: { dtype: 'float64', shape: [8], data: Float64Array.of(0, 0.5, Number.NaN, 0.7, 0.2, 0.5, Number.NaN, Number.NaN) },
};

/** The package's evaluator and the server's runtime on the same tensors: identical outputs. */
async function compare(text: string, inputs: Record<string, Tensor>): Promise<void> {
  const form = pmmlEnsembleData(bytes(text));
  assert.ok(form, 'the document ships as its batch layout');
  const pkg = await evaluator.load(encodeModel(form), 'pkg');
  const server = await loadArtifact(pmmlRuntime, bytes(text), {}, 'server');
  try {
    const want = await server.predict(inputs);
    const got = await pkg.predict(inputs);
    assert.deepEqual(Object.keys(got), Object.keys(want));
    for (const name of Object.keys(want)) assert.deepEqual(got[name]!.data, want[name]!.data, name);
    const one = Object.keys(want)[0]!;
    assert.deepEqual(Object.keys(await pkg.predict(inputs, [one])), [one]);
  } finally {
    await server.close();
  }
}

describe('PMML tree ensembles in packages (the pmml-ensemble evaluator)', () => {
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

  it('other documents keep the full PMML engine', () => {
    assert.equal(pmmlEnsembleData(bytes(regressionEnsemble('median'))), undefined);
    assert.equal(pmmlEnsembleData(readFileSync(join(FIXTURES, 'cases/sklearn-logistic/model.pmml'))), undefined);
    assert.equal(pmmlEnsembleData(readFileSync(join(FIXTURES, 'cases/sklearn-tree-missing/model.pmml'))), undefined);
  });

  it('an absent input fails with the server\'s error code', async () => {
    const pkg = await evaluator.load(encodeModel(pmmlEnsembleData(bytes(regressionEnsemble('sum')))!), 'pkg');
    await assert.rejects(pkg.predict({ a: regressionInputs.a! }), (err: { code?: string }) => err.code === 'FERRY_E_INPUT_MISSING');
    await assert.rejects(pkg.predict(regressionInputs, ['nope']), (err: { code?: string }) => err.code === 'FERRY_E_OUTPUT_UNKNOWN');
  });
});

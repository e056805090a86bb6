/**
 * PMML constructs real exporters emit that the evaluator used to refuse (issue #18): GeneralRegression
 * factors coded by a contrast Matrix, majorityVote over clustering segments, and OutputFields with a
 * segmentId in a modelChain. The fixture cases (fixtures/pmml/cases/hand-contrast, hand-cluster-vote,
 * hand-chain-segmentid, values derived by hand in fixtures/pmml/README.md) run in the corpus test; here the
 * variants of each construct and what is still refused, with its reason.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pmmlRuntime } from '../src/runtimes/pmml/pmml-runtime.js';
import type { Tensor } from '../src/core/tensor.js';
import { ROOT } from './helpers/env.js';
import { refusedPmml } from './helpers/pmml-kernels.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const CASES = join(ROOT, 'fixtures/pmml/cases');
const model = (id: string): string => readFileSync(join(CASES, id, 'model.pmml'), 'utf8');
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const strings = (...v: (string | null)[]): Tensor => ({ dtype: 'string', shape: [v.length], data: v as string[] });
const doubles = (...v: number[]): Tensor => ({ dtype: 'float64', shape: [v.length], data: Float64Array.from(v) });

async function score(text: string, inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const rt = await loadArtifact(pmmlRuntime, bytes(text), {}, 'case.pmml');
  try {
    return await rt.predict(inputs);
  } finally {
    await rt.close();
  }
}

const refused = refusedPmml;

const CONTRAST = model('hand-contrast');
const COLOURS = { color: strings('red', 'green', 'blue', 'blue'), size: strings('S', 'L', 'S', 'L'), x: doubles(2, 4, 6, 0) };
const MATRIX = /<Matrix nbRows="3" nbCols="2">[\s\S]*?<\/Matrix>/;

describe('GeneralRegression contrast matrices', () => {
  it('the same coefficients whatever the Matrix form: Arrays, MatCells with defaults, rows in Categories order', async () => {
    const want = Float64Array.of(13, 11, 8, 1);
    assert.deepEqual((await score(CONTRAST, COLOURS)).y!.data, want);
    const cells = '<Matrix nbRows="3" nbCols="2" offDiagDefault="0"><MatCell row="1" col="1">1</MatCell><MatCell row="2" col="2">1</MatCell>'
      + '<MatCell row="3" col="1">-1</MatCell><MatCell row="3" col="2">-1</MatCell></Matrix>';
    assert.deepEqual((await score(CONTRAST.replace(MATRIX, cells), COLOURS)).y!.data, want);
    // Without Categories the rows follow the DataField's values (red, green, blue): the same answer.
    assert.deepEqual((await score(CONTRAST.replace(/<Categories>[\s\S]*?<\/Categories>/, ''), COLOURS)).y!.data, want);
    // Categories in another order reorder the rows: blue first makes red (row 2) the (0, 1) row, i.e. p2 only.
    const reordered = CONTRAST.replace('<Category value="red"/>\n          <Category value="green"/>\n          <Category value="blue"/>', '<Category value="blue"/><Category value="red"/><Category value="green"/>');
    // Columns follow the PPCells' categories: red → column 2, green → column 3 (outside a 2-column matrix) is refused.
    await refused(reordered, 'FERRY_E_PMML_INVALID', /no column 3 for category "green"/);
  });

  it('a diagonal Matrix, and a category outside the Categories gives a missing prediction', async () => {
    const diagonal = CONTRAST.replace(MATRIX, '<Matrix kind="diagonal"><Array type="real" n="3">1 1 0</Array></Matrix>');
    // Diagonal 3×3: red (1,0), green (0,1), blue (0,0) → blue is the baseline: 10 + 3 = 13 for (blue, S, 6).
    const out = await score(diagonal, COLOURS);
    assert.deepEqual(out.y!.data, Float64Array.of(13, 11, 13, 6));
    const subset = CONTRAST.replace('<Category value="blue"/>', '').replace(MATRIX, '<Matrix><Array type="real" n="2">1 0</Array><Array type="real" n="2">0 1</Array></Matrix>');
    const partial = await score(subset, COLOURS);
    assert.deepEqual([...(partial.y!.data as Float64Array)].map((v) => (Number.isNaN(v) ? null : v)), [13, 11, null, null]);
  });

  it('refuses what it cannot read, naming why', async () => {
    await refused(CONTRAST.replace(MATRIX, ''), 'FERRY_E_PMML_UNSUPPORTED', /contrastMatrixType="effect" without a Matrix/);
    await refused(CONTRAST.replace('<Array type="real" n="2">-1 -1</Array>', ''), 'FERRY_E_PMML_INVALID', /nbRows="3" but 2 rows/);
    await refused(CONTRAST.replace('nbRows="3" ', '').replace('<Array type="real" n="2">-1 -1</Array>', ''), 'FERRY_E_PMML_INVALID', /no row 3 for category "blue"/);
    await refused(CONTRAST.replace('<PPCell value="green"', '<PPCell value="purple"'), 'FERRY_E_PMML_INVALID', /value="purple" is not a category of the contrast Matrix/);
  });
});

const VOTE = model('hand-cluster-vote');
const POINTS = { x: doubles(1, 9, 2, 6), y: doubles(1, 2, 9, 1) };

describe('MiningModel majority vote over clustering segments', () => {
  it('weightedMajorityVote weighs each segment\'s cluster', async () => {
    const weighted = VOTE.replace('multipleModelMethod="majorityVote"', 'multipleModelMethod="weightedMajorityVote"').replace('<Segment id="s2">', '<Segment id="s2" weight="3">');
    const out = await score(weighted, POINTS);
    // (6, 1): A (1), B (3), A (1) → B with 3/5; (2, 9): B (1), A (3), B (1) → A with 3/5.
    assert.deepEqual(out.cluster!.data, ['A', 'B', 'A', 'B']);
    assert.deepEqual([...(out.votes_B!.data as Float64Array)].map((v) => Math.round(v * 1e12) / 1e12), [0, 0.8, 0.4, 0.6]);
  });

  it('entityId and clusterId name the winning cluster; averaging clusters is refused', async () => {
    const ids = VOTE.replace('<Output>', '<Output><OutputField name="entity" feature="entityId" dataType="string" optype="categorical"/><OutputField name="cid" feature="clusterId" dataType="string" optype="categorical"/>');
    const out = await score(ids, POINTS);
    assert.deepEqual(out.entity!.data, ['A', 'B', 'B', 'A']);
    assert.deepEqual(out.cid!.data, ['A', 'B', 'B', 'A']);
    await refused(VOTE.replace('multipleModelMethod="majorityVote"', 'multipleModelMethod="average"'), 'FERRY_E_PMML_UNSUPPORTED', /"average" is not supported for clustering/);
  });
});

describe('modelChain OutputFields with a segmentId', () => {
  it('a segmentId must name a Segment of the chain', async () => {
    await refused(model('hand-chain-segmentid').replace('segmentId="bonus"', 'segmentId="nope"'), 'FERRY_E_PMML_INVALID', /segmentId="nope" names no Segment/);
  });
});

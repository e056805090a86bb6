/**
 * TreeSHAP on PMML tree ensembles (covers from recordCount): equal to brute-force Shapley values on
 * random small ensembles — every combining method, missing-value strategies that stop at an inner
 * node included — and additive to the runtime's own prediction on the 100-tree forest fixture;
 * single TreeModels (regression and classification) likewise.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Tensor } from '../src/core/tensor.js';
import { TreeExplainer } from '../src/explain/tree-explainer.js';
import type { TreeStructure } from '../src/runtimes/model-structure.js';
import { pmmlRuntime } from '../src/runtimes/pmml/pmml-runtime.js';
import { ROOT } from './helpers/env.js';
import { bruteForceShapley } from './helpers/shapley.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A random binary tree over x0..x3 whose recordCounts split the parent's. */
function tree(rand: () => number, strategy: string, depth: number, count: number, id: { n: number }, predicate: string): string {
  id.n++;
  const me = id.n;
  const score = (Math.round(rand() * 2000) / 100 - 10).toString();
  if (depth === 0 || rand() < 0.2 || count < 2) return `<Node id="${me}" score="${score}" recordCount="${count}">${predicate}</Node>`;
  const f = `x${Math.floor(rand() * 4)}`;
  const t = (Math.round(rand() * 100) / 10).toString();
  const strict = rand() < 0.5;
  const [a, b] = strict ? ['lessThan', 'greaterOrEqual'] : ['lessOrEqual', 'greaterThan'];
  const second = strategy === 'none' && rand() < 0.5 ? '<True/>' : `<SimplePredicate field="${f}" operator="${b}" value="${t}"/>`;
  const leftCount = 1 + Math.floor(rand() * (count - 1));
  const leftId = id.n + 1;
  const left = tree(rand, strategy, depth - 1, leftCount, id, `<SimplePredicate field="${f}" operator="${a}" value="${t}"/>`);
  const rightId = id.n + 1;
  const right = tree(rand, strategy, depth - 1, count - leftCount, id, second);
  const dflt = strategy === 'defaultChild' && rand() < 0.8 ? ` defaultChild="${rand() < 0.5 ? leftId : rightId}"` : '';
  return `<Node id="${me}" score="${score}" recordCount="${count}"${dflt}>${predicate}${left}${right}</Node>`;
}

function ensemble(method: string, seed: number): string {
  const rand = lcg(seed);
  const strategies = ['none', 'lastPrediction', 'defaultChild'];
  const fields = [0, 1, 2, 3].map((j) => `<MiningField name="x${j}"/>`).join('');
  const segments = Array.from({ length: 8 }, (_, i) => {
    const strategy = strategies[i % strategies.length]!;
    const body = tree(rand, strategy, 3, 200 + Math.floor(rand() * 100), { n: 0 }, '<True/>');
    return `<Segment id="${i + 1}" weight="${(0.5 + rand()).toFixed(3)}"><True/><TreeModel functionName="regression" missingValueStrategy="${strategy}" noTrueChildStrategy="returnLastPrediction">
      <MiningSchema><MiningField name="y" usageType="target"/>${fields}</MiningSchema>${body}</TreeModel></Segment>`;
  }).join('\n');
  const dict = [0, 1, 2, 3].map((j) => `<DataField name="x${j}" optype="continuous" dataType="double"/>`).join('');
  return `<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>${dict}<DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <MiningModel functionName="regression"><MiningSchema><MiningField name="y" usageType="target"/>${fields}</MiningSchema>
  <Output><OutputField name="prediction" feature="predictedValue" dataType="double"/></Output>
  <Segmentation multipleModelMethod="${method}">${segments}</Segmentation></MiningModel></PMML>`;
}

/** Rows × fields of the structure's inputs, every 3rd cell of some rows missing. */
function matrix(s: TreeStructure, rows: number, seed: number): { x: Float64Array; tensors: Record<string, Tensor> } {
  const rand = lcg(seed);
  const names = s.inputs!;
  const x = new Float64Array(rows * names.length);
  for (let i = 0; i < x.length; i++) x[i] = (i + seed) % 7 === 0 ? Number.NaN : Math.round(rand() * 100) / 10;
  const tensors = Object.fromEntries(names.map((n, j) => [n, { dtype: 'float64', shape: [rows], data: Float64Array.from({ length: rows }, (_, r) => x[r * names.length + j]!) } satisfies Tensor]));
  return { x, tensors };
}

describe('TreeSHAP on PMML tree ensembles', () => {
  for (const method of ['sum', 'average', 'weightedAverage', 'weightedSum']) {
    it(`${method}: equals brute force and adds up to the prediction`, async () => {
      const runtime = await loadArtifact(pmmlRuntime, bytes(ensemble(method, method.length * 7 + 1)), {}, method);
      const s = await runtime.structure?.();
      assert.ok(s?.kind === 'trees', 'an exact tree structure');
      const rows = 12;
      const { x, tensors } = matrix(s, rows, 3);
      const predicted = (await runtime.predict(tensors)).prediction!.data as Float64Array;
      const a = await new TreeExplainer(s, method).explain(x, rows);
      for (let r = 0; r < rows; r++) {
        assert.ok(Math.abs(a.scores[r]! - predicted[r]!) <= 1e-12 * Math.max(1, Math.abs(predicted[r]!)), 'the margin is the prediction');
        assert.ok(Math.abs(a.residual[r]!) <= 1e-9 * Math.max(1, Math.abs(predicted[r]!)), `row ${r}: residual ${a.residual[r]}`);
        const { phi, base } = bruteForceShapley(s, x, r);
        assert.ok(Math.abs(a.base[0]! - base[0]!) <= 1e-9 * Math.max(1, Math.abs(base[0]!)));
        for (let j = 0; j < s.numFeature; j++) {
          assert.ok(Math.abs(a.values[r * s.numFeature + j]! - phi[0]![j]!) <= 1e-9 * Math.max(1, Math.abs(phi[0]![j]!)), `row ${r} feature ${j}`);
        }
      }
      await runtime.close();
    });
  }

  it('the 100-tree forest fixture (classification, averaged probabilities): additive per class', async () => {
    const runtime = await loadArtifact(pmmlRuntime, readFileSync(join(ROOT, 'fixtures/pmml/forest.pmml')), {}, 'forest');
    const s = await runtime.structure?.();
    assert.ok(s?.kind === 'trees');
    assert.equal(s.numGroup, 2);
    const rows = 10;
    const { x, tensors } = matrix(s, rows, 5);
    const out = await runtime.predict(tensors);
    const e = new TreeExplainer(s, 'forest');
    assert.deepEqual(e.spaces, ['probability']);
    const a = await e.explain(x, rows, { space: 'probability' });
    const pm = out.probability_malignant!.data as Float64Array;
    for (let r = 0; r < rows; r++) {
      assert.ok(Math.abs(a.residual[r]!) <= 1e-9, `row ${r}: residual ${a.residual[r]}`);
      const sum = a.scores[r * 2]! + a.scores[r * 2 + 1]!;
      assert.ok(Math.abs(sum - 1) < 1e-9, 'class probabilities sum to 1');
      assert.ok(Math.abs(a.scores[r * 2]! - pm[r]!) < 1e-12 || Math.abs(a.scores[r * 2 + 1]! - pm[r]!) < 1e-12);
    }
    await runtime.close();
  });

  for (const strategy of ['none', 'lastPrediction', 'defaultChild']) {
    it(`a single regression TreeModel (missingValueStrategy ${strategy}): equals brute force, adds up to the prediction`, async () => {
      const rand = lcg(strategy.length * 13 + 5);
      const fields = [0, 1, 2, 3].map((j) => `<MiningField name="x${j}"/>`).join('');
      const dict = [0, 1, 2, 3].map((j) => `<DataField name="x${j}" optype="continuous" dataType="double"/>`).join('');
      const body = tree(rand, strategy, 4, 300, { n: 0 }, '<True/>');
      const doc = `<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>${dict}<DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
      <TreeModel functionName="regression" missingValueStrategy="${strategy}" noTrueChildStrategy="returnLastPrediction"><MiningSchema><MiningField name="y" usageType="target"/>${fields}</MiningSchema>${body}</TreeModel></PMML>`;
      const runtime = await loadArtifact(pmmlRuntime, bytes(doc), {}, strategy);
      const s = await runtime.structure?.();
      assert.ok(s?.kind === 'trees', 'an exact tree structure');
      assert.equal(s.roots.length, 1);
      const rows = 12;
      const { x, tensors } = matrix(s, rows, 7);
      // The fields the tree never tests are inputs of the model all the same.
      for (let j = 0; j < 4; j++) tensors[`x${j}`] ??= { dtype: 'float64', shape: [rows], data: new Float64Array(rows).fill(1) };
      const predicted = Object.values(await runtime.predict(tensors))[0]!.data as Float64Array;
      const a = await new TreeExplainer(s, strategy).explain(x, rows);
      for (let r = 0; r < rows; r++) {
        assert.ok(Math.abs(a.scores[r]! - predicted[r]!) <= 1e-12 * Math.max(1, Math.abs(predicted[r]!)), `row ${r}: the margin ${a.scores[r]} is the prediction ${predicted[r]}`);
        assert.ok(Math.abs(a.residual[r]!) <= 1e-9 * Math.max(1, Math.abs(predicted[r]!)), `row ${r}: residual ${a.residual[r]}`);
        const { phi } = bruteForceShapley(s, x, r);
        for (let j = 0; j < s.numFeature; j++) assert.ok(Math.abs(a.values[r * s.numFeature + j]! - phi[0]![j]!) <= 1e-9 * Math.max(1, Math.abs(phi[0]![j]!)), `row ${r} feature ${j}`);
      }
      await runtime.close();
    });
  }

  it('a single classification TreeModel: its ScoreDistribution probabilities, additive per class', async () => {
    const doc = `<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>
      <DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/>
      <DataField name="y" optype="categorical" dataType="string"><Value value="no"/><Value value="yes"/></DataField></DataDictionary>
      <TreeModel functionName="classification" missingValueStrategy="lastPrediction"><MiningSchema><MiningField name="y" usageType="target"/><MiningField name="a"/><MiningField name="b"/></MiningSchema>
      <Output><OutputField name="p_yes" feature="probability" value="yes" dataType="double"/></Output>
      <Node id="1" score="no" recordCount="100"><True/><ScoreDistribution value="no" recordCount="60"/><ScoreDistribution value="yes" recordCount="40"/>
        <Node id="2" score="no" recordCount="70"><SimplePredicate field="a" operator="lessThan" value="5"/><ScoreDistribution value="no" recordCount="50"/><ScoreDistribution value="yes" recordCount="20"/>
          <Node id="4" score="no" recordCount="40"><SimplePredicate field="b" operator="lessThan" value="2"/><ScoreDistribution value="no" recordCount="36"/><ScoreDistribution value="yes" recordCount="4"/></Node>
          <Node id="5" score="yes" recordCount="30"><SimplePredicate field="b" operator="greaterOrEqual" value="2"/><ScoreDistribution value="no" recordCount="14"/><ScoreDistribution value="yes" recordCount="16"/></Node>
        </Node>
        <Node id="3" score="yes" recordCount="30"><SimplePredicate field="a" operator="greaterOrEqual" value="5"/><ScoreDistribution value="no" recordCount="10"/><ScoreDistribution value="yes" recordCount="20"/></Node>
      </Node></TreeModel></PMML>`;
    const runtime = await loadArtifact(pmmlRuntime, bytes(doc), {}, 'tree-class');
    const s = await runtime.structure?.();
    assert.ok(s?.kind === 'trees', 'an exact tree structure');
    assert.equal(s.numGroup, 2);
    const rows = 4;
    const x = Float64Array.from([1, 1, 1, 3, 7, 0, Number.NaN, 3]);
    const tensors = { a: { dtype: 'float64', shape: [rows], data: Float64Array.from([1, 1, 7, Number.NaN]) }, b: { dtype: 'float64', shape: [rows], data: Float64Array.from([1, 3, 0, 3]) } } satisfies Record<string, Tensor>;
    const pYes = (await runtime.predict(tensors)).p_yes!.data as Float64Array;
    const a = await new TreeExplainer(s, 'tree-class').explain(x, rows, { space: 'probability' });
    // Hand, class "yes" (index 1): base = 0.7·(0.4·0.1 + 0.3·16/30) + 0.3·(2/3) = 0.4; row 0 (a 1, b 1) ends at p = 0.1.
    assert.ok(Math.abs(a.base[1]! - 0.4) <= 1e-12, `base ${a.base[1]}`);
    for (let r = 0; r < rows; r++) {
      assert.ok(Math.abs(a.scores[r * 2 + 1]! - pYes[r]!) <= 1e-12, `row ${r}: ${a.scores[r * 2 + 1]} vs the model's ${pYes[r]}`);
      assert.ok(Math.abs(a.residual[r]!) <= 1e-12, `row ${r}: residual ${a.residual[r]}`);
      const { phi } = bruteForceShapley(s, x, r);
      for (let j = 0; j < 2; j++) assert.ok(Math.abs(a.values[(r * 2 + 1) * 2 + j]! - phi[1]![j]!) <= 1e-12, `row ${r} feature ${j}`);
    }
    await runtime.close();
  });
});

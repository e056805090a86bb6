/**
 * The PMML tree-ensemble batch path (src/runtimes/pmml/models/ensemble.ts) gives exactly the
 * general path's results: the same document is scored once as is (every segment `<True/>`: batch
 * path) and once with each segment's predicate written as an always-true CompoundPredicate (general
 * closure path), with missing inputs, for every combining method and missing-value strategy the
 * batch path takes. Also checks that the batch path is taken, and not for what it cannot express.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Tensor } from '../src/core/tensor.js';
import { loadDocument } from '../src/runtimes/pmml/pmml-model.js';
import { pmmlRuntime } from '../src/runtimes/pmml/pmml-runtime.js';
import { ROOT } from './helpers/env.js';
import { forestInputs } from './helpers/pmml-kernels.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const FIXTURES = join(ROOT, 'fixtures/pmml');
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const ALWAYS = '<CompoundPredicate booleanOperator="or"><True/><False/></CompoundPredicate>';

/** The same document with the batch path turned off (segment predicates that are not `<True/>`). */
function general(text: string): string {
  const out = text.replace(/(<Segment\b[^>]*>\s*)<True\/>/g, `$1${ALWAYS}`);
  assert.notEqual(out, text);
  return out;
}

/** A deterministic pseudo-random sequence. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function compare(text: string, inputs: Record<string, Tensor>, expectBatch = true): Promise<Record<string, Tensor>> {
  assert.equal(loadDocument(bytes(text)).model.batch !== undefined, expectBatch, 'batch path taken');
  assert.equal(loadDocument(bytes(general(text))).model.batch, undefined, 'general path');
  const fast = await loadArtifact(pmmlRuntime, bytes(text), {}, 'fast');
  const slow = await loadArtifact(pmmlRuntime, bytes(general(text)), {}, 'general');
  try {
    const a = await fast.predict(inputs);
    const b = await slow.predict(inputs);
    assert.deepEqual(Object.keys(a), Object.keys(b));
    for (const name of Object.keys(a)) assert.deepEqual(a[name]!.data, b[name]!.data, name);
    return a;
  } finally {
    await fast.close();
    await slow.close();
  }
}

/** A random binary tree over x0..x3 (depth ≤ 3) with numeric leaves, in the given missing-value strategy. */
function tree(rand: () => number, strategy: string, depth: number, id: { n: number }, predicate: string): string {
  id.n++;
  const me = id.n;
  const score = (Math.round(rand() * 2000) / 100 - 10).toString();
  if (depth === 0 || rand() < 0.2) return `<Node id="${me}" score="${score}">${predicate}</Node>`;
  const f = `x${Math.floor(rand() * 4)}`;
  const t = (Math.round(rand() * 100) / 10).toString();
  const strict = rand() < 0.5;
  const [a, b] = strict ? ['lessThan', 'greaterOrEqual'] : ['lessOrEqual', 'greaterThan'];
  // With missingValueStrategy="none", the second child is sometimes True (taken when x is missing).
  const second = strategy === 'none' && rand() < 0.5 ? '<True/>' : `<SimplePredicate field="${f}" operator="${b}" value="${t}"/>`;
  const leftId = id.n + 1;
  const left = tree(rand, strategy, depth - 1, id, `<SimplePredicate field="${f}" operator="${a}" value="${t}"/>`);
  const rightId = id.n + 1;
  const right = tree(rand, strategy, depth - 1, id, second);
  const dflt = strategy === 'defaultChild' ? ` defaultChild="${rand() < 0.5 ? leftId : rightId}"` : '';
  return `<Node id="${me}" score="${score}"${dflt}>${predicate}${left}${right}</Node>`;
}

function regressionEnsemble(method: string, seed: number): string {
  const rand = lcg(seed);
  const strategies = ['none', 'lastPrediction', 'nullPrediction', 'defaultChild'];
  const segments = Array.from({ length: 12 }, (_, i) => {
    const strategy = strategies[i % strategies.length]!;
    const noTrue = i % 3 === 0 ? 'returnNullPrediction' : 'returnLastPrediction';
    const body = tree(rand, strategy, 3, { n: 0 }, '<True/>');
    return `<Segment id="${i + 1}" weight="${(0.5 + rand()).toFixed(3)}"><True/><TreeModel functionName="regression" missingValueStrategy="${strategy}" noTrueChildStrategy="${noTrue}">
      <MiningSchema><MiningField name="y" usageType="target"/>${[0, 1, 2, 3].map((j) => `<MiningField name="x${j}"/>`).join('')}</MiningSchema>${body}</TreeModel></Segment>`;
  }).join('\n');
  const fields = [0, 1, 2, 3].map((j) => `<DataField name="x${j}" optype="continuous" dataType="double"/>`).join('');
  return `<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary>${fields}<DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <MiningModel functionName="regression"><MiningSchema><MiningField name="y" usageType="target"/>${[0, 1, 2, 3].map((j) => `<MiningField name="x${j}"/>`).join('')}</MiningSchema>
  <Output><OutputField name="prediction" feature="predictedValue" dataType="double"/></Output>
  <Segmentation multipleModelMethod="${method}">${segments}</Segmentation></MiningModel></PMML>`;
}

function regressionInputs(seed: number, rows: number): Record<string, Tensor> {
  const rand = lcg(seed);
  return Object.fromEntries([0, 1, 2, 3].map((j) => [`x${j}`, {
    // Some values sit exactly on thresholds (tenths), some are missing.
    dtype: 'float64', shape: [rows], data: Float64Array.from({ length: rows }, () => (rand() < 0.15 ? Number.NaN : Math.round(rand() * 100) / 10)),
  } satisfies Tensor]));
}

describe('PMML tree-ensemble batch path', () => {
  const forest = readFileSync(join(FIXTURES, 'forest.pmml'), 'utf8');

  for (const method of ['average', 'weightedAverage', 'sum', 'majorityVote', 'weightedMajorityVote']) {
    it(`classification ${method}: batch and general paths agree (missing inputs included)`, async () => {
      let text = forest.replace('multipleModelMethod="average"', `multipleModelMethod="${method}"`);
      let i = 0;
      if (method.startsWith('weighted')) text = text.replace(/<Segment id="(\d+)">/g, (_m, id: string) => `<Segment id="${id}" weight="${(0.25 + ((i++ * 37) % 11) / 10).toFixed(2)}">`);
      const out = await compare(text, forestInputs());
      const p = out.probability_malignant!.data as Float64Array;
      assert.ok(p.some((v) => v > 0 && v < 1), 'probabilities between 0 and 1');
    });
  }

  for (const method of ['sum', 'average', 'weightedAverage', 'weightedSum']) {
    it(`regression ${method} over every missing-value strategy: batch and general paths agree`, async () => {
      for (const seed of [1, 2, 3]) {
        const out = await compare(regressionEnsemble(method, seed), regressionInputs(seed * 7, 400));
        const values = out.y!.data as Float64Array;
        assert.ok(values.some((v) => !Number.isNaN(v)), 'some rows have a prediction');
      }
    });
  }

  it('majority vote ties go to the category voted for first, as in the general path', async () => {
    const seg = (id: number, score: string): string => `<Segment id="${id}"><True/><TreeModel functionName="classification"><MiningSchema><MiningField name="c" usageType="target"/><MiningField name="x"/></MiningSchema>
      <Node score="${score}"><True/><Node score="${score}"><SimplePredicate field="x" operator="lessOrEqual" value="1"/></Node><Node score="a"><SimplePredicate field="x" operator="greaterThan" value="1"/></Node></Node></TreeModel></Segment>`;
    const text = `<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary><DataField name="x" optype="continuous" dataType="double"/>
      <DataField name="c" optype="categorical" dataType="string"><Value value="a"/><Value value="b"/></DataField></DataDictionary>
      <MiningModel functionName="classification"><MiningSchema><MiningField name="c" usageType="target"/><MiningField name="x"/></MiningSchema>
      <Output><OutputField name="pa" feature="probability" value="a"/><OutputField name="pb" feature="probability" value="b"/></Output>
      <Segmentation multipleModelMethod="majorityVote">${seg(1, 'b')}${seg(2, 'a')}${seg(3, 'a')}${seg(4, 'b')}</Segmentation></MiningModel></PMML>`;
    const out = await compare(text, { x: { dtype: 'float64', shape: [2], data: Float64Array.of(0, 5) } });
    assert.deepEqual(out.c!.data, ['b', 'a']);
    assert.deepEqual(out.pa!.data, Float64Array.of(0.5, 1));
    assert.deepEqual(out.pb!.data, Float64Array.of(0.5, 0));
  });

  it('median and max ensembles, and outputs the batch path cannot read, take the general path', async () => {
    await compare(regressionEnsemble('median', 4), regressionInputs(5, 100), false);
    const withEntity = forest.replace('</Output>', '<OutputField name="seg" feature="segmentId"/></Output>');
    assert.equal(loadDocument(bytes(withEntity)).model.batch, undefined);
  });
});

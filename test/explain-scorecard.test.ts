/**
 * PMML Scorecard explanations from the model's own semantics, against values worked by hand from
 * the PMML spec: each field's contribution is its Characteristic's partial score less the
 * baselineScore, the base value initialScore + Σ baselines (so the residual is 0), and `top_k` is
 * the model's reason codes ranked by its reasonCodeAlgorithm (pointsBelow: baseline − points,
 * pointsAbove: points − baseline; codes with negative totals left out; ties in document order), the
 * same codes its reasonCode OutputFields give.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tensor } from '../src/core/tensor.js';
import { explainerFor } from '../src/explain/explainers.js';
import { explanationsOf } from '../src/explain/explanation.js';
import { pmmlRuntime } from '../src/runtimes/pmml/pmml-runtime.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function scorecard(algorithm: string, extraCharacteristic = ''): string {
  return `<?xml version="1.0"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/>
<DataDictionary>
  <DataField name="department" optype="categorical" dataType="string"><Value value="engineering"/><Value value="marketing"/><Value value="business"/></DataField>
  <DataField name="age" optype="continuous" dataType="double"/>
  <DataField name="income" optype="continuous" dataType="double"/>
  <DataField name="score" optype="continuous" dataType="double"/>
</DataDictionary>
<Scorecard functionName="regression" useReasonCodes="true" reasonCodeAlgorithm="${algorithm}" initialScore="0" baselineMethod="other">
  <MiningSchema><MiningField name="department"/><MiningField name="age"/><MiningField name="income"/><MiningField name="score" usageType="predicted"/></MiningSchema>
  <Output>
    <OutputField name="final" feature="predictedValue" dataType="double"/>
    <OutputField name="rc1" feature="reasonCode" rank="1" dataType="string"/>
    <OutputField name="rc2" feature="reasonCode" rank="2" dataType="string"/>
  </Output>
  <Characteristics>
    <Characteristic name="departmentScore" reasonCode="RC1" baselineScore="19">
      <Attribute partialScore="10"><SimplePredicate field="department" operator="equal" value="engineering"/></Attribute>
      <Attribute partialScore="19"><SimplePredicate field="department" operator="equal" value="marketing"/></Attribute>
      <Attribute partialScore="3"><SimplePredicate field="department" operator="equal" value="business"/></Attribute>
    </Characteristic>
    <Characteristic name="ageScore" reasonCode="RC2" baselineScore="18">
      <Attribute partialScore="1"><SimplePredicate field="age" operator="lessThan" value="18"/></Attribute>
      <Attribute partialScore="13"><CompoundPredicate booleanOperator="and"><SimplePredicate field="age" operator="greaterOrEqual" value="18"/><SimplePredicate field="age" operator="lessThan" value="29"/></CompoundPredicate></Attribute>
      <Attribute partialScore="20"><SimplePredicate field="age" operator="greaterOrEqual" value="29"/></Attribute>
    </Characteristic>
    <Characteristic name="incomeScore" reasonCode="RC3" baselineScore="10">
      <Attribute partialScore="26"><SimplePredicate field="income" operator="lessOrEqual" value="1000"/></Attribute>
      <Attribute partialScore="5"><CompoundPredicate booleanOperator="and"><SimplePredicate field="income" operator="greaterThan" value="1000"/><SimplePredicate field="income" operator="lessOrEqual" value="2500"/></CompoundPredicate></Attribute>
      <Attribute partialScore="-3"><SimplePredicate field="income" operator="greaterThan" value="2500"/></Attribute>
    </Characteristic>${extraCharacteristic}
  </Characteristics>
</Scorecard></PMML>`;
}

const inputs = (rows: [string, number, number][]): Record<string, Tensor> => ({
  department: { dtype: 'string', shape: [rows.length], data: rows.map((r) => r[0]) },
  age: { dtype: 'float64', shape: [rows.length], data: Float64Array.from(rows, (r) => r[1]) },
  income: { dtype: 'float64', shape: [rows.length], data: Float64Array.from(rows, (r) => r[2]) },
});

const ROWS: [string, number, number][] = [['engineering', 25, 1500], ['marketing', 40, 500]];

describe('PMML Scorecard: contributions and reason codes from the model', () => {
  it('pointsBelow: parts = partial − baseline, base = Σ baselines, top_k = the model\'s codes (baseline − points)', async () => {
    const runtime = await loadArtifact(pmmlRuntime, bytes(scorecard('pointsBelow')), {}, 'sc');
    const m = await explainerFor(runtime, runtime.signature(), 'sc');
    assert.equal(m.method, 'scorecard');
    assert.deepEqual(m.names, ['department', 'age', 'income']);
    const a = await m.explain(inputs(ROWS));
    const [e1, e2] = explanationsOf(a, m.names, { topK: 2 });
    // Hand: base 0 + 19 + 18 + 10 = 47. Row 1: 10 − 19 = −9, 13 − 18 = −5, 5 − 10 = −5 → 28;
    // codes RC1 19 − 10 = 9, RC2 5, RC3 5 (tie: document order).
    assert.deepEqual(e1, {
      output_space: 'raw', base_value: 47, contributions: { department: -9, age: -5, income: -5 }, residual: 0, method: 'scorecard',
      top_k: [{ name: 'RC1', value: 9, direction: 'decreases' }, { name: 'RC2', value: 5, direction: 'decreases' }],
    });
    // Row 2: 19 − 19 = 0, 20 − 18 = 2, 26 − 10 = 16 → 65; only RC1 (0) is not negative.
    assert.deepEqual(e2!.contributions, { department: 0, age: 2, income: 16 });
    assert.deepEqual(e2!.top_k, [{ name: 'RC1', value: 0, direction: 'decreases' }]);
    const out = await runtime.predict(inputs(ROWS));
    assert.deepEqual(Array.from(out.final!.data as Float64Array), [28, 65]);
    assert.deepEqual([...(out.rc1!.data as string[]), ...(out.rc2!.data as (string | null)[])], ['RC1', 'RC1', 'RC2', null], 'the same codes as the model\'s own reasonCode outputs');
  });

  it('pointsAbove: codes ranked by points − baseline, raising the score', async () => {
    const runtime = await loadArtifact(pmmlRuntime, bytes(scorecard('pointsAbove')), {}, 'sc-above');
    const m = await explainerFor(runtime, runtime.signature(), 'sc-above');
    const a = await m.explain(inputs(ROWS));
    const [e1, e2] = explanationsOf(a, m.names, { topK: 3 });
    // Row 1: −9, −5, −5: no code is ≥ 0. Row 2: RC3 16, RC2 2, RC1 0.
    assert.deepEqual(e1!.top_k, []);
    assert.deepEqual(e2!.top_k, [{ name: 'RC3', value: 16, direction: 'increases' }, { name: 'RC2', value: 2, direction: 'increases' }, { name: 'RC1', value: 0, direction: 'increases' }]);
    assert.equal(e2!.base_value, 47);
  });

  it('a Characteristic reading two fields has no exact split by column: no scorecard structure', async () => {
    const two = `
    <Characteristic name="mixed" reasonCode="RC4" baselineScore="0">
      <Attribute partialScore="1"><CompoundPredicate booleanOperator="and"><SimplePredicate field="age" operator="lessThan" value="30"/><SimplePredicate field="income" operator="lessThan" value="1000"/></CompoundPredicate></Attribute>
      <Attribute partialScore="0"><True/></Attribute>
    </Characteristic>`;
    const runtime = await loadArtifact(pmmlRuntime, bytes(scorecard('pointsBelow', two)), {}, 'sc-two');
    assert.equal(await runtime.structure?.(), undefined);
  });
});

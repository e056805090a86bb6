/**
 * PMML kernels Scorecard, RuleSetModel and AssociationModel on small hand-made documents
 * (fixtures/pmml/kernels/); every expected value is derived by hand in the comments.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers/env.js';
import { doc, near, pmml, pmmlRows, scoreGroup } from './helpers/pmml-kernels.js';

describe('PMML Scorecard', () => {
  const score = pmml('scorecard.pmml');
  it('adds partial scores and ranks reason codes by points above the baseline, summed per code', () => {
    // age=20 → 8 (RC_A, 8−5=3); inc=300 → 300/100=3 (RC_B, 3−1=2); 10+8+3 = 21; codes RC_A(3), RC_B(2)
    const r = score({ age: 20, inc: 300 });
    near(r.get('score'), 21);
    assert.equal(r.get('rc1'), 'RC_A');
    assert.equal(r.get('rc2'), 'RC_B');
  });
  it('leaves out codes with negative totals', () => {
    // age=40 → 2 (RC_A, 2−5=−3); inc=50 → 0 with the Attribute's own code RC_A (0−1=−1): RC_A = −4 < 0
    const r = score({ age: 40, inc: 50 });
    near(r.get('score'), 12);
    assert.equal(r.get('rc1'), null);
    // age missing → 0 (RC_A, −5); inc=500 → 5 (RC_B, 5−1=4); 10+0+5 = 15
    const m = score({ inc: 500 });
    near(m.get('score'), 15);
    assert.equal(m.get('rc1'), 'RC_B');
    assert.equal(m.get('rc2'), null);
  });
  it('gives a missing score when no Attribute of a Characteristic holds', () => {
    const text = doc('<DataField name="a" optype="continuous" dataType="double"/><DataField name="s" optype="continuous" dataType="double"/>',
      `<Scorecard functionName="regression" useReasonCodes="false"><MiningSchema><MiningField name="a"/><MiningField name="s" usageType="target"/></MiningSchema>
       <Characteristics><Characteristic name="c"><Attribute partialScore="1"><SimplePredicate field="a" operator="greaterThan" value="0"/></Attribute></Characteristic></Characteristics></Scorecard>`);
    const s = pmml(text);
    near(s({ a: 1 }).get('s'), 1);
    assert.equal(s({ a: -1 }).get('s'), null);
  });
});

describe('PMML RuleSetModel', () => {
  const text = readFileSync(join(ROOT, 'fixtures/pmml/kernels/rule-set.pmml'), 'utf8');
  const withCriterion = (c: string): ReturnType<typeof pmml> => pmml(text.replace('criterion="firstHit"', `criterion="${c}"`));
  // x=12, y=a fires r1 (hi, w .3, c .6), then inside the CompoundRule r2 (mid, w .8, c .9) and r3 (lo, w .5, c .7)
  it('firstHit: the first rule that fires, nested rules only when the CompoundRule holds', () => {
    const score = withCriterion('firstHit');
    let r = score({ x: 12, y: 'a' });
    assert.equal(r.get('r'), 'hi');
    near(r.get('conf'), 0.6);
    r = score({ x: 1, y: 'a' });
    assert.equal(r.get('r'), 'lo');
    r = score({ x: 7, y: 'b' });
    assert.equal(r.get('r'), 'none', 'no rule fires: defaultScore');
    near(r.get('conf'), 0.1);
  });
  it('weightedMax: the fired rule of largest weight', () => {
    const r = withCriterion('weightedMax')({ x: 12, y: 'a' });
    assert.equal(r.get('r'), 'mid');
    near(r.get('conf'), 0.9);
  });
  it('weightedSum: the score with the largest weight sum; confidence = sum / fired rules', () => {
    // hi .3, mid .8, lo .5 → mid, confidence .8 / 3
    const r = withCriterion('weightedSum')({ x: 12, y: 'a' });
    assert.equal(r.get('r'), 'mid');
    near(r.get('conf'), 0.8 / 3);
    assert.equal(r.get('rule'), 'r2', 'the entity is the first fired rule with the winning score');
  });
});

describe('PMML AssociationModel', () => {
  const score = pmmlRows('association.pmml');
  it('selects and ranks rules per OutputField algorithm and rankBasis for a grouped transaction', () => {
    // {bread}: antecedent ⊆ input for R1 (→butter, conf .6) and R2 (→jam, conf .8); ruleAssociation: none
    let r = scoreGroup(score, 'item', ['bread']);
    assert.equal(r.get('rec1'), 'jam');
    assert.equal(r.get('rec2'), 'butter');
    assert.equal(r.get('excl1'), 'R2');
    assert.equal(r.get('assoc1'), null);
    near(r.get('liftTop'), 2.0);
    near(r.get('supportLow'), 0.2);
    near(r.get('conf1'), 0.8, 'feature="confidence" (PMML 4.2 style) is the rule\'s confidence');
    assert.equal(r.get('ruleId1'), 'R2');
    // {bread, butter}: R1..R4 all have their antecedent; by confidence R3 .9 (→jam), R2 .8 (→jam), R1, R4.
    // exclusive drops R1 (butter present) and R4 (bread present) → R3; ruleAssociation keeps R1 (.6) and R4 (.5) → R1
    r = scoreGroup(score, 'item', ['bread', 'butter']);
    assert.equal(r.get('rec1'), 'jam');
    assert.equal(r.get('rec2'), 'jam');
    assert.equal(r.get('excl1'), 'R3');
    assert.equal(r.get('assoc1'), '{bread}->{butter}');
    near(r.get('supportLow'), 0.1);
  });
  it('returns missing outputs when no rule fires', () => {
    const r = scoreGroup(score, 'item', ['milk']);
    assert.equal(r.get('rec1'), null);
    assert.equal(r.get('liftTop'), null);
  });
  it('reads one item from an ungrouped row', () => {
    const r = score({ get: (n) => (n === 'item' ? 'butter' : null) });
    assert.equal(r.get('rec1'), 'bread'); // R4 butter → bread
  });
});

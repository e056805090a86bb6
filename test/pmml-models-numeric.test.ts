/**
 * PMML kernels NeuralNetwork, NaiveBayesModel and SupportVectorMachineModel on small hand-made
 * documents (fixtures/pmml/kernels/); every expected value is derived by hand in the comments.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { doc, near, pmml } from './helpers/pmml-kernels.js';

describe('PMML NeuralNetwork', () => {
  it('scores a regression network: layer-level rectifier, identity output, inverted NormContinuous target', () => {
    const score = pmml('neural-regression.pmml');
    // x1=2, x2=5: i1=2, i2=5/10=0.5; h1=relu(0.5+2·1−2·0.5)=1.5; h2=relu(−1+0.5·2+0.5)=0.5;
    // o=1+2·1.5−1·0.5=3.5; y = 3.5 through norm 0..1 ↔ orig 0..100 = 350
    near(score({ x1: 2, x2: 5 }).get('y'), 350);
    // x1=−3, x2=0: h1=relu(0.5−3)=0, h2=relu(−1−1.5)=0, o=1 → y=100
    near(score({ x1: -3, x2: 0 }).get('y'), 100);
    assert.equal(score({ x2: 5 }).get('y'), null, 'a missing input gives a missing prediction');
  });

  it('scores a classification network: threshold neuron, softmax layer, NormDiscrete outputs', () => {
    const score = pmml('neural-classification.pmml');
    // x=1 > threshold 0.5 → h=1; o_a = ln 12, o_b = ln 4 → softmax 12/16 = 0.75, 4/16 = 0.25
    let r = score({ x: 1 });
    assert.equal(r.get('c'), 'a');
    near(r.get('p_a'), 0.75);
    near(r.get('p_b'), 0.25);
    // x=0.5 is not above the threshold → h=0; o_a = 0, o_b = ln 4 → 1/5, 4/5
    r = score({ x: 0.5 });
    assert.equal(r.get('c'), 'b');
    near(r.get('p_a'), 0.2);
  });

  it('radialBasis neurons and a simplemax output layer', () => {
    const text = doc('<DataField name="x" optype="continuous" dataType="double"/><DataField name="c" optype="categorical" dataType="string"><Value value="a"/><Value value="b"/></DataField>',
      `<NeuralNetwork functionName="classification" activationFunction="radialBasis" width="1" altitude="1"><MiningSchema><MiningField name="x"/><MiningField name="c" usageType="target"/></MiningSchema>
       <Output><OutputField name="p_a" optype="continuous" dataType="double" feature="probability" value="a"/></Output>
       <NeuralInputs><NeuralInput id="0"><DerivedField optype="continuous" dataType="double"><FieldRef field="x"/></DerivedField></NeuralInput></NeuralInputs>
       <NeuralLayer><Neuron id="1"><Con from="0" weight="0"/></Neuron><Neuron id="2"><Con from="0" weight="2"/></Neuron></NeuralLayer>
       <NeuralLayer activationFunction="identity" normalizationMethod="simplemax"><Neuron id="3"><Con from="1" weight="1"/></Neuron><Neuron id="4"><Con from="2" weight="1"/></Neuron></NeuralLayer>
       <NeuralOutputs><NeuralOutput outputNeuron="3"><DerivedField optype="categorical" dataType="string"><NormDiscrete field="c" value="a"/></DerivedField></NeuralOutput>
       <NeuralOutput outputNeuron="4"><DerivedField optype="categorical" dataType="string"><NormDiscrete field="c" value="b"/></DerivedField></NeuralOutput></NeuralOutputs></NeuralNetwork>`);
    // radialBasis: exp(fanIn·ln(altitude) − ‖x − w‖² / (2·width²)) = exp(−(x − w)²/2) with altitude 1, width 1.
    // x=0: h1 = 1, h2 = e^−2; simplemax → P(a) = 1 / (1 + e^−2)
    const r = pmml(text)({ x: 0 });
    assert.equal(r.get('c'), 'a');
    near(r.get('p_a'), 1 / (1 + Math.exp(-2)));
  });

  it('follows a NeuralOutput FieldRef to a LocalTransformations field that normalises the target', () => {
    const text = doc('<DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/>',
      `<NeuralNetwork functionName="regression" activationFunction="identity"><MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
       <LocalTransformations><DerivedField name="y_norm" optype="continuous" dataType="double"><NormContinuous field="y"><LinearNorm orig="10" norm="0"/><LinearNorm orig="20" norm="1"/></NormContinuous></DerivedField></LocalTransformations>
       <NeuralInputs><NeuralInput id="0"><DerivedField optype="continuous" dataType="double"><FieldRef field="x"/></DerivedField></NeuralInput></NeuralInputs>
       <NeuralLayer><Neuron id="1" bias="0.25"><Con from="0" weight="0.5"/></Neuron></NeuralLayer>
       <NeuralOutputs><NeuralOutput outputNeuron="1"><DerivedField optype="continuous" dataType="double"><FieldRef field="y_norm"/></DerivedField></NeuralOutput></NeuralOutputs></NeuralNetwork>`);
    // x=1: neuron = 0.25 + 0.5 = 0.75; y_norm⁻¹(0.75) = 10 + 0.75·(20 − 10) = 17.5
    near(pmml(text)({ x: 1 }).get('y'), 17.5);
  });

  it('refuses an activation function it does not know, naming it', () => {
    const text = doc('<DataField name="x" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/>',
      `<NeuralNetwork functionName="regression" activationFunction="softsign"><MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
       <NeuralInputs><NeuralInput id="0"><DerivedField optype="continuous" dataType="double"><FieldRef field="x"/></DerivedField></NeuralInput></NeuralInputs>
       <NeuralLayer><Neuron id="1"><Con from="0" weight="1"/></Neuron></NeuralLayer>
       <NeuralOutputs><NeuralOutput outputNeuron="1"><DerivedField optype="continuous" dataType="double"><FieldRef field="y"/></DerivedField></NeuralOutput></NeuralOutputs></NeuralNetwork>`);
    assert.throws(() => pmml(text), /softsign/);
  });
});

describe('PMML NaiveBayesModel', () => {
  const score = pmml('naive-bayes.pmml');
  it('multiplies prior counts by conditional probabilities, a zero count becoming the threshold', () => {
    // red, len missing (skipped): yes ∝ 3 · 2/3 = 2; no ∝ 1 · 0.01 (count 0 → threshold) → P(yes) = 2/2.01
    const r = score({ color: 'red' });
    assert.equal(r.get('c'), 'yes');
    near(r.get('p_yes'), 2 / 2.01);
  });
  it('uses Gaussian densities for continuous inputs', () => {
    // blue, len=2: yes ∝ 3 · (1/3) · φ(2; 0, 1); no ∝ 1 · (1/1) · φ(2; 2, 1) → P(yes) = e^−2 / (1 + e^−2)
    const r = score({ color: 'blue', len: 2 });
    assert.equal(r.get('c'), 'no');
    near(r.get('p_yes'), Math.exp(-2) / (1 + Math.exp(-2)));
  });
  it('floors a density at the threshold and skips values with no PairCounts', () => {
    // green has no PairCounts (skipped); len=10: φ(10;0,1) and φ(10;2,1) are both < 0.01 → 0.01 each → priors 3:1
    near(score({ color: 'green', len: 10 }).get('p_yes'), 0.75);
  });
});

describe('PMML NaiveBayesModel, Poisson', () => {
  it('uses the Poisson probability e^−λ λ^x / x!', () => {
    const text = doc('<DataField name="n" optype="continuous" dataType="integer"/><DataField name="c" optype="categorical" dataType="string"><Value value="lo"/><Value value="hi"/></DataField>',
      `<NaiveBayesModel functionName="classification" threshold="0.0001"><MiningSchema><MiningField name="n"/><MiningField name="c" usageType="target"/></MiningSchema>
       <Output><OutputField name="p_lo" optype="continuous" dataType="double" feature="probability" value="lo"/></Output>
       <BayesInputs><BayesInput fieldName="n"><TargetValueStats>
         <TargetValueStat value="lo"><PoissonDistribution mean="1"/></TargetValueStat><TargetValueStat value="hi"><PoissonDistribution mean="3"/></TargetValueStat>
       </TargetValueStats></BayesInput></BayesInputs>
       <BayesOutput fieldName="c"><TargetValueCounts><TargetValueCount value="lo" count="5"/><TargetValueCount value="hi" count="5"/></TargetValueCounts></BayesOutput></NaiveBayesModel>`);
    // n=2: lo ∝ 5 · e^−1·1²/2!, hi ∝ 5 · e^−3·3²/2! → P(lo) = e^−1 / (e^−1 + 9e^−3) = 1 / (1 + 9e^−2)
    near(pmml(text)({ n: 2 }).get('p_lo'), 1 / (1 + 9 * Math.exp(-2)));
  });
});

describe('PMML SupportVectorMachineModel', () => {
  it('votes one-against-one with a polynomial kernel and a categorical vector field', () => {
    const score = pmml('svm-classification.pmml');
    // input vector (x, k=="u"); K(a, b) = (a·b + 1)². Machines: A|B: (x+1)² − 5; A|C: ([k=u]+1)² − 2;
    // B|C: (x+1)² − ([k=u]+1)². A value < 0 votes for targetCategory, else for the alternate.
    // x=2, k=u: A|B 9−5=4 → B; A|C 4−2=2 → C; B|C 9−4=5 → C ⇒ C with 2 of 3 votes
    let r = score({ x: 2, k: 'u' });
    assert.equal(r.get('c'), 'C');
    near(r.get('p_A'), 0);
    // x=0, k=v: A|B 1−5 → A; A|C 1−2 → A; B|C 1−1=0 (not < 0) → C ⇒ A with 2/3
    r = score({ x: 0, k: 'v' });
    assert.equal(r.get('c'), 'A');
    near(r.get('p_A'), 2 / 3);
  });
  it('rounds a binary model to 0/1 with alternateBinaryTargetCategory', () => {
    const text = doc('<DataField name="x" optype="continuous" dataType="double"/><DataField name="c" optype="categorical" dataType="string"><Value value="no"/><Value value="yes"/></DataField>',
      `<SupportVectorMachineModel functionName="classification" alternateBinaryTargetCategory="no"><MiningSchema><MiningField name="x"/><MiningField name="c" usageType="target"/></MiningSchema>
       <LinearKernelType/><VectorDictionary><VectorFields><FieldRef field="x"/></VectorFields><VectorInstance id="1"><Array n="1" type="real">1</Array></VectorInstance></VectorDictionary>
       <SupportVectorMachine targetCategory="yes"><SupportVectors><SupportVector vectorId="1"/></SupportVectors><Coefficients absoluteValue="0"><Coefficient value="1"/></Coefficients></SupportVectorMachine></SupportVectorMachineModel>`);
    const score = pmml(text);
    // f(x) = 1·(x·1) + 0 = x: round(0.2) = 0 → "no"; round(0.8) = 1 → "yes"; round(3) is neither → missing
    assert.equal(score({ x: 0.2 }).get('c'), 'no');
    assert.equal(score({ x: 0.8 }).get('c'), 'yes');
    assert.equal(score({ x: 3 }).get('c'), null);
  });
  it('one-against-all: the smallest value wins, the largest with maxWins', () => {
    const model = (maxWins: string): string => doc('<DataField name="x" optype="continuous" dataType="double"/><DataField name="c" optype="categorical" dataType="string"><Value value="A"/><Value value="B"/></DataField>',
      `<SupportVectorMachineModel functionName="classification" classificationMethod="OneAgainstAll" ${maxWins}><MiningSchema><MiningField name="x"/><MiningField name="c" usageType="target"/></MiningSchema>
       <SigmoidKernelType gamma="1" coef0="0"/><VectorDictionary><VectorFields><FieldRef field="x"/></VectorFields><VectorInstance id="1"><Array n="1" type="real">1</Array></VectorInstance></VectorDictionary>
       <SupportVectorMachine targetCategory="A"><SupportVectors><SupportVector vectorId="1"/></SupportVectors><Coefficients absoluteValue="0"><Coefficient value="1"/></Coefficients></SupportVectorMachine>
       <SupportVectorMachine targetCategory="B"><SupportVectors><SupportVector vectorId="1"/></SupportVectors><Coefficients absoluteValue="0"><Coefficient value="-1"/></Coefficients></SupportVectorMachine></SupportVectorMachineModel>`);
    // sigmoid kernel tanh(x·1): A = tanh(x), B = −tanh(x); x=0.5 → A ≈ 0.46, B ≈ −0.46
    assert.equal(pmml(model(''))({ x: 0.5 }).get('c'), 'B');
    assert.equal(pmml(model('maxWins="true"'))({ x: 0.5 }).get('c'), 'A');
  });
  it('computes a radial-basis regression', () => {
    const score = pmml('svm-regression.pmml');
    // x=(1,0): 2·e^(−0.5·1) − 1·e^(−0.5·(0+1)) + 0.25 = e^−0.5 + 0.25
    near(score({ x1: 1, x2: 0 }).get('y'), Math.exp(-0.5) + 0.25);
    // x=(0,0): 2·1 − e^(−0.5·2) + 0.25
    near(score({ x1: 0, x2: 0 }).get('y'), 2.25 - Math.exp(-1));
    assert.equal(score({ x1: 0 }).get('y'), null);
  });
});

/**
 * PMML kernels ClusteringModel, NearestNeighborModel and AnomalyDetectionModel on small hand-made
 * documents (fixtures/pmml/kernels/); every expected value is derived by hand in the comments.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { averagePathLength } from '../src/runtimes/pmml/models/anomaly-detection.js';
import { ROOT } from './helpers/env.js';
import { doc, near, pmml } from './helpers/pmml-kernels.js';

describe('PMML ClusteringModel', () => {
  const score = pmml('clustering.pmml');
  it('picks the nearest centre by weighted cityBlock distance and ranks the clusters', () => {
    // (1,1): to (0,0) 2·1 + 1·1 = 3; to (4,4) 2·3 + 1·3 = 9
    const r = score({ x: 1, y: 1 });
    assert.equal(r.get('cid'), '10');
    assert.equal(r.get('cname'), 'low');
    assert.equal(r.get('id2'), '20');
    near(r.get('aff1'), 3);
    near(r.get('aff2'), 9);
  });
  it('leaves a missing field out and scales the sum by the MissingValueWeights', () => {
    // (3, missing): only x counts, scaled by (1+1)/1 = 2: to (0,0) 2·3·2 = 12; to (4,4) 2·1·2 = 4
    const r = score({ x: 3 });
    assert.equal(r.get('cid'), '20');
    near(r.get('aff1'), 4);
    near(r.get('aff2'), 12);
  });
  it('supports similarity measures (jaccard over binary fields), best = largest', () => {
    const text = doc('<DataField name="a" optype="continuous" dataType="double"/><DataField name="b" optype="continuous" dataType="double"/><DataField name="c" optype="continuous" dataType="double"/>',
      `<ClusteringModel functionName="clustering" modelClass="centerBased" numberOfClusters="2"><MiningSchema><MiningField name="a"/><MiningField name="b"/><MiningField name="c"/></MiningSchema>
       <Output><OutputField name="cid" feature="predictedValue" dataType="string"/><OutputField name="aff" feature="affinity" rank="1" dataType="double"/></Output>
       <ComparisonMeasure kind="similarity"><jaccard/></ComparisonMeasure>
       <ClusteringField field="a"/><ClusteringField field="b"/><ClusteringField field="c"/>
       <Cluster><Array n="3" type="real">1 1 0</Array></Cluster><Cluster><Array n="3" type="real">1 0 1</Array></Cluster></ClusteringModel>`);
    // input (1,0,1): cluster 1: a11=1, a10=1, a01=1 → 1/3; cluster 2: a11=2 → 2/2 = 1
    const r = pmml(text)({ a: 1, b: 0, c: 1 });
    assert.equal(r.get('cid'), '2');
    near(r.get('aff'), 1);
  });
  it('refuses a distribution-based model by name', () => {
    const text = doc('<DataField name="a" optype="continuous" dataType="double"/>',
      `<ClusteringModel functionName="clustering" modelClass="distributionBased" numberOfClusters="1"><MiningSchema><MiningField name="a"/></MiningSchema>
       <ComparisonMeasure kind="distance"><euclidean/></ComparisonMeasure><ClusteringField field="a"/><Cluster><Array n="1" type="real">0</Array></Cluster></ClusteringModel>`);
    assert.throws(() => pmml(text), /distributionBased/);
  });
});

describe('PMML NearestNeighborModel', () => {
  const text = readFileSync(join(ROOT, 'fixtures/pmml/kernels/nearest-neighbor.pmml'), 'utf8');
  it('transforms the training instances, finds the k nearest and weights them by 1/(distance + threshold)', () => {
    // z = 2x: instances z = 0 (a, y=10), 2 (b, y=20), 6 (c, y=40); x=0.75 → z=1.5;
    // distances 1.5, 0.5, 4.5 → neighbours b (0.5), a (1.5); y = (20/0.501 + 10/1.501) / (1/0.501 + 1/1.501)
    const r = pmml(text)({ x: 0.75 });
    assert.equal(r.get('n1'), 'b');
    assert.equal(r.get('n2'), 'a');
    near(r.get('d2'), 1.5);
    near(r.get('y'), (20 / 0.501 + 10 / 1.501) / (1 / 0.501 + 1 / 1.501));
  });
  it('averages or takes the median of the neighbours', () => {
    near(pmml(text.replace('"weightedAverage"', '"average"'))({ x: 0.75 }).get('y'), 15);
    // k=3 median of 10, 20, 40 = 20
    near(pmml(text.replace('"weightedAverage"', '"median"').replace('numberOfNeighbors="2"', 'numberOfNeighbors="3"'))({ x: 0.75 }).get('y'), 20);
  });
  it('breaks a majority-vote tie by training counts, then by the smallest value', () => {
    const knn = (rows: string): string => doc('<DataField name="x" optype="continuous" dataType="double"/><DataField name="c" optype="categorical" dataType="string"/>',
      `<NearestNeighborModel functionName="classification" numberOfNeighbors="2"><MiningSchema><MiningField name="x"/><MiningField name="c" usageType="target"/></MiningSchema>
       <TrainingInstances><InstanceFields><InstanceField field="x" column="x"/><InstanceField field="c" column="c"/></InstanceFields><InlineTable>${rows}</InlineTable></TrainingInstances>
       <ComparisonMeasure kind="distance"><squaredEuclidean/></ComparisonMeasure><KNNInputs><KNNInput field="x"/></KNNInputs></NearestNeighborModel>`);
    // x=1.5: neighbours 1 (q) and 2 (p) tie 1:1; p has 2 training cases, q has 1 → p
    assert.equal(pmml(knn('<row><x>1</x><c>q</c></row><row><x>2</x><c>p</c></row><row><x>9</x><c>p</c></row>'))({ x: 1.5 }).get('c'), 'p');
    // equal training counts → the smaller value, "p"
    assert.equal(pmml(knn('<row><x>1</x><c>q</c></row><row><x>2</x><c>p</c></row>'))({ x: 1.5 }).get('c'), 'p');
  });
  it('weightedMajorityVote weights each neighbour by 1/(distance + threshold)', () => {
    const text = doc('<DataField name="x" optype="continuous" dataType="double"/><DataField name="c" optype="categorical" dataType="string"/>',
      `<NearestNeighborModel functionName="classification" numberOfNeighbors="3" categoricalScoringMethod="weightedMajorityVote" threshold="0.5"><MiningSchema><MiningField name="x"/><MiningField name="c" usageType="target"/></MiningSchema>
       <TrainingInstances><InstanceFields><InstanceField field="x" column="x"/><InstanceField field="c" column="c"/></InstanceFields>
       <InlineTable><row><x>0</x><c>p</c></row><row><x>3</x><c>q</c></row><row><x>4</x><c>q</c></row></InlineTable></TrainingInstances>
       <ComparisonMeasure kind="distance"><cityBlock/></ComparisonMeasure><KNNInputs><KNNInput field="x"/></KNNInputs></NearestNeighborModel>`);
    // x=0.5: p at 0.5 → 1/(0.5+0.5) = 1; q at 2.5 and 3.5 → 1/3 + 1/4 = 0.583 → p (a plain majority would say q)
    assert.equal(pmml(text)({ x: 0.5 }).get('c'), 'p');
  });
  it('compares a categorical input with delta', () => {
    const text = doc('<DataField name="color" optype="categorical" dataType="string"/><DataField name="n" optype="continuous" dataType="double"/><DataField name="y" optype="continuous" dataType="double"/>',
      `<NearestNeighborModel functionName="regression" numberOfNeighbors="1"><MiningSchema><MiningField name="color"/><MiningField name="n"/><MiningField name="y" usageType="target"/></MiningSchema>
       <TrainingInstances isTransformed="true"><InstanceFields><InstanceField field="color" column="c"/><InstanceField field="n" column="n"/><InstanceField field="y" column="y"/></InstanceFields>
       <InlineTable><row><c>red</c><n>0</n><y>1</y></row><row><c>blue</c><n>1</n><y>2</y></row></InlineTable></TrainingInstances>
       <ComparisonMeasure kind="distance"><cityBlock/></ComparisonMeasure>
       <KNNInputs><KNNInput field="color" compareFunction="delta"/><KNNInput field="n" compareFunction="absDiff"/></KNNInputs></NearestNeighborModel>`);
    // (red, 0.8): to red/0 → 0 + 0.8 = 0.8; to blue/1 → 1 + 0.2 = 1.2 → y = 1
    near(pmml(text)({ color: 'red', n: 0.8 }).get('y'), 1);
    // (green, 0.8): unseen category differs from both → 1.8 and 1.2 → y = 2
    near(pmml(text)({ color: 'green', n: 0.8 }).get('y'), 2);
  });
});

describe('PMML AnomalyDetectionModel', () => {
  it('iforest: 2^(−E(h)/c(n)) over the nested model, with c(n) = 2(ln(n−1) + 0.57721566) − 2(n−1)/n', () => {
    const c256 = 2 * (Math.log(255) + 0.57721566) - (2 * 255) / 256;
    near(averagePathLength(256), c256);
    assert.equal(averagePathLength(2), 1);
    const score = pmml('anomaly-iforest.pmml');
    // x=2 → E(h) = 3 → 2^(−3/c(256)) ≈ 0.78: above the 0.5 threshold
    let r = score({ x: 2 });
    near(r.get('score'), Math.pow(2, -3 / c256));
    assert.equal(r.get('anomaly'), true);
    // x=20 → E(h) = 21 → 2^(−21/c(256)) ≈ 0.18
    r = score({ x: 20 });
    near(r.get('score'), Math.pow(2, -21 / c256));
    assert.equal(r.get('anomaly'), false);
  });
  it('refuses an unknown algorithmType by name', () => {
    const text = readFileSync(join(ROOT, 'fixtures/pmml/kernels/anomaly-iforest.pmml'), 'utf8').replace('algorithmType="iforest"', 'algorithmType="lof"');
    assert.throws(() => pmml(text), /lof/);
  });
});

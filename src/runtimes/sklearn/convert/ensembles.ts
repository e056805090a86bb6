/**
 * Tree ensembles to the document's `trees` node: single trees and forests (averaged class
 * probabilities or values), GradientBoosting (init + learning_rate × tree values, then the
 * loss's link) and HistGradientBoosting (baseline + tree values, then the loss's link).
 */
import { Estimator, toFloat64 } from '../attrs.js';
import type { DocValue } from '../document.js';
import { itemsOf, kindOf, NdArray, PyObject } from '../pickle/values.js';
import { appendPredictor, appendTree, emptyNodes, nodesDoc, subEstimators } from './trees.js';

export const TREE_CLASSIFIERS = new Set(['DecisionTreeClassifier', 'ExtraTreeClassifier', 'RandomForestClassifier', 'ExtraTreesClassifier', 'GradientBoostingClassifier', 'HistGradientBoostingClassifier']);
export const TREE_REGRESSORS = new Set(['DecisionTreeRegressor', 'ExtraTreeRegressor', 'RandomForestRegressor', 'ExtraTreesRegressor', 'GradientBoostingRegressor', 'HistGradientBoostingRegressor']);

const FLOAT32_EPS = 2 ** -23;

/** A single tree or a forest: per-tree class probabilities (or values) averaged over the trees. */
export function forestDoc(est: Estimator, features: number, classes: (string | number)[] | null): Record<string, DocValue> {
  const single = est.name.startsWith('DecisionTree') || est.name.startsWith('ExtraTree') && !est.name.startsWith('ExtraTrees');
  const trees = single ? [est] : subEstimators(est, 'estimators_');
  const width = classes ? classes.length : 1;
  const nodes = emptyNodes();
  for (const t of trees) {
    checkFeatures(t, features);
    appendTree(t, nodes, width);
  }
  return { kind: 'trees', aggregate: classes ? 'mean-proba' : 'mean', float32: true, classesPerStage: 1, ...nodesDoc(nodes, width) };
}

function checkFeatures(t: Estimator, features: number): void {
  const tree = t.raw('tree_');
  const n = tree instanceof PyObject ? tree.args[0] : undefined;
  if (n !== features) t.fail(`the tree was fitted on ${kindOf(n)} ${typeof n === 'number' ? n : ''} features, the model takes ${features}`);
}

/** GradientBoosting* and HistGradientBoosting*. */
export function boostingDoc(est: Estimator, features: number, classes: (string | number)[] | null): Record<string, DocValue> {
  return est.name.startsWith('Hist') ? histDoc(est, features, classes) : gbDoc(est, features, classes);
}

function gbDoc(est: Estimator, features: number, classes: (string | number)[] | null): Record<string, DocValue> {
  const stages = est.array('estimators_');
  const [n, k] = stages.shape;
  if (stages.shape.length !== 2 || !n || !k || !Array.isArray(stages.data)) est.fail('estimators_ is not a [stages, K] array of trees');
  const trees = subEstimators(est, 'estimators_');
  const nodes = emptyNodes();
  for (const t of trees) {
    checkFeatures(t, features);
    appendTree(t, nodes, 1);
  }
  const lossObj = est.raw('_loss');
  const loss = lossObj instanceof PyObject ? lossObj.cls.name : String(est.optStr('loss'));
  const init = initScores(est, loss, k);
  let link: string;
  switch (loss) {
    case 'BinomialDeviance': link = 'gb-binomial'; break;
    case 'MultinomialDeviance': link = 'gb-multinomial'; break;
    case 'ExponentialLoss': link = 'gb-exponential'; break;
    case 'LeastSquaresError': case 'LeastAbsoluteError': case 'HuberLossFunction': case 'QuantileLossFunction': link = 'identity'; break;
    default: est.unsupported(`GradientBoosting with loss ${loss} is not supported`);
  }
  if (classes && link === 'identity') est.fail(`a classifier with loss ${loss}`);
  return { kind: 'trees', aggregate: 'boost', float32: true, classesPerStage: k, scale: est.num('learning_rate'), init, link, ...nodesDoc(nodes, 1) };
}

/** The raw predictions GradientBoosting starts from (init_ a Dummy estimator, or "zero"), per class. */
function initScores(est: Estimator, loss: string, k: number): Float64Array {
  const init = est.raw('init_');
  if (init === 'zero') return new Float64Array(k);
  if (!(init instanceof PyObject)) return est.fail('init_ is neither "zero" nor an estimator');
  const dummy = new Estimator(init, `${est.step}/init_`);
  if (dummy.name === 'DummyRegressor') {
    const c = dummy.floats('constant_');
    if (c.length !== 1 || k !== 1) dummy.fail('constant_ does not hold one value');
    return Float64Array.of(c[0]!);
  }
  if (dummy.name !== 'DummyClassifier' || dummy.optStr('strategy') !== 'prior') dummy.unsupported('GradientBoosting init must be the default (DummyClassifier(strategy="prior")), DummyRegressor or "zero"');
  const prior = dummy.floats('class_prior_');
  const clip = (p: number): number => Math.min(Math.max(p, FLOAT32_EPS), 1 - FLOAT32_EPS);
  if (loss === 'MultinomialDeviance') return Float64Array.from(prior, (p) => Math.log(clip(p)));
  const p = clip(prior[1] ?? Number.NaN);
  const logit = Math.log(p / (1 - p));
  return Float64Array.of(loss === 'ExponentialLoss' ? 0.5 * logit : logit);
}

function histDoc(est: Estimator, features: number, _classes: (string | number)[] | null): Record<string, DocValue> {
  const iterations = itemsOf(est.raw('_predictors') ?? null);
  if (!iterations || iterations.length === 0) est.fail('_predictors is not a non-empty list');
  const k = est.int('n_trees_per_iteration_', 1);
  const nodes = emptyNodes();
  iterations.forEach((it, i) => {
    const predictors = itemsOf(it);
    if (!predictors || predictors.length !== k) est.fail(`_predictors[${i}] does not hold ${k} trees`);
    predictors.forEach((p, j) => appendPredictor(est, p, nodes, `${est.step}/_predictors[${i}][${j}]`));
  });
  const baseline = est.array('_baseline_prediction');
  const init = toFloat64(baseline, () => est.fail('_baseline_prediction is not numeric'));
  if (init.length !== k) est.fail(`_baseline_prediction has ${init.length} values for ${k} trees per iteration`);
  const lossObj = est.raw('_loss');
  const loss = lossObj instanceof PyObject ? lossObj.cls.name : '';
  const links: Record<string, string> = { HalfBinomialLoss: 'hgb-binomial', HalfMultinomialLoss: 'softmax', HalfSquaredError: 'identity', AbsoluteError: 'identity', PinballLoss: 'identity', HalfPoissonLoss: 'exp', HalfGammaLoss: 'exp' };
  const link = links[loss] ?? est.unsupported(`HistGradientBoosting with loss ${loss || kindOf(est.raw('loss'))} is not supported`);
  const known = knownCategories(est, features);
  return { kind: 'trees', aggregate: 'boost', float32: false, classesPerStage: k, scale: 1, init, link, ...known, ...nodesDoc(nodes, 1) };
}

/** Categorical features of a HistGradientBoosting model: which feature, and its known categories (8 × 32-bit words each). */
function knownCategories(est: Estimator, features: number): Record<string, DocValue> {
  const isCat = est.optArray('is_categorical_');
  if (!isCat) return {};
  const flags = toFloat64(isCat, () => est.fail('is_categorical_ is not boolean'));
  if (!flags.some((f) => f !== 0)) return {};
  if (flags.length !== features) est.fail(`is_categorical_ has ${flags.length} entries for ${features} features`);
  const mapper = est.child('_bin_mapper');
  const cats = itemsOf(mapper.raw('bin_thresholds_') ?? null);
  const catFeatures: number[] = [];
  const bits: number[] = [];
  flags.forEach((f, j) => {
    if (f === 0) return;
    const known = cats?.[j];
    const codes = known instanceof NdArray ? toFloat64(known, () => mapper.fail('categories are not numeric')) : mapper.fail(`no known categories for feature ${j}`);
    const words = new Array<number>(8).fill(0);
    for (const c of codes) if (Number.isInteger(c) && c >= 0 && c < 256) words[c >>> 5] = (words[c >>> 5]! | (1 << (c & 31))) | 0;
    catFeatures.push(j);
    bits.push(...words);
  });
  return { catFeatures: Int32Array.from(catFeatures), knownBits: Int32Array.from(bits) };
}

/**
 * Linear estimators to the document's `linear` node: LinearRegression, Ridge, Lasso, ElasticNet,
 * SGDRegressor (prediction = X·coef + intercept) and LogisticRegression, SGDClassifier (decision
 * function, then scikit-learn's own link for predict_proba).
 */
import { Estimator } from '../attrs.js';
import type { DocValue } from '../document.js';

export const LINEAR_REGRESSORS = new Set(['LinearRegression', 'Ridge', 'Lasso', 'ElasticNet', 'SGDRegressor', 'LassoLars', 'Lars', 'BayesianRidge', 'ARDRegression', 'HuberRegressor',
  'LinearSVR', 'TheilSenRegressor', 'QuantileRegressor', 'OrthogonalMatchingPursuit', 'PassiveAggressiveRegressor']);
/** Classifiers scored by their decision function; only LogisticRegression and SGDClassifier (log_loss, modified_huber) have predict_proba. */
export const LINEAR_CLASSIFIERS = new Set(['LogisticRegression', 'SGDClassifier', 'LinearSVC', 'Perceptron', 'PassiveAggressiveClassifier']);
/** Generalised linear models: prediction = link⁻¹(X·coef + intercept). */
export const GLM_REGRESSORS = new Set(['PoissonRegressor', 'GammaRegressor', 'TweedieRegressor']);

/** coef_ as K × F (one row per output) and intercept_ as K values. */
function weights(est: Estimator, features: number): { coef: Float64Array; intercept: Float64Array; k: number } {
  const coefArray = est.array('coef_');
  const coef = est.floats('coef_');
  const k = coefArray.shape.length === 2 ? coefArray.shape[0]! : 1;
  if (coefArray.shape.length > 2 || coef.length !== k * features) est.fail(`coef_ has shape [${coefArray.shape.join(', ')}], expected ${features} coefficients per output`);
  const raw = est.raw('intercept_');
  const intercept = typeof raw === 'number' ? Float64Array.of(raw) : raw === undefined ? new Float64Array(k) : est.floats('intercept_');
  if (intercept.length !== k) est.fail(`intercept_ has ${intercept.length} values for ${k} outputs`);
  return { coef, intercept, k };
}

export function linearRegressor(est: Estimator, features: number): Record<string, DocValue> {
  const { coef, intercept, k } = weights(est, features);
  if (k !== 1) est.unsupported(`multi-target regression (${k} targets) is not supported`);
  return { kind: 'linear', coef, intercept, outputs: 1, link: 'identity' };
}

/**
 * PoissonRegressor, GammaRegressor (log link) and TweedieRegressor (its `link`: "auto" is the
 * identity for power ≤ 0 and the log link otherwise), as scikit-learn 1.2's
 * `_GeneralizedLinearRegressor.predict`: the inverse link of X·coef + intercept.
 */
export function glmRegressor(est: Estimator, features: number): Record<string, DocValue> {
  const { coef, intercept, k } = weights(est, features);
  if (k !== 1) est.fail(`coef_ has ${k} rows, expected one`);
  let log = true;
  if (est.name === 'TweedieRegressor') {
    const link = est.optStr('link') ?? 'auto';
    if (link !== 'auto' && link !== 'identity' && link !== 'log') est.unsupported(`link "${link}" is not supported`);
    log = link === 'log' || (link === 'auto' && est.num('power') > 0);
  }
  return { kind: 'linear', coef, intercept, outputs: 1, link: log ? 'exp' : 'identity' };
}

/**
 * How predict_proba turns decision values into probabilities (LogisticRegression.predict_proba,
 * SGDClassifier.predict_proba / _predict_proba_lr in scikit-learn 1.2).
 */
export function linearClassifier(est: Estimator, features: number, classes: number): Record<string, DocValue> {
  const { coef, intercept, k } = weights(est, features);
  const binary = classes === 2;
  if (binary ? k !== 1 : k !== classes) est.fail(`coef_ has ${k} rows for ${classes} classes`);
  let link: string;
  if (est.name === 'LogisticRegression') {
    const multi = est.optStr('multi_class') ?? 'auto';
    const solver = est.optStr('solver') ?? 'lbfgs';
    const ovr = multi === 'ovr' || multi === 'warn' || (multi === 'auto' && (classes <= 2 || solver === 'liblinear'));
    link = ovr ? (binary ? 'logistic' : 'ovr') : binary ? 'softmax2' : 'softmax';
  } else if (est.name !== 'SGDClassifier') {
    link = 'none'; // LinearSVC, Perceptron, PassiveAggressiveClassifier: labels from the decision function only
  } else {
    const loss = est.optStr('loss') ?? 'hinge';
    if (loss === 'log_loss' || loss === 'log') link = binary ? 'logistic' : 'ovr';
    else if (loss === 'modified_huber' && binary) link = 'modified_huber';
    else link = 'none'; // no predict_proba for this loss: labels only
  }
  return { kind: 'linear', coef, intercept, outputs: k, link };
}

/**
 * Estimators that are neither linear nor trees, to their document nodes: MLPClassifier and
 * MLPRegressor (the fitted layer weights), GaussianNB (per-class means and variances) and
 * KNeighborsClassifier/Regressor (the training rows themselves, as scikit-learn keeps them).
 */
import { Estimator } from '../attrs.js';
import type { DocValue } from '../document.js';
import { itemsOf, kindOf, NdArray } from '../pickle/values.js';

export const OTHER_CLASSIFIERS = new Set(['MLPClassifier', 'GaussianNB', 'KNeighborsClassifier', 'SVC', 'NuSVC']);
export const OTHER_REGRESSORS = new Set(['MLPRegressor', 'KNeighborsRegressor', 'SVR', 'NuSVR']);

const HIDDEN = new Set(['relu', 'tanh', 'logistic', 'identity']);

export function otherDoc(est: Estimator, width: number, classes: readonly (string | number)[] | null): Record<string, DocValue> {
  switch (est.name) {
    case 'MLPClassifier':
    case 'MLPRegressor':
      return mlpDoc(est, width, classes);
    case 'GaussianNB':
      return gnbDoc(est, width, classes);
    case 'SVC':
    case 'NuSVC':
    case 'SVR':
    case 'NuSVR':
      return svmDoc(est, width, classes);
    default:
      return knnDoc(est, width, classes);
  }
}

/** Layers as weights [in × out] row-major and biases [out]; hidden and output activations. */
function mlpDoc(est: Estimator, width: number, classes: readonly (string | number)[] | null): Record<string, DocValue> {
  const coefs = itemsOf(est.raw('coefs_') ?? null);
  const intercepts = itemsOf(est.raw('intercepts_') ?? null);
  if (!coefs || !intercepts || coefs.length === 0 || coefs.length !== intercepts.length) est.fail('coefs_ and intercepts_ are not lists of one array per layer');
  const activation = est.str('activation');
  if (!HIDDEN.has(activation)) est.unsupported(`activation "${activation}" is not supported`);
  const output = est.str('out_activation_');
  if (!['softmax', 'logistic', 'identity'].includes(output)) est.unsupported(`out_activation_ "${output}" is not supported`);
  const layers: DocValue[] = [];
  let inputs = width;
  coefs.forEach((c, i) => {
    const b = intercepts[i];
    if (!(c instanceof NdArray) || !(b instanceof NdArray) || c.shape.length !== 2 || c.shape[0] !== inputs) est.fail(`coefs_[${i}] is not a [${inputs}, units] array`);
    const units = c.shape[1]!;
    if (b.size !== units) est.fail(`intercepts_[${i}] has ${b.size} values for ${units} units`);
    layers.push({ weights: floats(est, c, `coefs_[${i}]`), bias: floats(est, b, `intercepts_[${i}]`), inputs, units });
    inputs = units;
  });
  if (classes) {
    const expected = classes.length === 2 ? 1 : classes.length;
    if (inputs !== expected) est.unsupported(`an output layer of ${inputs} units for ${classes.length} classes (multi-label MLPs are not supported)`);
  } else if (inputs !== 1) est.unsupported(`multi-output regression (${inputs} outputs) is not supported`);
  return { kind: 'mlp', activation, output, layers };
}

function floats(est: Estimator, a: NdArray, what: string): Float64Array {
  if (a.data instanceof Float64Array) return a.data;
  if (a.data instanceof Float32Array) return Float64Array.from(a.data);
  return est.fail(`${what} is a ${a.dtype.str} array, expected float64`);
}

/** theta_ and var_ (K × F, var_smoothing already added at fit) and the class priors. */
function gnbDoc(est: Estimator, width: number, classes: readonly (string | number)[] | null): Record<string, DocValue> {
  const k = classes?.length ?? 0;
  const varKey = est.has('var_') ? 'var_' : 'sigma_';
  return { kind: 'gnb', theta: est.floats('theta_', k * width), variance: est.floats(varKey, k * width), prior: est.floats('class_prior_', k) };
}

/** The training rows (_fit_X), their targets (_y: class indices or values), k, weights and metric. */
function knnDoc(est: Estimator, width: number, classes: readonly (string | number)[] | null): Record<string, DocValue> {
  if (est.bool('outputs_2d_', false)) est.unsupported('multi-output neighbors are not supported');
  const k = est.int('n_neighbors', 1);
  const weights = est.raw('weights') ?? 'uniform';
  if (weights !== 'uniform' && weights !== 'distance') est.unsupported(`weights=${typeof weights === 'string' ? weights : kindOf(weights)} is not supported (a callable would be code)`);
  const metric = est.optStr('effective_metric_') ?? est.optStr('metric') ?? 'minkowski';
  const params = est.raw('effective_metric_params_');
  let p = est.has('p') ? est.num('p') : 2;
  if (params instanceof Map && typeof params.get('p') === 'number') p = params.get('p') as number;
  const power = metric === 'euclidean' ? 2 : metric === 'manhattan' || metric === 'cityblock' || metric === 'l1' ? 1 : metric === 'minkowski' ? p : metric === 'chebyshev' || metric === 'infinity' ? Number.POSITIVE_INFINITY : Number.NaN;
  if (Number.isNaN(power) || !(power >= 1)) est.unsupported(`metric "${metric}" is not supported (euclidean, manhattan, chebyshev and minkowski with p ≥ 1 are)`);
  const fitX = est.floats('_fit_X');
  const rows = fitX.length / width;
  if (!Number.isInteger(rows) || rows < 1) est.fail(`_fit_X holds ${fitX.length} values, not rows of ${width} features`);
  if (k > rows) est.fail(`n_neighbors=${k} is more than the ${rows} training rows`);
  const y = est.floats('_y', rows);
  if (classes) for (const c of y) if (!Number.isInteger(c) || c < 0 || c >= classes.length) est.fail(`_y holds ${c}, not a class index below ${classes.length}`);
  return { kind: 'knn', k, weights, power: Number.isFinite(power) ? power : -1, fitX, y };
}

/**
 * A kernel SVM as libsvm keeps it (scikit-learn's private fields, the ones its predict passes to
 * libsvm): the support vectors, `_dual_coef_` (libsvm's signs, which `dual_coef_` flips for two
 * classes), `_intercept_` (−rho), `_n_support`, the fitted `_gamma`, and `_probA`/`_probB` when
 * fitted with probability=True.
 */
function svmDoc(est: Estimator, width: number, classes: readonly (string | number)[] | null): Record<string, DocValue> {
  if (est.bool('_sparse', false)) est.unsupported('a model fitted on a sparse matrix is not supported');
  const kernel = est.raw('kernel');
  if (kernel !== 'linear' && kernel !== 'poly' && kernel !== 'rbf' && kernel !== 'sigmoid') est.unsupported(`kernel=${typeof kernel === 'string' ? `"${kernel}"` : kindOf(kernel)} is not supported (linear, poly, rbf and sigmoid are; a callable would be code)`);
  if (classes && est.bool('break_ties', false) && est.optStr('decision_function_shape') === 'ovr' && classes.length > 2) est.unsupported('break_ties=True is not supported');
  const sv = est.floats('support_vectors_');
  const n = sv.length / width;
  if (!Number.isInteger(n) || n < 1) est.fail(`support_vectors_ holds ${sv.length} values, not rows of ${width} features`);
  const K = classes?.length ?? 0;
  const pairs = classes ? (K * (K - 1)) / 2 : 1;
  const counts = classes ? Int32Array.from(est.floats('_n_support', K)) : new Int32Array(0);
  const probability = classes !== null && est.bool('probability', false);
  const probA = probability ? est.floats('_probA', pairs) : null;
  const probB = probability ? est.floats('_probB', pairs) : null;
  const rho = Float64Array.from(est.floats('_intercept_', pairs), (v) => -v);
  return {
    kind: 'svm', kernel, gamma: est.num('_gamma'), coef0: est.num('coef0'), degree: est.int('degree'),
    sv, coef: est.floats('_dual_coef_', (classes ? K - 1 : 1) * n), rho, counts, probA, probB,
  };
}

/**
 * Numeric transformers to document steps, each applied to the float64 matrix in scikit-learn's
 * own order of operations: StandardScaler, MinMaxScaler, RobustScaler, MaxAbsScaler,
 * SimpleImputer (numeric), FunctionTransformer(func=None), PolynomialFeatures.
 */
import { Estimator } from '../attrs.js';
import type { DocValue } from '../document.js';
import { kindOf } from '../pickle/values.js';

export const TRANSFORMERS = new Set(['StandardScaler', 'MinMaxScaler', 'RobustScaler', 'MaxAbsScaler', 'SimpleImputer', 'FunctionTransformer', 'PolynomialFeatures']);

/** A transformer step and the number of columns it outputs. */
export function transformStep(est: Estimator, width: number): { step: Record<string, DocValue> | null; width: number; nullable: boolean } {
  const opt = (key: string): Float64Array | null => (est.optArray(key) ? est.floats(key, width) : null);
  switch (est.name) {
    case 'StandardScaler':
      return { step: { op: 'standard', mean: opt('mean_'), scale: opt('scale_') }, width, nullable: false };
    case 'MinMaxScaler': {
      const range = est.raw('feature_range');
      const clip = est.bool('clip', false);
      const bounds = Array.isArray(range) ? range : range && typeof range === 'object' && 'items' in range ? (range as { items: readonly unknown[] }).items : [0, 1];
      return { step: { op: 'minmax', scale: est.floats('scale_', width), min: est.floats('min_', width), clip, low: Number(bounds[0] ?? 0), high: Number(bounds[1] ?? 1) }, width, nullable: false };
    }
    case 'RobustScaler':
      return { step: { op: 'robust', center: opt('center_'), scale: opt('scale_') }, width, nullable: false };
    case 'MaxAbsScaler':
      return { step: { op: 'maxabs', scale: est.floats('scale_', width) }, width, nullable: false };
    case 'FunctionTransformer':
      if (est.raw('func') !== null && est.raw('func') !== undefined) est.unsupported('FunctionTransformer is supported only with func=None (a function would be code)');
      return { step: null, width, nullable: false };
    case 'SimpleImputer': {
      if (est.bool('add_indicator', false)) est.unsupported('SimpleImputer(add_indicator=True) is not supported');
      const statistics = est.floats('statistics_', width);
      const mv = est.raw('missing_values');
      const missing = typeof mv === 'number' ? mv : mv === null || mv === undefined ? Number.NaN : est.unsupported(`missing_values=${kindOf(mv)} is not supported on numeric columns`);
      // scikit-learn 1.2 drops columns whose statistic is NaN (all values missing at fit) unless keep_empty_features.
      const keepEmpty = est.bool('keep_empty_features', false);
      const keep: number[] = [];
      for (let j = 0; j < width; j++) if (keepEmpty || !Number.isNaN(statistics[j]!)) keep.push(j);
      if (keepEmpty) for (let j = 0; j < width; j++) if (Number.isNaN(statistics[j]!)) statistics[j] = 0;
      return { step: { op: 'impute', statistics, missing, keep: Int32Array.from(keep) }, width: keep.length, nullable: true };
    }
    case 'PolynomialFeatures':
      return polynomial(est, width);
    default:
      return est.unsupported(`${est.name} is not a supported transformer`);
  }
}

/**
 * PolynomialFeatures as the products its output columns are, in scikit-learn 1.2's column order
 * (`PolynomialFeatures._combinations`): the bias (when kept), then for each degree from the
 * smallest kept one up, the combinations (with repetition unless interaction_only) of the input
 * columns in lexicographic order. `terms` lists each product's columns, `offsets` where each starts.
 */
function polynomial(est: Estimator, width: number): { step: Record<string, DocValue>; width: number; nullable: boolean } {
  if (est.int('n_features_in_', 1) !== width) est.fail(`n_features_in_ = ${est.num('n_features_in_')}, the step receives ${width} columns`);
  const max = est.has('_max_degree') ? est.int('_max_degree') : est.int('degree');
  const min = est.has('_min_degree') ? est.int('_min_degree') : 0;
  const interactionOnly = est.bool('interaction_only', false);
  const includeBias = est.bool('include_bias', true);
  const combos: number[][] = includeBias ? [[]] : [];
  const grow = (prefix: number[], from: number, left: number): void => {
    if (left === 0) {
      combos.push(prefix);
      return;
    }
    for (let j = from; j < width; j++) grow([...prefix, j], interactionOnly ? j + 1 : j, left - 1);
  };
  for (let d = Math.max(1, min); d <= max; d++) {
    grow([], 0, d);
    if (combos.length > 100_000) est.unsupported(`${combos.length}+ output columns (degree ${max} over ${width} inputs) is more than Ferry scores`);
  }
  if (est.has('n_output_features_') && est.int('n_output_features_') !== combos.length) est.fail(`n_output_features_ = ${est.num('n_output_features_')}, the combinations give ${combos.length}`);
  const offsets = new Int32Array(combos.length + 1);
  combos.forEach((c, i) => { offsets[i + 1] = offsets[i]! + c.length; });
  return { step: { op: 'poly', offsets, terms: Int32Array.from(combos.flat()) }, width: combos.length, nullable: false };
}

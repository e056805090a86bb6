/**
 * Numeric transformers to document steps, each applied to the float64 matrix in scikit-learn's
 * own order of operations: StandardScaler, MinMaxScaler, RobustScaler, MaxAbsScaler,
 * SimpleImputer (numeric), FunctionTransformer(func=None).
 */
import { Estimator } from '../attrs.js';
import type { DocValue } from '../document.js';
import { kindOf } from '../pickle/values.js';

export const TRANSFORMERS = new Set(['StandardScaler', 'MinMaxScaler', 'RobustScaler', 'MaxAbsScaler', 'SimpleImputer', 'FunctionTransformer']);

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
    default:
      return est.unsupported(`${est.name} is not a supported transformer`);
  }
}

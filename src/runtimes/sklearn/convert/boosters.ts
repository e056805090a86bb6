/**
 * xgboost's scikit-learn wrappers (XGBClassifier, XGBRegressor): the pickled Booster keeps the
 * model as xgboost's memory snapshot (UBJSON `{"Config": …, "Model": …}`), whose Model part is
 * what `save_model` writes. The document keeps those bytes; scoring goes to Ferry's own
 * XGBoost evaluator. Nothing of the wrapper is called.
 */
import { Estimator } from '../attrs.js';
import type { DocValue } from '../document.js';
import { kindOf, PyObject } from '../pickle/values.js';
import { decodeUbjson } from '../../xgboost/ubjson.js';

export const BOOSTER_CLASSIFIERS = new Set(['XGBClassifier']);
export const BOOSTER_REGRESSORS = new Set(['XGBRegressor']);

export function boosterDoc(est: Estimator, classes: readonly (string | number)[] | null): Record<string, DocValue> {
  const booster = est.raw('_Booster');
  if (!(booster instanceof PyObject) || booster.cls.qualname !== 'xgboost.core.Booster') est.fail(`_Booster is ${kindOf(booster ?? null)}, expected an xgboost Booster`);
  const state = booster.state instanceof Map ? booster.state : null;
  const handle = state?.get('handle');
  if (!(handle instanceof Uint8Array) || handle.length === 0) est.fail('the Booster holds no model bytes (was it fitted?)');
  if (classes) classes.forEach((c, i) => {
    if (c !== i) est.unsupported(`classes_ must be 0..${classes.length - 1}, as xgboost 1.6+ requires`);
  });
  return { kind: 'xgboost', snapshot: handle };
}

/** The booster's input width and feature names, read from its model (the wrapper keeps neither in its state). */
export function boosterInputs(est: Estimator): { width: number; names: string[] | null } {
  const model = snapshotModel(boosterDoc(est, null).snapshot as Uint8Array, (d) => est.fail(d));
  const learner = (model as { learner?: { learner_model_param?: { num_feature?: unknown }; feature_names?: unknown } }).learner;
  const width = Number(learner?.learner_model_param?.num_feature);
  if (!Number.isInteger(width) || width < 1) est.fail('the booster does not say how many features it takes');
  const names = Array.isArray(learner?.feature_names) && learner.feature_names.length === width && learner.feature_names.every((n) => typeof n === 'string') ? (learner.feature_names) : null;
  return { width, names };
}

/** The Model part of an xgboost memory snapshot (what save_model writes). */
export function snapshotModel(snapshot: Uint8Array, fail: (detail: string) => never): unknown {
  let doc: unknown;
  try {
    doc = decodeUbjson(snapshot);
  } catch (err) {
    return fail(`the booster's model bytes are not xgboost's UBJSON snapshot (${err instanceof Error ? err.message : String(err)})`);
  }
  const model = doc !== null && typeof doc === 'object' && !ArrayBuffer.isView(doc) ? (doc as Record<string, unknown>).Model : undefined;
  if (model === null || typeof model !== 'object') return fail('the booster snapshot has no "Model" (xgboost 1.6 or later writes one)');
  return model;
}

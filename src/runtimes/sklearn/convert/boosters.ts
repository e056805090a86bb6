/**
 * The boosting libraries' scikit-learn wrappers. xgboost's XGBClassifier/XGBRegressor: the
 * pickled Booster keeps the model as xgboost's memory snapshot (UBJSON `{"Config": …,
 * "Model": …}`), whose Model part is what `save_model` writes. lightgbm's LGBMClassifier/
 * LGBMRegressor: the pickled Booster keeps `model_to_string()` text (`_handle`, or `handle`
 * before 4.0). The document keeps those bytes; scoring goes to Ferry's own XGBoost and LightGBM
 * evaluators. Nothing of the wrappers is called.
 */
import { Estimator, labelsOf } from '../attrs.js';
import type { DocValue } from '../document.js';
import { kindOf, PyObject } from '../pickle/values.js';
import { decodeUbjson } from '../../xgboost/ubjson.js';
import { compileLightgbm } from '../../lightgbm/lightgbm-text.js';

export const BOOSTER_CLASSIFIERS = new Set(['XGBClassifier', 'LGBMClassifier']);
export const BOOSTER_REGRESSORS = new Set(['XGBRegressor', 'LGBMRegressor']);

export function boosterDoc(est: Estimator, classes: readonly (string | number)[] | null): Record<string, DocValue> {
  if (est.name.startsWith('LGBM')) return { kind: 'lightgbm', text: lightgbmText(est) };
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
  if (est.name.startsWith('LGBM')) {
    let m;
    try {
      m = compileLightgbm(new TextDecoder().decode(lightgbmText(est)));
    } catch (err) {
      return est.fail(`the booster's model text does not load (${err instanceof Error ? err.message : String(err)})`);
    }
    return { width: m.numFeature, names: m.featureNames.every((n, i) => n === `Column_${i}`) ? null : [...m.featureNames] };
  }
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

/** The LightGBM model text a pickled LGBM wrapper keeps on its Booster. */
export function lightgbmText(est: Estimator): Uint8Array {
  const booster = est.raw('_Booster');
  if (!(booster instanceof PyObject) || booster.cls.qualname !== 'lightgbm.basic.Booster') est.fail(`_Booster is ${kindOf(booster ?? null)}, expected a lightgbm Booster`);
  const state = booster.state instanceof Map ? booster.state : null;
  const text = state?.get('_handle') ?? state?.get('handle');
  if (typeof text !== 'string' || !text.startsWith('tree')) est.fail('the Booster holds no model text (was it fitted?)');
  const best = state?.get('best_iteration');
  if (typeof best === 'number' && best > 0) est.unsupported(`a booster with best_iteration=${best} (early stopping): re-save it with model.booster_.save_model("model.txt", num_iteration=${best}) and register that file`);
  return new TextEncoder().encode(text);
}

/** An LGBM wrapper's classes (`_classes`, what its `classes_` property returns). */
export function lightgbmClasses(est: Estimator): (string | number)[] | null {
  return est.has('_classes') ? labelsOf(est.array('_classes')) : null;
}

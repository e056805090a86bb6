/**
 * A fitted scikit-learn estimator (inert records from the restricted unpickler) translated into
 * Ferry's model document: the signature (feature names, n_features_in_), the numeric steps of a
 * Pipeline, and the final estimator as a tree ensemble or a linear model. Anything else is
 * refused with the step and class named, and the alternatives.
 */
import { Estimator, EstimatorError, labelsOf, UnsupportedError } from '../attrs.js';
import { DOCUMENT_VERSION, type DocValue } from '../document.js';
import { itemsOf, kindOf, NdArray, PyObject, type PyValue } from '../pickle/values.js';
import { GLM_REGRESSORS, glmRegressor, LINEAR_CLASSIFIERS, LINEAR_REGRESSORS, linearClassifier, linearRegressor } from './linear.js';
import { TRANSFORMERS, transformStep } from './preprocess.js';
import { columnsStep, ENCODERS, ROUTERS, type ColumnType } from './columns.js';
import { BOOSTER_CLASSIFIERS, BOOSTER_REGRESSORS, boosterDoc, boosterInputs, lightgbmClasses } from './boosters.js';
import { OTHER_CLASSIFIERS, OTHER_REGRESSORS, otherDoc } from './others.js';
import { boostingDoc, forestDoc, TREE_CLASSIFIERS, TREE_REGRESSORS } from './ensembles.js';

/** Where the document came from, kept in it and in the version's lineage. */
export interface SourceInfo {
  readonly sha256: string;
  readonly container: 'joblib' | 'pickle';
  readonly compression: string;
  readonly bytes: number;
}

export const SUPPORTED = [...TRANSFORMERS, ...ROUTERS, ...ENCODERS, 'Pipeline', ...LINEAR_REGRESSORS, ...GLM_REGRESSORS, ...LINEAR_CLASSIFIERS, ...TREE_CLASSIFIERS, ...TREE_REGRESSORS, ...OTHER_CLASSIFIERS, ...OTHER_REGRESSORS, ...BOOSTER_CLASSIFIERS, ...BOOSTER_REGRESSORS];

const ALTERNATIVES = 'Supported estimators are listed in docs/sklearn.md. Alternatives: export the model to ONNX (skl2onnx) or PMML (sklearn2pmml) and register that file.';

/** The document for a fitted estimator or Pipeline. */
export function translate(file: PyValue, source: SourceInfo): Record<string, DocValue> {
  const { model: root, targets } = withTargetEncoder(file);
  if (!(root instanceof PyObject) || !(root.cls.module.startsWith('sklearn.') || root.cls.module === 'xgboost.sklearn' || root.cls.module === 'lightgbm.sklearn')) {
    throw new EstimatorError(`the file holds ${kindOf(root)}, not a fitted scikit-learn estimator`);
  }
  const top = new Estimator(root, stepName(root));
  const chain = top.name === 'Pipeline' ? pipelineSteps(top) : [top];
  const final = chain[chain.length - 1]!;
  const first = chain[0]!;
  const booster = first === final && (BOOSTER_CLASSIFIERS.has(final.name) || BOOSTER_REGRESSORS.has(final.name)) ? boosterInputs(final) : null;
  const features = booster?.width ?? inputWidth(first) ?? (BOOSTER_CLASSIFIERS.has(final.name) || BOOSTER_REGRESSORS.has(final.name) ? boosterInputs(final).width : final.int('n_features_in_', 1));
  const names = booster ? booster.names : featureNames(first, features);
  const steps: DocValue[] = [];
  let width = features;
  let nullable = false;
  let types: ColumnType[] | null = null;
  for (const [i, est] of chain.slice(0, -1).entries()) {
    if (routesColumns(est)) {
      const c = columnsStep(est, width, i === 0 ? names : null);
      if (c.types.includes('string')) {
        if (i !== 0) est.unsupported('text columns must be encoded by the first step of the Pipeline');
        if (!names) est.unsupported('a model with text columns must be fitted on a DataFrame (the columns need names)');
        types = c.types;
      }
      steps.push({ ...c.step, name: est.step });
      if (i === 0) nullable = c.nullable;
      width = c.width;
      continue;
    }
    const t = transformStep(est, width);
    if (t.step) steps.push({ ...t.step, name: est.step });
    if (steps.length === 1 || t.nullable) nullable ||= t.nullable && steps.length === 1;
    width = t.width;
  }
  const { estimator, classes: fitted, missingOk } = finalEstimator(final, width);
  const classes = targets && fitted ? decodeTargets(targets, fitted) : fitted;
  return {
    format: 'sklearn',
    // Version 2: the model takes text columns (a version-1 reader must not score it).
    version: types ? 2 : DOCUMENT_VERSION,
    source: { ...source, sklearn: versionOf(top), estimator: top.cls, final: final.cls },
    features: { count: features, names, ...(types ? { types } : {}) },
    nullable: nullable || (steps.length === 0 && missingOk),
    steps,
    estimator,
    task: classes ? 'classifier' : 'regressor',
    classes,
  };
}

const isEstimator = (v: PyValue | undefined): v is PyObject => v instanceof PyObject && /^(sklearn|xgboost|lightgbm)\./.test(v.cls.module);
const isLabelEncoder = (v: PyValue | undefined): v is PyObject => v instanceof PyObject && v.cls.name === 'LabelEncoder' && v.cls.module.startsWith('sklearn.');

/**
 * A file that holds a classifier trained on encoded targets together with the `LabelEncoder`
 * that encoded them — a (model, encoder) tuple or list, or a dict with exactly those two
 * values — scores with the original labels. Anything else is taken as it is.
 */
function withTargetEncoder(file: PyValue): { model: PyValue; targets: Estimator | null } {
  const values = file instanceof Map ? [...file.values()] : file instanceof PyObject ? null : itemsOf(file);
  if (!values || values.length !== 2) return { model: file, targets: null };
  const enc = values.find(isLabelEncoder);
  const model = values.find((v) => isEstimator(v) && !isLabelEncoder(v));
  if (!enc || !model) return { model: file, targets: null };
  return { model, targets: new Estimator(enc, 'LabelEncoder') };
}

/** The classifier's classes (the encoder's codes 0..K−1) as the encoder's original labels. */
function decodeTargets(enc: Estimator, codes: readonly (string | number)[]): (string | number)[] {
  const labels = labelsOf(enc.array('classes_'));
  return codes.map((c) => {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= labels.length) enc.fail(`the classifier's class ${JSON.stringify(c)} is not a code of the encoder's ${labels.length} classes`);
    return labels[c]!;
  });
}

/** The columns a step takes: its n_features_in_, or (FeatureUnion keeps none) its first transformer's. */
function inputWidth(est: Estimator): number | null {
  if (est.has('n_features_in_')) return est.int('n_features_in_', 1);
  if (est.name !== 'FeatureUnion') return null;
  for (const t of itemsOf(est.raw('transformer_list') ?? null) ?? []) {
    const [, trans] = itemsOf(t) ?? [];
    if (trans instanceof PyObject) {
      const w = inputWidth(new Estimator(trans, est.step));
      if (w !== null) return w;
    }
  }
  return null;
}

/** Steps translated into a `columns` step: routers, encoders, and SimpleImputers fitted on text. */
function routesColumns(est: Estimator): boolean {
  if (ROUTERS.has(est.name) || ENCODERS.has(est.name)) return true;
  const stats = est.name === 'SimpleImputer' ? est.optArray('statistics_') : null;
  return stats !== null && Array.isArray(stats.data) && stats.data.some((v) => typeof v === 'string');
}

function stepName(obj: PyObject): string {
  return obj.cls.name;
}

function versionOf(est: Estimator): string | null {
  return est.optStr('_sklearn_version');
}

function pipelineSteps(pipe: Estimator): Estimator[] {
  const steps = itemsOf(pipe.raw('steps') ?? null);
  if (!steps || steps.length === 0) pipe.fail('steps is not a non-empty list');
  const out: Estimator[] = [];
  steps.forEach((s, i) => {
    const [name, est] = itemsOf(s) ?? [];
    if (typeof name !== 'string') pipe.fail(`step ${i} has no name`);
    if (est === 'passthrough' || est === null) return;
    if (!(est instanceof PyObject)) pipe.fail(`step "${name}" is ${kindOf(est ?? null)}, not an estimator`);
    const e = new Estimator(est, name);
    if (e.name === 'Pipeline') out.push(...pipelineSteps(e));
    else out.push(e);
  });
  if (out.length === 0) pipe.fail('every step is passthrough');
  return out;
}

function featureNames(est: Estimator, count: number): string[] | null {
  const v = est.raw('feature_names_in_');
  if (!(v instanceof NdArray)) return null;
  const names = labelsOf(v).map(String);
  if (names.length !== count) est.fail(`feature_names_in_ has ${names.length} names for n_features_in_=${count}`);
  return names;
}

function finalEstimator(est: Estimator, width: number): { estimator: Record<string, DocValue>; classes: (string | number)[] | null; missingOk: boolean } {
  const name = est.name;
  if (TRANSFORMERS.has(name)) est.unsupported(`a Pipeline must end with a predictor; ${name} is a transformer`);
  const classes = name.startsWith('LGBM') ? lightgbmClasses(est) : est.has('classes_') ? classLabels(est) : null;
  if (LINEAR_REGRESSORS.has(name)) return { estimator: linearRegressor(est, width), classes: null, missingOk: false };
  if (GLM_REGRESSORS.has(name)) return { estimator: glmRegressor(est, width), classes: null, missingOk: false };
  if (LINEAR_CLASSIFIERS.has(name)) return { estimator: linearClassifier(est, width, classes?.length ?? 0), classes, missingOk: false };
  if (TREE_CLASSIFIERS.has(name) || TREE_REGRESSORS.has(name)) {
    const boosted = name.includes('GradientBoosting');
    const doc = boosted ? boostingDoc(est, width, classes) : forestDoc(est, width, classes);
    return { estimator: doc, classes, missingOk: name.startsWith('HistGradientBoosting') };
  }
  if (OTHER_CLASSIFIERS.has(name) || OTHER_REGRESSORS.has(name)) {
    if (OTHER_CLASSIFIERS.has(name) && !classes) est.fail('a classifier without classes_');
    return { estimator: otherDoc(est, width, OTHER_CLASSIFIERS.has(name) ? classes : null), classes: OTHER_CLASSIFIERS.has(name) ? classes : null, missingOk: false };
  }
  if (BOOSTER_CLASSIFIERS.has(name) || BOOSTER_REGRESSORS.has(name)) {
    const cls = BOOSTER_CLASSIFIERS.has(name) ? classes : null;
    return { estimator: boosterDoc(est, cls), classes: cls, missingOk: true };
  }
  const advice = name.startsWith('XGB') ? ' Save the booster with model.get_booster().save_model("model.json") and register that file.'
    : name.startsWith('LGBM') ? ' Save the booster with model.booster_.save_model("model.txt") and register that file.' : '';
  throw new UnsupportedError(est.step, est.cls, `${est.cls} is not supported.${advice} ${ALTERNATIVES}`);
}

function classLabels(est: Estimator): (string | number)[] {
  const labels = labelsOf(est.array('classes_'));
  if (labels.length < 2) est.fail(`classes_ holds ${labels.length} class`);
  return labels;
}

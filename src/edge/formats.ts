/**
 * Which model formats a JavaScript package can carry, and the bytes it ships for each: the
 * flat typed arrays the server's runtime compiles the artifact into (trees, linear boosters),
 * or the parsed document where the compiled form is code (PMML: its element tree as JSON).
 */
import { compileLightgbm } from '../runtimes/lightgbm/lightgbm-text.js';
import { compileModel } from '../runtimes/xgboost/xgboost-model.js';
import { parse as parseXgboost } from '../runtimes/xgboost/xgboost-loaded.js';
import { attr, parseXml, packTree, type XmlElement } from '../runtimes/pmml/xml.js';
import { compileDocument, type CompiledDocument } from '../runtimes/pmml/document.js';
import { batchScorer } from '../runtimes/pmml/batch-scorer.js';
import { dtypeOf } from '../runtimes/pmml/document-scorer.js';
import { loadDocument, loadPmmlModel } from '../runtimes/pmml/pmml-model.js';
import { encodeModel, encodeModelText } from './package/codec.js';
import { decodeDocument } from '../runtimes/sklearn/document.js';
import type { PmmlBatchData } from './package/types.js';
import type { Narrowing } from './narrowing.js';

import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';

/** A package's model data: bytes shipped as base64, or a document shipped as text. */
export type PackageData = ({ readonly encoding: 'base64'; readonly bytes: Uint8Array } | { readonly encoding: 'text'; readonly text: string }) & {
  /** The evaluator in package/evaluators/ when it is not the format's own (a PMML document scored by its batch path: `pmml-batch`). */
  readonly evaluator?: string;
  /** What the bundle leaves out of the server's code for this model (src/edge/narrowing.ts). */
  readonly narrowing?: Narrowing;
};

/** Formats a package can evaluate, each with how its data is made from the artifact. */
export const PACKAGE_FORMATS: Readonly<Record<string, (artifact: Uint8Array) => PackageData>> = {
  xgboost: (artifact) => ({ encoding: 'base64', bytes: encodeModel(compileModel(parseXgboost(artifact))) }),
  lightgbm: (artifact) => ({ encoding: 'base64', bytes: encodeModel(compileLightgbm(new TextDecoder().decode(artifact))) }),
  // A document the server scores by its batch path: that path's arrays, for a package without the PMML engine.
  // Anything else: the parsed element tree (the server's own parse), so the package carries no XML parser.
  pmml: (artifact) => {
    const form = pmmlBatchData(artifact);
    if (form) {
      // Binary (float32-narrowed arrays) or JSON text, whichever is smaller gzipped (text wins for small models).
      const bytes = encodeModel(form);
      const text = encodeModelText(form);
      const base64 = Buffer.from(bytes).toString('base64');
      return gzipSync(text).length <= gzipSync(base64).length ? { encoding: 'text', text, evaluator: 'pmml-batch' } : { encoding: 'base64', bytes, evaluator: 'pmml-batch' };
    }
    const root = parseXml(new TextDecoder().decode(artifact));
    return { encoding: 'text', text: JSON.stringify(packTree(root)), narrowing: pmmlNarrowing(root, compileDocument(root)) };
  },
  onnx: (artifact) => ({ encoding: 'base64', bytes: artifact }),
  // The registered artifact is already Ferry's model document (typed arrays in a small binary container);
  // the evaluators of wrapped XGBoost / LightGBM estimators go only with a model that holds one.
  sklearn: (artifact) => ({ encoding: 'base64', bytes: artifact, narrowing: sklearnNarrowing(artifact) }),
};

const require = createRequire(import.meta.url);

/**
 * The modules a scikit-learn model document never reaches: the evaluators of estimator kinds it
 * does not hold, the column-transformer code without a `columns` step, and the explainers' structure.
 */
function sklearnNarrowing(artifact: Uint8Array): Narrowing {
  const doc = decodeDocument(artifact);
  const kind = (doc.estimator as { kind?: unknown } | undefined)?.kind;
  const stubs = ['runtimes/sklearn/sklearn-structure'];
  if (kind === 'linear' || kind === 'trees') stubs.push('runtimes/sklearn/other-models');
  else if (kind !== 'svm') stubs.push('runtimes/sklearn/svm');
  if (kind !== 'xgboost') stubs.push('runtimes/xgboost/xgboost-model', 'runtimes/sklearn/convert/boosters');
  if (kind !== 'lightgbm') stubs.push('runtimes/lightgbm/lightgbm-text');
  const steps = Array.isArray(doc.steps) ? doc.steps as { op?: unknown }[] : [];
  if (!steps.some((s) => s.op === 'columns')) stubs.push('runtimes/sklearn/columns');
  return { stubs };
}

/**
 * A PMML document the server scores by its batch path (a MiningModel of binary trees over numeric
 * inputs, or a RegressionModel of NumericPredictors; nothing to treat, derive or rescale; results read
 * straight from the kernel), as that path's data; undefined for anything else. Every field the kernel
 * reads must be a float64 input, so the package's tensors take the batch path exactly as the server's do.
 */
export function pmmlBatchData(artifact: Uint8Array): PmmlBatchData | undefined {
  const { inputs, outputs } = loadPmmlModel(artifact, 'export').signature();
  const doc = loadDocument(artifact);
  const scorer = batchScorer(doc, inputs, outputs);
  const batch = doc.model.batch;
  if (!scorer || !batch) return undefined;
  const ensemble = batch.kernel.layout?.();
  const regression = batch.kernel.regression?.();
  const kernel = ensemble ? { kind: 'ensemble' as const, layout: ensemble } : regression ? { kind: 'regression' as const, layout: regression } : undefined;
  if (!kernel) return undefined;
  if (!batch.kernel.fields.every((f) => inputs.some((i) => i.name === f && i.dtype === 'float64'))) return undefined;
  return { kernel, inputs, outputs: outputs.map((spec) => ({ spec, how: batch.results.get(spec.name)! })), categoryValues: batch.categoryValues, ...(batch.fills ? { fills: batch.fills } : {}) };
}

const PMML = 'runtimes/pmml';
/** Segmentation methods that score the segments they select, each on its own (no ensemble to combine). */
const SELECTING = new Set(['modelChain', 'selectFirst', 'selectAll']);
/** TreeModel missing-value strategies that weigh the children of a node (models/tree-weighted.ts). */
const WEIGHTED_STRATEGIES = new Set(['weightedConfidence', 'aggregateNodes']);

/**
 * The PMML engine a document reaches (and the input conversions and typed arrays of its input
 * fields' dtypes): the model kernels of the model elements it holds, the expression and predicate
 * compilers of its elements, the built-in functions its Apply elements call, the OutputField
 * features (and default data types of those OutputFields that declare none), neural activation functions, similarity measures, GeneralRegression model types and
 * links, RegressionModel functions and normalizations, Segmentation methods, MiningField outlier
 * treatments and anomaly algorithms it names; `if`, DefineFunction calls and the Interval reader
 * only when it has them.
 * No contrast Matrix reader without a Matrix; no tree arrays (nor MiningModel's fast path over
 * them) without a batch path or a MiningModel combining trees' results; no segment outputs without
 * a MiningModel; no grouped-input scoring without group MiningFields; no RegressionModel layout
 * when no RegressionModel's tables are numeric only, nor table closures when all are; no weighted
 * tree walk when no TreeModel's missingValueStrategy weighs children; no flat-ensemble compiler,
 * regression batch kernel, batch planner or batch scorer when the server compiled no batch path
 * for it (its rows take the general path there too); no Targets or TransformationDictionary
 * compiler without one; never the SQL export's form nor the parts explanations read (a
 * RegressionModel's linear form among them).
 */
export function pmmlNarrowing(root: XmlElement, doc: CompiledDocument): Narrowing {
  const elements = new Set<string>();
  const functions = new Set<string>();
  const features = new Set<string>();
  const untypedFeatures = new Set<string>();
  const activations = new Set<string>(['identity']);
  const modelTypes = new Set<string>();
  const links = new Set<string>();
  const regressionFunctions = new Set<string>();
  const normalizations = new Set<string>();
  const algorithms = new Set<string>();
  const cumulativeLinks = new Set<string>();
  const methods = new Set<string>();
  const outliers = new Set<string>(['asIs']);
  let grouped = false;
  let numericTables = false;
  let generalTables = false;
  let weightedTrees = false;
  const walk = (el: XmlElement): void => {
    elements.add(el.name);
    if (el.name === 'Apply') functions.add(attr(el, 'function') ?? '');
    if (el.name === 'OutputField') features.add(attr(el, 'feature') ?? 'predictedValue');
    if (el.name === 'OutputField' && attr(el, 'dataType') === undefined) untypedFeatures.add(attr(el, 'feature') ?? 'predictedValue');
    if (el.name === 'MiningField' && attr(el, 'usageType') === 'group') grouped = true;
    if (el.name === 'MiningField') outliers.add(attr(el, 'outliers') ?? 'asIs');
    if (el.name === 'NeuralNetwork' || el.name === 'NeuralLayer') activations.add(attr(el, 'activationFunction') ?? '');
    if (el.name === 'RegressionModel') {
      regressionFunctions.add(attr(el, 'functionName') ?? '');
      normalizations.add(attr(el, 'normalizationMethod') ?? 'none');
      // The tables its kernel reads (a regression reads its first) have only NumericPredictors: it scores from a layout, else from closures.
      const tables = el.children.filter((c) => c.name === 'RegressionTable');
      const read = attr(el, 'functionName') === 'classification' ? tables : tables.slice(0, 1);
      if (read.every((t) => !t.children.some((c) => c.name === 'CategoricalPredictor' || c.name === 'PredictorTerm'))) numericTables = true;
      else generalTables = true;
    }
    if (el.name === 'TreeModel' && WEIGHTED_STRATEGIES.has(attr(el, 'missingValueStrategy') ?? '')) weightedTrees = true;
    if (el.name === 'AnomalyDetectionModel') algorithms.add(attr(el, 'algorithmType') ?? '');
    if (el.name === 'Segmentation') methods.add(attr(el, 'multipleModelMethod') ?? '');
    if (el.name === 'GeneralRegressionModel') {
      modelTypes.add(attr(el, 'modelType') ?? '');
      links.add(attr(el, 'linkFunction') ?? 'identity');
      cumulativeLinks.add(attr(el, 'cumulativeLink') ?? 'logit');
    }
    el.children.forEach(walk);
  };
  walk(root);
  // The dtypes of the input tensors: what the package's rows are converted to.
  const dtypes = new Set([...doc.model.groups, ...doc.model.inputs].map((f) => dtypeOf(f.dataType)));
  // Trees are scored from arrays by a batch path, or by a MiningModel combining their results (selecting one is a walk).
  const treeArrays = doc.model.batch !== undefined || (elements.has('TreeModel') && [...methods].some((m) => !SELECTING.has(m)));
  return {
    tables: [
      { module: 'scoring/tensorize', table: 'CONVERTERS', keep: dtypes },
      // One value per row ([-1] inputs): from mapped columns or a cell of width 1, never a free width.
      { module: 'scoring/tensorize', table: 'READERS', keep: new Set(['columns', 'cells']) },
      { module: 'core/tensor', table: 'TYPED_ARRAYS', keep: dtypes },
      { module: `${PMML}/models/index`, table: 'KERNELS', keep: elements },
      { module: `${PMML}/model`, table: 'OUTLIERS', keep: outliers },
      { module: `${PMML}/expressions`, table: 'EXPRESSION_COMPILERS', keep: elements },
      { module: `${PMML}/expressions`, table: 'PREDICATE_COMPILERS', keep: elements },
      { module: `${PMML}/functions`, table: 'BUILTINS', keep: functions },
      { module: `${PMML}/expressions`, table: 'SPECIAL_FORMS', keep: functions },
      { module: `${PMML}/expressions`, table: 'DEFINED_CALLS', keep: elements },
      { module: `${PMML}/expressions`, table: 'INTERVAL_READERS', keep: elements },
      { module: `${PMML}/output`, table: 'FEATURES', keep: features },
      { module: `${PMML}/output`, table: 'DEFAULT_TYPES', keep: untypedFeatures },
      { module: `${PMML}/models/neural-network`, table: 'ACTIVATIONS', keep: activations },
      { module: `${PMML}/models/kernel-helpers`, table: 'SIMILARITY_MEASURES', keep: elements },
      { module: `${PMML}/models/regression`, table: 'FUNCTION_KERNELS', keep: regressionFunctions },
      { module: `${PMML}/models/regression-run`, table: 'NORMALIZATIONS', keep: normalizations },
      { module: `${PMML}/models/anomaly-detection`, table: 'ALGORITHMS', keep: algorithms },
      { module: `${PMML}/models/mining`, table: 'COMBINERS', keep: methods },
      { module: `${PMML}/models/general-regression`, table: 'MODEL_TYPES', keep: modelTypes },
      { module: `${PMML}/models/general-regression`, table: 'INVERSE_LINKS', keep: links },
      { module: `${PMML}/models/general-regression`, table: 'CUMULATIVE_LINKS', keep: cumulativeLinks },
    ],
    stubs: [
      `${PMML}/export-form`,
      `${PMML}/explained-forms`,
      `${PMML}/models/regression-linear`,
      ...(doc.model.batch ? [] : [`${PMML}/models/ensemble`, `${PMML}/batch-scorer`, `${PMML}/batch-plan`, `${PMML}/models/regression-batch`]),
      ...(treeArrays ? [] : [`${PMML}/models/tree-arrays`, `${PMML}/models/mining-fast`]),
      ...(elements.has('Targets') ? [] : [`${PMML}/targets`]),
      ...(elements.has('TransformationDictionary') ? [] : [`${PMML}/transformations`]),
      ...(grouped ? [] : [`${PMML}/group-scoring`]),
      ...(elements.has('MiningModel') ? [] : [`${PMML}/output-segments`]),
      ...(elements.has('Matrix') ? [] : [`${PMML}/models/matrix`]),
      ...(numericTables ? [] : [`${PMML}/models/regression-layout`]),
      ...(generalTables ? [] : [`${PMML}/models/regression-table`]),
      ...(weightedTrees ? [] : [`${PMML}/models/tree-weighted`]),
    ],
  };
}

/** Files a format's evaluator needs next to index.js: ONNX needs onnxruntime-web's one single-threaded WebAssembly binary. */
export const PACKAGE_ASSETS: Readonly<Record<string, readonly { readonly path: string; readonly source: () => string }[]>> = {
  onnx: [{ path: 'ort-wasm-simd-threaded.wasm', source: () => require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm') }],
};

/** Why a format cannot go into a JavaScript package, or undefined. */
export function packageRefusal(format: string): string | undefined {
  if (PACKAGE_FORMATS[format]) return undefined;
  return `format "${format}" has no edge evaluator (supported: ${Object.keys(PACKAGE_FORMATS).join(', ')})`;
}

/**
 * How far an export may differ from the server. Trees, linear models and PMML run the server's
 * own arithmetic: float32 precision. ONNX runs onnxruntime-web's WebAssembly kernels instead of
 * the native ones (other convolution and GEMM code): differences of a few 1e-6 are expected.
 */
export function parityTolerance(format: string): { readonly abs: number; readonly rel: number } {
  return format === 'onnx' ? { abs: 1e-4, rel: 1e-4 } : { abs: 1e-6, rel: 1e-6 };
}

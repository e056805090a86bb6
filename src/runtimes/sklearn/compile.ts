/**
 * A model document checked and compiled for scoring. The verifier runs here, on every load:
 * child indices in range and every node reached once from its root (no cycles), features below
 * the input width, thresholds finite, value arrays shaped to the classes, coefficients shaped to
 * the features. A file that loaded but fails these is refused before it is ever scored.
 * Trees are translated into LightGBM's flat layout (runtimes/lightgbm) and walked by its code.
 */
import { DECISION_DEFAULT_LEFT, DECISION_NAN_MISSING, flatten, type LgbmForest, type TreeParts } from '../lightgbm/lightgbm-model.js';
import { DocumentError, type DocArray, type DocValue } from './document.js';
import { numpySum, show, stepWidth } from './numeric.js';
import { compileOther, type OtherModel } from './other-models.js';
import { compileColumns, type ColumnsStep } from './columns.js';

export type Step =
  | { readonly op: 'standard'; readonly mean: Float64Array | null; readonly scale: Float64Array | null }
  | { readonly op: 'minmax'; readonly scale: Float64Array; readonly min: Float64Array; readonly clip: boolean; readonly low: number; readonly high: number }
  | { readonly op: 'robust'; readonly center: Float64Array | null; readonly scale: Float64Array | null }
  | { readonly op: 'maxabs'; readonly scale: Float64Array }
  | { readonly op: 'impute'; readonly statistics: Float64Array; readonly missing: number; readonly keep: Int32Array }
  /** PolynomialFeatures: output column t is the product of input columns terms[offsets[t] … offsets[t + 1]) (1 when none). */
  | { readonly op: 'poly'; readonly offsets: Int32Array; readonly terms: Int32Array }
  | ColumnsStep;

/** A step that works on a row-major numeric matrix (everything but `columns`). */
export type NumericStep = Exclude<Step, ColumnsStep>;

export interface LinearModel {
  readonly kind: 'linear';
  readonly coef: Float64Array;
  readonly intercept: Float64Array;
  readonly outputs: number;
  readonly link: string;
}

export interface TreeModel {
  readonly kind: 'trees';
  readonly aggregate: 'mean-proba' | 'mean' | 'boost';
  readonly float32: boolean;
  readonly classesPerStage: number;
  readonly scale: number;
  readonly init: Float64Array;
  readonly link: string;
  readonly forest: LgbmForest;
  /** Per global leaf (LgbmForest `kid` of a leaf node): `width` values. */
  readonly leaves: Float64Array;
  readonly width: number;
  /** Categorical features (HistGradientBoosting): which, and their known categories (8 words each). */
  readonly catFeatures: Int32Array;
  readonly knownBits: Int32Array;
}

export interface CompiledModel {
  readonly features: number;
  readonly names: readonly string[] | null;
  /** Per input column, when any is text: its type (the model then takes one input per column). */
  readonly types: readonly ('number' | 'string')[] | null;
  readonly nullable: boolean;
  readonly steps: readonly Step[];
  /** Columns after the steps (what the estimator takes). */
  readonly width: number;
  readonly estimator: LinearModel | TreeModel | OtherModel;
  readonly classes: readonly (string | number)[] | null;
  readonly source: Readonly<Record<string, DocValue>>;
}

type Obj = Readonly<Record<string, DocValue>>;


function obj(v: DocValue | undefined, what: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) throw new DocumentError(`${what} is not an object`);
  return v as Obj;
}
function num(v: DocValue | undefined, what: string): number {
  if (typeof v !== 'number') throw new DocumentError(`${what} is not a number`);
  return v;
}
function int(v: DocValue | undefined, what: string, min: number): number {
  const n = num(v, what);
  if (!Number.isInteger(n) || n < min) throw new DocumentError(`${what} = ${n} is not an integer ≥ ${min}`);
  return n;
}
function f64(v: DocValue | undefined, what: string, length?: number, finite = true): Float64Array {
  if (!(v instanceof Float64Array)) throw new DocumentError(`${what} is not a float64 array`);
  if (length !== undefined && v.length !== length) throw new DocumentError(`${what} has ${v.length} values, expected ${length}`);
  if (finite) for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) throw new DocumentError(`${what}[${i}] is not finite`);
  return v;
}
function optF64(v: DocValue | undefined, what: string, length: number): Float64Array | null {
  return v === null || v === undefined ? null : f64(v, what, length);
}
function i32(v: DocValue | undefined, what: string, length?: number): Int32Array {
  if (!(v instanceof Int32Array)) throw new DocumentError(`${what} is not an int32 array`);
  if (length !== undefined && v.length !== length) throw new DocumentError(`${what} has ${v.length} values, expected ${length}`);
  return v;
}
function str(v: DocValue | undefined, what: string): string {
  if (typeof v !== 'string') throw new DocumentError(`${what} is not a string`);
  return v;
}

/** Check and compile a decoded document. */
export function compileDocument(doc: Obj): CompiledModel {
  if (doc.format !== 'sklearn') throw new DocumentError(`the document is for format ${show(doc.format)}, not sklearn`);
  if (doc.version !== 1 && doc.version !== 2) throw new DocumentError(`document version ${show(doc.version)} is not supported (this Ferry reads versions 1 and 2)`);
  const feat = obj(doc.features, 'features');
  const features = int(feat.count, 'features.count', 1);
  const names = Array.isArray(feat.names) ? (feat.names as readonly DocValue[]).map((n, i) => str(n, `features.names[${i}]`)) : null;
  if (names && names.length !== features) throw new DocumentError(`features.names has ${names.length} names for ${features} features`);
  let width = features;
  const steps: Step[] = [];
  for (const [i, s] of (Array.isArray(doc.steps) ? (doc.steps as readonly DocValue[]) : []).entries()) {
    const step = compileStep(obj(s, `steps[${i}]`), width, `steps[${i}]`);
    steps.push(step);
    width = stepWidth(step, width);
  }
  const classes = Array.isArray(doc.classes) ? (doc.classes as readonly DocValue[]).map((c, i) => (typeof c === 'string' || typeof c === 'number' ? c : str(c, `classes[${i}]`))) : null;
  const est = obj(doc.estimator, 'estimator');
  const estimator = est.kind === 'linear' ? compileLinear(est, width, classes) : est.kind === 'trees' ? compileTrees(est, width, classes) : compileOther(est, width, classes);
  if (!estimator) throw new DocumentError(`estimator kind ${show(est.kind)} is unknown`);
  const types = Array.isArray(feat.types) ? (feat.types as readonly DocValue[]).map((t, i) => (t === 'number' || t === 'string' ? t : str(undefined, `features.types[${i}]`) as never)) : null;
  if (types && types.length !== features) throw new DocumentError(`features.types has ${types.length} entries for ${features} features`);
  if (types && !names) throw new DocumentError('a model with text columns needs their names');
  return { features, names, types: types?.includes('string') ? types : null, nullable: doc.nullable === true, steps, width, estimator, classes, source: obj(doc.source, 'source') };
}

function compileStep(s: Obj, width: number, at: string): Step {
  switch (s.op) {
    case 'standard': return { op: 'standard', mean: optF64(s.mean, `${at}.mean`, width), scale: optF64(s.scale, `${at}.scale`, width) };
    case 'minmax': return { op: 'minmax', scale: f64(s.scale, `${at}.scale`, width), min: f64(s.min, `${at}.min`, width), clip: s.clip === true, low: num(s.low, `${at}.low`), high: num(s.high, `${at}.high`) };
    case 'robust': return { op: 'robust', center: optF64(s.center, `${at}.center`, width), scale: optF64(s.scale, `${at}.scale`, width) };
    case 'maxabs': return { op: 'maxabs', scale: f64(s.scale, `${at}.scale`, width) };
    case 'impute': {
      const keep = i32(s.keep, `${at}.keep`);
      for (const j of keep) if (j < 0 || j >= width) throw new DocumentError(`${at}.keep names column ${j} of ${width}`);
      const missing = typeof s.missing === 'number' ? s.missing : Number.NaN;
      return { op: 'impute', statistics: f64(s.statistics, `${at}.statistics`, width, false), missing, keep };
    }
    case 'poly': {
      const offsets = i32(s.offsets, `${at}.offsets`);
      const terms = i32(s.terms, `${at}.terms`);
      if (offsets.length < 2 || offsets[0] !== 0 || offsets[offsets.length - 1] !== terms.length || offsets.some((o, i) => i > 0 && o < offsets[i - 1]!)) throw new DocumentError(`${at}: offsets do not cut the terms`);
      for (const j of terms) if (j < 0 || j >= width) throw new DocumentError(`${at}.terms names column ${j} of ${width}`);
      return { op: 'poly', offsets, terms };
    }
    case 'columns': return compileColumns(s, width, at, compileStep);
    default: throw new DocumentError(`${at}: step ${show(s.op)} is unknown`);
  }
}

const LINEAR_LINKS = new Set(['identity', 'exp', 'logistic', 'softmax2', 'softmax', 'ovr', 'modified_huber', 'none']);

function compileLinear(e: Obj, width: number, classes: readonly (string | number)[] | null): LinearModel {
  const outputs = int(e.outputs, 'estimator.outputs', 1);
  const link = str(e.link, 'estimator.link');
  if (!LINEAR_LINKS.has(link)) throw new DocumentError(`estimator.link "${link}" is unknown`);
  if (classes && outputs !== (classes.length === 2 ? 1 : classes.length)) throw new DocumentError(`${outputs} coefficient rows for ${classes.length} classes`);
  if (!classes && (outputs !== 1 || (link !== 'identity' && link !== 'exp'))) throw new DocumentError('a regressor must have one output and the identity or exp link');
  if (classes && link === 'exp') throw new DocumentError('the exp link is for regressors');
  return { kind: 'linear', coef: f64(e.coef, 'estimator.coef', outputs * width), intercept: f64(e.intercept, 'estimator.intercept', outputs), outputs, link };
}

const TREE_LINKS = new Set(['identity', 'exp', 'gb-binomial', 'gb-multinomial', 'gb-exponential', 'hgb-binomial', 'softmax']);

function compileTrees(e: Obj, width: number, classes: readonly (string | number)[] | null): TreeModel {
  const aggregate = e.aggregate;
  if (aggregate !== 'mean-proba' && aggregate !== 'mean' && aggregate !== 'boost') throw new DocumentError(`estimator.aggregate ${show(aggregate)} is unknown`);
  const trees = int(e.trees, 'estimator.trees', 1);
  const valueWidth = int(e.width, 'estimator.width', 1);
  const perStage = int(e.classesPerStage, 'estimator.classesPerStage', 1);
  if (aggregate === 'mean-proba' ? !classes || valueWidth !== classes.length : valueWidth !== 1) throw new DocumentError(`estimator.width ${valueWidth} does not fit the classes`);
  if (trees % perStage !== 0) throw new DocumentError(`${trees} trees is not a whole number of stages of ${perStage}`);
  const link = aggregate === 'boost' ? str(e.link, 'estimator.link') : 'identity';
  if (!TREE_LINKS.has(link)) throw new DocumentError(`estimator.link "${link}" is unknown`);
  const start = i32(e.start, 'estimator.start', trees + 1);
  const total = start[trees]!;
  const left = i32(e.left, 'estimator.left', total);
  const right = i32(e.right, 'estimator.right', total);
  const feature = i32(e.feature, 'estimator.feature', total);
  const threshold = f64(e.threshold, 'estimator.threshold', total, false);
  const value = f64(e.value, 'estimator.value', total * valueWidth, false);
  const cover = f64(e.cover, 'estimator.cover', total, false);
  const missingLeft = i32(e.missingLeft, 'estimator.missingLeft', total);
  const catIndex = i32(e.catIndex, 'estimator.catIndex', total);
  const catBits = i32(e.catBits, 'estimator.catBits');
  const catFeatures = e.catFeatures === undefined ? new Int32Array(0) : i32(e.catFeatures, 'estimator.catFeatures');
  const knownBits = e.knownBits === undefined ? new Int32Array(0) : i32(e.knownBits, 'estimator.knownBits', catFeatures.length * 8);
  for (const f of catFeatures) if (f < 0 || f >= width) throw new DocumentError(`categorical feature ${f} is not below ${width}`);
  const init = aggregate === 'boost' ? f64(e.init, 'estimator.init', perStage) : new Float64Array(0);
  const parts: TreeParts[] = [];
  const leafNodes: number[] = [];
  for (let t = 0; t < trees; t++) {
    const s = start[t]!;
    const n = start[t + 1]! - s;
    if (n < 1 || s < 0 || s + n > total) throw new DocumentError(`tree ${t} has ${n} nodes`);
    parts.push(treeParts(t, s, n, { cover, left, right, feature, threshold, value, missingLeft, catIndex, catBits }, width, valueWidth, leafNodes));
  }
  const forest = flatten(parts, 1);
  // Leaf values in the flat layout's leaf order (trees in order, each tree's leaves as numbered in treeParts).
  const leaves = new Float64Array(leafNodes.length * valueWidth);
  leafNodes.forEach((node, leaf) => {
    if (aggregate === 'mean-proba') normalise(value, node * valueWidth, valueWidth, leaves, leaf * valueWidth);
    else leaves[leaf] = value[node]!;
  });
  return {
    kind: 'trees', aggregate, float32: e.float32 === true, classesPerStage: perStage, scale: aggregate === 'boost' ? num(e.scale, 'estimator.scale') : 1,
    init, link, forest, leaves, width: valueWidth, catFeatures, knownBits,
  };
}

interface NodeArrays {
  readonly cover: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly value: Float64Array;
  readonly missingLeft: Int32Array;
  readonly catIndex: Int32Array;
  readonly catBits: Int32Array;
}

/**
 * One tree (nodes s..s+n-1, children local) checked and renumbered in LightGBM's terms: splits
 * in depth-first order from the root, leaves likewise; `leafNodes` collects each leaf's node.
 */
function treeParts(t: number, s: number, n: number, a: NodeArrays, width: number, valueWidth: number, leafNodes: number[]): TreeParts {
  const at = `tree ${t}`;
  const splitOf = new Int32Array(n).fill(-1);
  const leafOf = new Int32Array(n).fill(-1);
  const seen = new Uint8Array(n);
  const order: number[] = [];
  const stack = [0];
  let splits = 0;
  let leaves = 0;
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (seen[i]) throw new DocumentError(`${at}: node ${i} is reached twice (the tree is not a tree)`);
    seen[i] = 1;
    order.push(i);
    const l = a.left[s + i]!;
    const r = a.right[s + i]!;
    if (l === -1 && r === -1) {
      leafOf[i] = leaves++;
      for (let k = 0; k < valueWidth; k++) if (!Number.isFinite(a.value[(s + i) * valueWidth + k]!)) throw new DocumentError(`${at}: leaf ${i} has a non-finite value`);
      continue;
    }
    if (l < 0 || l >= n || r < 0 || r >= n) throw new DocumentError(`${at}: node ${i} has children ${l}, ${r} outside 0..${n - 1}`);
    const f = a.feature[s + i]!;
    if (f < 0 || f >= width) throw new DocumentError(`${at}: node ${i} splits on feature ${f}, but the model has ${width} features`);
    const c = a.catIndex[s + i]!;
    if (c >= 0 ? (c + 1) * 8 > a.catBits.length : Number.isNaN(a.threshold[s + i]!)) throw new DocumentError(`${at}: node ${i} has a NaN threshold or a missing category set`);
    splitOf[i] = splits++;
    stack.push(r, l);
  }
  const numLeaves = leaves;
  if (numLeaves !== splits + 1) throw new DocumentError(`${at}: ${splits} splits and ${numLeaves} leaves do not make a binary tree`);
  const ref = (i: number): number => (splitOf[i]! >= 0 ? splitOf[i]! : ~leafOf[i]!);
  const p: TreeParts = {
    numLeaves, numCat: 0, feature: new Array<number>(splits), threshold: new Array<number>(splits), decision: new Array<number>(splits),
    left: new Array<number>(splits), right: new Array<number>(splits), leafValue: new Array<number>(numLeaves).fill(0), catBoundaries: [0], catThreshold: [], linear: undefined,
    counts: { internal: new Array<number>(splits).fill(0), leaf: new Array<number>(numLeaves).fill(0) },
  };
  for (const i of order) {
    if (leafOf[i]! >= 0) {
      leafNodes.push(s + i);
      p.counts!.leaf[leafOf[i]!] = a.cover[s + i]!;
      continue;
    }
    const k = splitOf[i]!;
    p.counts!.internal[k] = a.cover[s + i]!;
    p.feature[k] = a.feature[s + i]!;
    p.left[k] = ref(a.left[s + i]!);
    p.right[k] = ref(a.right[s + i]!);
    let decision = DECISION_NAN_MISSING | (a.missingLeft[s + i] ? DECISION_DEFAULT_LEFT : 0);
    const c = a.catIndex[s + i]!;
    if (c >= 0) {
      decision |= 1; // categorical: its bitset becomes this tree's next category set
      p.threshold[k] = p.numCat++;
      for (let w = 0; w < 8; w++) p.catThreshold.push(a.catBits[c * 8 + w]! >>> 0);
      p.catBoundaries.push(p.catThreshold.length);
    } else {
      p.threshold[k] = a.threshold[s + i]!;
    }
    p.decision[k] = decision;
  }
  // Leaves were numbered in visiting order; leafNodes must follow leaf numbers, which it does (same order).
  return p;
}

/** value / Σ value as predict_proba normalises (numpy's pairwise sum; a zero sum divides by 1). */
function normalise(v: Float64Array, from: number, k: number, out: Float64Array, to: number): void {
  let sum = numpySum(v, from, k);
  if (sum === 0) sum = 1;
  for (let j = 0; j < k; j++) out[to + j] = v[from + j]! / sum;
}




export type { DocArray };

/**
 * An xgboost model document (the tree of `save_model` JSON, or the same tree decoded from
 * UBJSON) compiled into flat typed arrays, and the arithmetic of xgboost 1.7's CPU predictor on
 * them: float32 margins starting from the base margin, each tree's leaf added in tree order,
 * then the objective's transform, each step rounded to float32 as xgboost's C++ does.
 */

import { ArtifactError } from '../artifact-error.js';
import { MAX_INPUT_WIDTH } from '../model-runtime.js';

/** What is wrong with a model document (the catalog reports it as FERRY_E_ARTIFACT_INVALID). */
export class ModelError extends ArtifactError {}

/** How predictions are presented, by objective. */
export type ObjectiveKind = 'regression' | 'binary' | 'logitraw' | 'softprob' | 'softmax';
type Transform = 'identity' | 'sigmoid' | 'exp' | 'softmax' | 'hinge';

interface ObjectiveInfo {
  readonly kind: ObjectiveKind;
  readonly transform: Transform;
  /** base_score (probability space) to the margin it starts from (xgboost's ProbToMargin). */
  readonly toMargin: (baseScore: number) => number;
}

const f32 = Math.fround;
const identity = (b: number): number => f32(b);
// -logf(1.0f / base_score - 1.0f)
const logit = (b: number): number => f32(-Math.log(f32(f32(1 / f32(b)) - 1)));
const logf = (b: number): number => f32(Math.log(f32(b)));

const OBJECTIVES: Readonly<Record<string, ObjectiveInfo>> = {
  'reg:squarederror': { kind: 'regression', transform: 'identity', toMargin: identity },
  'reg:linear': { kind: 'regression', transform: 'identity', toMargin: identity },
  'reg:logistic': { kind: 'regression', transform: 'sigmoid', toMargin: logit },
  'count:poisson': { kind: 'regression', transform: 'exp', toMargin: logf },
  'binary:logistic': { kind: 'binary', transform: 'sigmoid', toMargin: logit },
  // xgboost 1.7's LogisticRaw does not override ProbToMargin: base_score is added as is (checked against the fixtures).
  'binary:logitraw': { kind: 'logitraw', transform: 'identity', toMargin: identity },
  'multi:softprob': { kind: 'softprob', transform: 'softmax', toMargin: identity },
  'multi:softmax': { kind: 'softmax', transform: 'softmax', toMargin: identity },
  'reg:pseudohubererror': { kind: 'regression', transform: 'identity', toMargin: identity },
  // Hinge: the margin's sign as a 0/1 class (PredTransform); presented like a binary classifier.
  'binary:hinge': { kind: 'binary', transform: 'hinge', toMargin: identity },
  'reg:gamma': { kind: 'regression', transform: 'exp', toMargin: logf },
  'reg:tweedie': { kind: 'regression', transform: 'exp', toMargin: logf },
  // Cox: predict gives the hazard ratio exp(margin).
  'survival:cox': { kind: 'regression', transform: 'exp', toMargin: logf },
  // Ranking: predict gives the raw margin.
  'rank:pairwise': { kind: 'regression', transform: 'identity', toMargin: identity },
  'rank:ndcg': { kind: 'regression', transform: 'identity', toMargin: identity },
  'rank:map': { kind: 'regression', transform: 'identity', toMargin: identity },
};

/** Trees of a gbtree or dart booster, all nodes of all trees in shared arrays. */
export interface Forest {
  readonly type: 'trees';
  /** Global index of each tree's root. */
  readonly roots: Int32Array;
  /** Output group (class) of each tree. */
  readonly groups: Int32Array;
  /** Dart's weight_drop per tree; undefined for gbtree (every weight 1). */
  readonly weights: Float32Array | undefined;
  /** Per node: feature index, or -1 for a leaf. */
  readonly feature: Int32Array;
  /**
   * Per node: split threshold (go left when value < threshold), or the leaf value: float32
   * numbers, held as doubles (exactly) because V8 reads Float64Arrays faster.
   */
  readonly value: Float64Array;
  /** Per split: its left child; the right child is the next node (kid + 1). */
  readonly kid: Int32Array;
  /** Per split: the child a missing value goes to (default_left: kid, else kid + 1). */
  readonly missing: Int32Array;
  /**
   * Categorical splits, when the model has any: per node the start of its category bitset in
   * `catBits` and its number of 32-bit words (0: a numerical split).
   */
  readonly categorical: { readonly start: Int32Array; readonly words: Int32Array; readonly bits: Uint32Array } | undefined;
  /** Per node: its training cover (`sum_hessian`), for TreeSHAP; undefined when a tree lacks it. */
  readonly cover: Float64Array | undefined;
}

/** A gblinear booster: weights[feature * groups + g], bias[g]. */
export interface Linear {
  readonly type: 'linear';
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

export interface CompiledModel {
  readonly objective: string;
  readonly kind: ObjectiveKind;
  readonly transform: Transform;
  readonly booster: 'gbtree' | 'dart' | 'gblinear';
  readonly numFeature: number;
  /** Margins per row: the number of classes for multi-class models, else 1. */
  readonly numGroup: number;
  readonly featureNames: readonly string[] | undefined;
  /** The float32 margin every row starts from. */
  readonly baseMargin: number;
  readonly model: Forest | Linear;
  /** Trees used for prediction (best_iteration honoured), for the record. */
  readonly treesUsed: number;
}

type Doc = unknown;
type Numbers = ArrayLike<number>;

// ---------------------------------------------------------------- document access

function isRecord(v: Doc): v is Record<string, Doc> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function obj(v: Doc, path: string): Record<string, Doc> {
  if (!isRecord(v)) throw new ModelError(`${path} is missing or not an object`);
  return v;
}

function str(v: Doc, path: string): string {
  if (typeof v !== 'string') throw new ModelError(`${path} is missing or not a string`);
  return v;
}

/** A number, or a number written as a string (xgboost stores most parameters as strings). */
function num(v: Doc, path: string): number {
  let n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.replace(/^\[(.*)\]$/, '$1')) : Number.NaN;
  if (typeof v === 'bigint') n = Number(v);
  if (typeof v === 'string' && v.trim() === '') n = Number.NaN;
  if (!Number.isFinite(n)) throw new ModelError(`${path} is missing or not a number (${describe(v)})`);
  return n;
}

function int(v: Doc, path: string, min = 0): number {
  const n = num(v, path);
  if (!Number.isInteger(n) || n < min) throw new ModelError(`${path} must be an integer ≥ ${min} (got ${n})`);
  return n;
}

function numbers(v: Doc, path: string, length?: number): Numbers {
  let out: Numbers;
  if (Array.isArray(v)) {
    let copy: number[] | undefined;
    for (let i = 0; i < v.length; i++) {
      // null: a NaN written by xgboost (categorical nodes' split_conditions), see jsonWithNaN.
      if (v[i] === null) (copy ??= (v as number[]).slice())[i] = Number.NaN;
      else if (typeof v[i] !== 'number') throw new ModelError(`${path}[${i}] is not a number`);
    }
    out = copy ?? (v as number[]);
  } else if (ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array)) {
    out = v as unknown as Numbers;
  } else {
    throw new ModelError(`${path} is missing or not an array of numbers`);
  }
  if (length !== undefined && out.length !== length) throw new ModelError(`${path} has ${out.length} entries, expected ${length}`);
  return out;
}

function describe(v: Doc): string {
  if (v === undefined) return 'absent';
  const s = typeof v === 'bigint' ? String(v) : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

// ---------------------------------------------------------------- compile

export function compileModel(doc: Doc): CompiledModel {
  const root = obj(doc, 'the top level');
  const learner = obj(root.learner, '"learner"');
  const params = obj(learner.learner_model_param, 'learner.learner_model_param');
  const numFeature = int(params.num_feature, 'learner_model_param.num_feature', 1);
  if (numFeature > MAX_INPUT_WIDTH) throw new ModelError(`num_feature is ${numFeature}, more input columns than Ferry serves (${MAX_INPUT_WIDTH}); ${usedWidth(learner)}`);
  const numClass = params.num_class === undefined ? 0 : int(params.num_class, 'learner_model_param.num_class');
  const numTarget = params.num_target === undefined ? 1 : int(params.num_target, 'learner_model_param.num_target', 1);
  if (numTarget > 1) throw new ModelError(`multi-target models (num_target=${numTarget}) are not supported`);
  const numGroup = Math.max(1, numClass);
  const baseScore = num(params.base_score, 'learner_model_param.base_score');

  const objective = str(obj(learner.objective, 'learner.objective').name, 'learner.objective.name');
  const info = OBJECTIVES[objective];
  if (!info) throw new ModelError(`objective "${objective}" is not supported (supported: ${Object.keys(OBJECTIVES).join(', ')})`);
  const multi = info.kind === 'softprob' || info.kind === 'softmax';
  if (multi !== numGroup > 1) throw new ModelError(`objective "${objective}" does not fit num_class=${numClass}`);

  const featureNames = featureList(learner.feature_names, numFeature);

  const attributes = learner.attributes === undefined ? {} : obj(learner.attributes, 'learner.attributes');
  const best = attributes.best_iteration === undefined ? undefined : int(attributes.best_iteration, 'attributes.best_iteration');

  const gb = obj(learner.gradient_booster, 'learner.gradient_booster');
  const boosterName = str(gb.name, 'gradient_booster.name');
  let model: Forest | Linear;
  let treesUsed = 0;
  if (boosterName === 'gbtree' || boosterName === 'dart') {
    const gbtree = boosterName === 'dart' ? obj(gb.gbtree, 'gradient_booster.gbtree') : gb;
    const weights = boosterName === 'dart' ? numbers(gb.weight_drop, 'gradient_booster.weight_drop') : undefined;
    const forest = compileForest(obj(gbtree.model, 'gradient_booster.model'), numFeature, numGroup, weights, best);
    model = forest;
    treesUsed = forest.roots.length;
  } else if (boosterName === 'gblinear') {
    model = compileLinear(obj(gb.model, 'gradient_booster.model'), numFeature, numGroup);
  } else {
    throw new ModelError(`booster "${boosterName}" is not supported (supported: gbtree, dart, gblinear)`);
  }

  return {
    objective,
    kind: info.kind,
    transform: info.transform,
    booster: boosterName,
    numFeature,
    numGroup,
    featureNames,
    baseMargin: info.toMargin(baseScore),
    model,
    treesUsed,
  };
}

/** What the trees split on, for the message refusing an absurd width (without compiling them). */
function usedWidth(learner: Record<string, Doc>): string {
  let max = -1;
  const gb = learner.gradient_booster as Record<string, Doc> | undefined;
  const model = ((gb?.name === 'dart' ? (gb.gbtree as Record<string, Doc> | undefined) : gb)?.model ?? {}) as Record<string, Doc>;
  for (const tree of Array.isArray(model.trees) ? model.trees : []) {
    const split = (tree as Record<string, Doc> | null)?.split_indices;
    if (Array.isArray(split) || ArrayBuffer.isView(split)) for (const f of Array.from(split as ArrayLike<number>)) if (typeof f === 'number' && f > max) max = f;
  }
  return max < 0 ? 're-save the model with its real number of features' : `its trees split on features 0..${max}: re-save it with num_feature ${max + 1} (or its real number of features)`;
}

function featureList(v: Doc, numFeature: number): readonly string[] | undefined {
  if (v === undefined || (Array.isArray(v) && v.length === 0)) return undefined;
  if (!Array.isArray(v) || v.some((n) => typeof n !== 'string')) throw new ModelError('learner.feature_names is not a list of strings');
  if (v.length !== numFeature) throw new ModelError(`learner.feature_names has ${v.length} names for ${numFeature} features`);
  if (new Set(v).size !== v.length) throw new ModelError('learner.feature_names holds duplicate names');
  return v as string[];
}

function compileForest(model: Record<string, Doc>, numFeature: number, numGroup: number, weightDrop: Numbers | undefined, best: number | undefined): Forest {
  const param = obj(model.gbtree_model_param, 'gbtree_model_param');
  const numTrees = int(param.num_trees, 'gbtree_model_param.num_trees');
  const parallel = param.num_parallel_tree === undefined ? 1 : int(param.num_parallel_tree, 'gbtree_model_param.num_parallel_tree', 1);
  const sizeLeafVector = param.size_leaf_vector === undefined ? 0 : int(param.size_leaf_vector, 'gbtree_model_param.size_leaf_vector');
  if (sizeLeafVector > 1) throw new ModelError('vector leaves (multi-target trees) are not supported');
  const trees = model.trees;
  if (!Array.isArray(trees) || trees.length !== numTrees) throw new ModelError(`gradient_booster.model.trees must list ${numTrees} trees`);
  const treeInfo = numbers(model.tree_info, 'gradient_booster.model.tree_info', numTrees);
  if (weightDrop && weightDrop.length !== numTrees) throw new ModelError(`weight_drop has ${weightDrop.length} weights for ${numTrees} trees`);

  // Like the sklearn wrapper's predict (and xgboost's best_ntree_limit): stop at best_iteration.
  const perRound = numGroup * parallel;
  const used = best === undefined ? numTrees : Math.min(numTrees, (best + 1) * perRound);

  let total = 0;
  const parsed = [];
  for (let t = 0; t < used; t++) {
    const tree = parseTree(trees[t], t, numFeature);
    parsed.push(tree);
    total += tree.n;
  }
  const roots = new Int32Array(used);
  const groups = new Int32Array(used);
  const feature = new Int32Array(total);
  const value = new Float64Array(total);
  const kid = new Int32Array(total);
  const missing = new Int32Array(total);
  const hasCover = parsed.every((p) => p.cover !== undefined);
  const cover = hasCover ? new Float64Array(total) : undefined;
  const anyCategorical = parsed.some((p) => p.cats !== undefined);
  const catStart = new Int32Array(anyCategorical ? total : 0);
  const catWords = new Int32Array(anyCategorical ? total : 0);
  const bits: number[] = [];
  // Each tree breadth-first from its root, so that a node's two children sit side by side:
  // right = left + 1 saves a load per step (and keeps a tree's top levels together in memory).
  let next = 0;
  for (let t = 0; t < used; t++) {
    const tree = parsed[t];
    if (!tree) continue;
    const g = treeInfo[t] ?? -1;
    if (!Number.isInteger(g) || g < 0 || g >= numGroup) throw new ModelError(`tree_info[${t}] = ${g} is not a class in 0..${numGroup - 1}`);
    roots[t] = next;
    groups[t] = g;
    const queue = [0];
    const at = [next++];
    for (let q = 0; q < queue.length; q++) {
      const i = queue[q] ?? 0;
      const k = at[q] ?? 0;
      const l = tree.left[i] ?? -1;
      value[k] = f32(tree.cond[i] ?? 0);
      if (cover) cover[k] = f32(tree.cover?.[i] ?? 0);
      if (l === -1) {
        feature[k] = -1;
        continue;
      }
      feature[k] = tree.split[i] ?? 0;
      kid[k] = next;
      missing[k] = tree.defaultLeft[i] ? next : next + 1;
      queue.push(l, tree.right[i] ?? 0);
      at.push(next, next + 1);
      next += 2;
      const set = tree.cats?.get(i);
      if (set) {
        catStart[k] = bits.length;
        catWords[k] = set.length;
        bits.push(...set);
      }
    }
  }
  let weights: Float32Array | undefined;
  if (weightDrop) {
    weights = new Float32Array(used);
    for (let t = 0; t < used; t++) weights[t] = weightDrop[t] ?? 0;
  }
  const categorical = anyCategorical ? { start: catStart, words: catWords, bits: Uint32Array.from(bits) } : undefined;
  return { type: 'trees', roots, groups, weights, feature, value, kid, missing, categorical, cover };
}

interface ParsedTree {
  n: number;
  left: Numbers;
  right: Numbers;
  split: Numbers;
  cond: Numbers;
  defaultLeft: Numbers;
  /** sum_hessian per node, when the document has it. */
  cover: Numbers | undefined;
  /** Categorical nodes: node → its category bitset (bit c set: category c goes right). */
  cats: Map<number, number[]> | undefined;
}

function parseTree(v: Doc, t: number, numFeature: number): ParsedTree {
  const at = `trees[${t}]`;
  const tree = obj(v, at);
  const n = int(obj(tree.tree_param, `${at}.tree_param`).num_nodes, `${at}.tree_param.num_nodes`, 1);
  const left = numbers(tree.left_children, `${at}.left_children`, n);
  const right = numbers(tree.right_children, `${at}.right_children`, n);
  const split = numbers(tree.split_indices, `${at}.split_indices`, n);
  const cond = numbers(tree.split_conditions, `${at}.split_conditions`, n);
  const defaultLeft = numbers(tree.default_left, `${at}.default_left`, n);
  const cover = tree.sum_hessian === undefined ? undefined : numbers(tree.sum_hessian, `${at}.sum_hessian`, n);
  const cats = categorySets(tree, at, n, left);
  // Every node reachable from the root exactly once: no cycles, no shared children, so evaluation ends.
  const seen = new Uint8Array(n);
  const stack = [0];
  while (stack.length > 0) {
    const i = stack.pop() ?? 0;
    if (seen[i]) throw new ModelError(`${at}: node ${i} is reached twice (the tree is not a tree)`);
    seen[i] = 1;
    const l = left[i] ?? -1;
    const r = right[i] ?? -1;
    if (l === -1) continue;
    if (!isIndex(l, n) || !isIndex(r, n)) throw new ModelError(`${at}: node ${i} has children ${l}, ${r} outside 0..${n - 1}`);
    const f = split[i] ?? -1;
    if (!isIndex(f, numFeature)) throw new ModelError(`${at}: node ${i} splits on feature ${f}, but the model has ${numFeature} features`);
    stack.push(r, l);
  }
  for (let i = 0; i < n; i++) {
    if (seen[i] && !cats?.has(i) && !Number.isFinite(cond[i] ?? Number.NaN)) throw new ModelError(`${at}: node ${i} has a non-finite split condition or leaf value`);
  }
  return { n, left, right, split, cond, defaultLeft, cover, cats };
}

/**
 * The category sets of a tree's categorical splits (`split_type` 1): `categories_nodes[k]` owns
 * `categories[categories_segments[k] .. + categories_sizes[k]]`, kept as a bitset sized for
 * its largest category, as xgboost builds it when loading.
 */
function categorySets(tree: Record<string, Doc>, at: string, n: number, left: Numbers): Map<number, number[]> | undefined {
  if (tree.split_type === undefined) return undefined;
  const types = numbers(tree.split_type, `${at}.split_type`, n);
  let any = false;
  for (let i = 0; i < n; i++) {
    const t = types[i];
    if (t !== 0 && t !== 1) throw new ModelError(`${at}.split_type[${i}] = ${t} is not 0 (numerical) or 1 (categorical)`);
    if (t === 1 && (left[i] ?? -1) !== -1) any = true;
  }
  if (!any) return undefined;
  const nodes = numbers(tree.categories_nodes, `${at}.categories_nodes`);
  const segments = numbers(tree.categories_segments, `${at}.categories_segments`, nodes.length);
  const sizes = numbers(tree.categories_sizes, `${at}.categories_sizes`, nodes.length);
  const categories = numbers(tree.categories, `${at}.categories`);
  const sets = new Map<number, number[]>();
  for (let k = 0; k < nodes.length; k++) {
    const node = nodes[k] ?? -1;
    const start = segments[k] ?? -1;
    const size = sizes[k] ?? -1;
    if (!isIndex(node, n) || types[node] !== 1) throw new ModelError(`${at}.categories_nodes[${k}] = ${node} is not a categorical split`);
    if (!Number.isInteger(start) || !Number.isInteger(size) || start < 0 || size < 1 || start + size > categories.length) {
      throw new ModelError(`${at}: the category segment of node ${node} lies outside "categories"`);
    }
    let max = 0;
    for (let j = start; j < start + size; j++) {
      const c = categories[j] ?? -1;
      if (!Number.isInteger(c) || c < 0 || c >= MAX_CATEGORY) throw new ModelError(`${at}: category ${c} of node ${node} is not an integer in 0..${MAX_CATEGORY - 1}`);
      max = Math.max(max, c);
    }
    const set = new Array<number>(Math.floor(max / 32) + 1).fill(0);
    for (let j = start; j < start + size; j++) {
      const c = categories[j] ?? 0;
      set[c >>> 5] = ((set[c >>> 5] ?? 0) | (1 << (c & 31))) >>> 0;
    }
    sets.set(node, set);
  }
  for (let i = 0; i < n; i++) {
    if (types[i] === 1 && (left[i] ?? -1) !== -1 && !sets.has(i)) throw new ModelError(`${at}: categorical node ${i} has no category set`);
  }
  return sets;
}

/** xgboost's largest usable category code: 2^24, the end of float32's exact integers. */
const MAX_CATEGORY = 1 << 24;

function isIndex(i: number, n: number): boolean {
  return Number.isInteger(i) && i >= 0 && i < n;
}

function compileLinear(model: Record<string, Doc>, numFeature: number, numGroup: number): Linear {
  const w = numbers(model.weights, 'gradient_booster.model.weights', (numFeature + 1) * numGroup);
  const weights = new Float32Array(numFeature * numGroup);
  const bias = new Float32Array(numGroup);
  for (let i = 0; i < weights.length; i++) weights[i] = w[i] ?? 0;
  for (let g = 0; g < numGroup; g++) bias[g] = w[numFeature * numGroup + g] ?? 0;
  for (const x of [...weights, ...bias]) if (!Number.isFinite(x)) throw new ModelError('gblinear weights hold a non-finite value');
  return { type: 'linear', weights, bias };
}

// ---------------------------------------------------------------- evaluate

/** Raw margins, rows × numGroup, for a row-major float32 matrix rows × numFeature (NaN = missing). */
export function computeMargins(m: CompiledModel, x32: Float32Array, rows: number): Float32Array {
  // The same float32 values as doubles: reading a Float64Array is cheaper in the hot loop.
  const x = Float64Array.from(x32);
  const G = m.numGroup;
  const F = m.numFeature;
  const out = new Float32Array(rows * G).fill(m.baseMargin);
  const model = m.model;
  if (model.type === 'linear') return linearMargins(model, out, x, rows, F, G);
  if (model.categorical) return categoricalMargins(model, model.categorical, out, x, rows, F, G);
  if (G === 1 && !model.weights) return singleMargins(model, out, x, rows, F);
  const { roots, groups, weights, feature, value, kid, missing } = model;
  const T = roots.length;
  for (let r = 0; r < rows; r++) {
    const row = r * F;
    const o = r * G;
    for (let t = 0; t < T; t++) {
      let n = roots[t]!;
      let f = feature[n]!;
      while (f >= 0) {
        const v = x[row + f]!;
        n = v !== v ? missing[n]! : v < value[n]! ? kid[n]! : kid[n]! + 1;
        f = feature[n]!;
      }
      const leaf = weights ? f32(value[n]! * weights[t]!) : value[n]!;
      const k = o + groups[t]!;
      out[k] = f32(out[k]! + leaf);
    }
  }
  return out;
}

/**
 * The common case — one margin per row, no dart weights — in a small function of its own so
 * V8 optimises the loop tightly: the margin is accumulated in a local.
 */
function singleMargins(model: Forest, out: Float32Array, x: Float64Array, rows: number, F: number): Float32Array {
  const { roots, feature, value, kid, missing } = model;
  const T = roots.length;
  for (let r = 0; r < rows; r++) {
    const row = r * F;
    let acc = out[r]!;
    for (let t = 0; t < T; t++) {
      let n = roots[t]!;
      let f = feature[n]!;
      while (f >= 0) {
        const v = x[row + f]!;
        n = v !== v ? missing[n]! : v < value[n]! ? kid[n]! : kid[n]! + 1;
        f = feature[n]!;
      }
      acc = f32(acc + value[n]!);
    }
    out[r] = acc;
  }
  return out;
}

/** GBLinear::Pred: per group, psum = bias + base margin, then += fvalue × weight for each present value (float32). */
function linearMargins(model: Linear, out: Float32Array, x: Float64Array, rows: number, F: number, G: number): Float32Array {
  const { weights, bias } = model;
  for (let r = 0; r < rows; r++) {
    const row = r * F;
    for (let g = 0; g < G; g++) {
      let psum = f32(bias[g]! + out[r * G + g]!);
      for (let j = 0; j < F; j++) {
        const v = x[row + j]!;
        if (v !== v) continue;
        psum = f32(psum + f32(v * weights[j * G + g]!));
      }
      out[r * G + g] = psum;
    }
  }
  return out;
}

/**
 * Trees with categorical splits (a separate loop keeps the numerical one tight). A category
 * code, truncated to an integer, goes right when its bit is set and left otherwise; codes
 * outside the node's bitset — negative, or past its largest category — go left whatever the
 * default direction (checked against xgboost 1.7.4 with pred_leaf on the cat_* fixtures); a
 * missing value follows the default direction.
 */
function categoricalMargins(model: Forest, cats: NonNullable<Forest['categorical']>, out: Float32Array, x: Float64Array, rows: number, F: number, G: number): Float32Array {
  const { roots, groups, weights, feature, value, kid, missing } = model;
  const { start, words, bits } = cats;
  const T = roots.length;
  for (let r = 0; r < rows; r++) {
    const row = r * F;
    const o = r * G;
    for (let t = 0; t < T; t++) {
      let n = roots[t]!;
      let f = feature[n]!;
      while (f >= 0) {
        const v = x[row + f]!;
        const w = words[n]!;
        if (v !== v) {
          n = missing[n]!;
        } else if (w === 0) {
          n = v < value[n]! ? kid[n]! : kid[n]! + 1;
        } else if (v < 0 || v >= w * 32) {
          n = kid[n]!;
        } else {
          const c = Math.trunc(v);
          n = kid[n]! + ((bits[start[n]! + (c >>> 5)]! >>> (c & 31)) & 1);
        }
        f = feature[n]!;
      }
      const leaf = weights ? f32(value[n]! * weights[t]!) : value[n]!;
      const k = o + groups[t]!;
      out[k] = f32(out[k]! + leaf);
    }
  }
  return out;
}

/** The objective's transform of margins, in place (rows × numGroup). */
export function transformMargins(m: CompiledModel, margins: Float32Array, rows: number): Float32Array {
  const G = m.numGroup;
  switch (m.transform) {
    case 'identity':
      return margins;
    case 'sigmoid':
      for (let i = 0; i < margins.length; i++) margins[i] = f32(1 / f32(1 + f32(Math.exp(-margins[i]!))));
      return margins;
    case 'exp':
      for (let i = 0; i < margins.length; i++) margins[i] = f32(Math.exp(margins[i]!));
      return margins;
    case 'hinge':
      for (let i = 0; i < margins.length; i++) margins[i] = margins[i]! > 0 ? 1 : 0;
      return margins;
    case 'softmax':
      for (let r = 0; r < rows; r++) {
        const o = r * G;
        let max = margins[o]!;
        for (let g = 1; g < G; g++) max = Math.max(max, margins[o + g]!);
        let sum = 0; // a double, as in common::Softmax
        for (let g = 0; g < G; g++) {
          const e = f32(Math.exp(f32(margins[o + g]! - max)));
          margins[o + g] = e;
          sum += e;
        }
        const s = f32(sum);
        for (let g = 0; g < G; g++) margins[o + g] = f32(margins[o + g]! / s);
      }
      return margins;
  }
}

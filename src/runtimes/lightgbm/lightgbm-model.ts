/**
 * A LightGBM model compiled into flat typed arrays (lightgbm-text.ts reads the text file into
 * this layout), and the arithmetic of LightGBM's CPU predictor on them: double-precision raw scores,
 * one per class, each tree's output added in tree order, averaged for random forests, then the
 * objective's transform. Decisions follow LightGBM's `Tree::NumericalDecision` and
 * `Tree::CategoricalDecision` (include/LightGBM/tree.h), missing types and all.
 */
import { ArtifactError } from '../artifact-error.js';

/** What is wrong with a model file (the catalog reports it as FERRY_E_ARTIFACT_INVALID). */
export class LgbmError extends ArtifactError {}

/** How predictions are presented, by objective. */
export type LgbmKind = 'regression' | 'binary' | 'multiclass';
/** The objective's transform of raw scores. */
export type LgbmTransform = 'identity' | 'sigmoid' | 'softmax' | 'exp' | 'square';

/** LightGBM's kZeroThreshold is the float literal 1e-35f, compared as a double. */
export const ZERO_THRESHOLD = Math.fround(1e-35);

/** Decision bits of `decision_type`: bit 0 categorical, bit 1 default_left, bits 2–3 missing type (0 None, 1 Zero, 2 NaN). */
const CATEGORICAL = 1;
export const DECISION_CATEGORICAL = CATEGORICAL;
const DEFAULT_LEFT = 2;

/**
 * Node kinds: how a split decides. Missing types None and NaN both become PLAIN: a NaN takes
 * `missing`, which for type None is the side 0 goes to (LightGBM reads NaN as 0 there).
 */
const PLAIN = 0;
export const NODE_PLAIN = PLAIN;
const ZERO = 1;
const CATEGORY = 2;

/**
 * All trees in shared arrays, splits and leaves alike, each tree laid out breadth-first so
 * that a split's children sit side by side (right = kid + 1).
 */
export interface LgbmForest {
  /** Per tree: its root node and its class. */
  readonly roots: Int32Array;
  readonly classes: Int32Array;
  /** Per node: the split feature, or −1 for a leaf. */
  readonly feature: Int32Array;
  /** Per split: PLAIN or ZERO (numerical: missing type None/NaN, or Zero) or CATEGORY. */
  readonly kind: Uint8Array;
  /** Per split: the threshold; per leaf: the leaf value. */
  readonly value: Float64Array;
  /** Per split: the left child (the right one is kid + 1); per leaf: its index in the lin* arrays. */
  readonly kid: Int32Array;
  /** Per split: the child a NaN takes (default_left: kid, else kid + 1; type None: where 0 goes). */
  readonly missing: Int32Array;
  /** Categorical splits: their bitset in `catBits` (start, number of 32-bit words). */
  readonly catStart: Int32Array;
  readonly catWords: Int32Array;
  readonly catBits: Uint32Array;
  /** Linear trees: per leaf the constant and its terms in linFeature/linCoeff (count −1: not linear). */
  readonly linConst: Float64Array;
  readonly linStart: Int32Array;
  readonly linCount: Int32Array;
  readonly linFeature: Int32Array;
  readonly linCoeff: Float64Array;
  /** Per node: its training count (`internal_count`, `leaf_count`), for TreeSHAP; undefined when a tree lacks them. */
  readonly cover: Float64Array | undefined;
}

export interface LgbmModel {
  readonly version: string;
  readonly objective: string;
  readonly kind: LgbmKind;
  readonly transform: LgbmTransform;
  /** The sigmoid's parameter (binary, multiclassova). */
  readonly sigmoid: number;
  readonly numFeature: number;
  /** Scores per row: num_tree_per_iteration (the number of classes for multiclass models). */
  readonly numClass: number;
  /** Random forest (`average_output`): the sum is divided by the number of iterations. */
  readonly averageOutput: boolean;
  readonly iterations: number;
  readonly featureNames: readonly string[];
  readonly forest: LgbmForest;
  /**
   * Only PLAIN splits, no linear leaves, and no threshold in [−kZeroThreshold, kZeroThreshold):
   * then a value with |v| ≤ kZeroThreshold decides exactly as the 0 LightGBM reads it as, and
   * the fast loop can skip cleaning rows.
   */
  readonly simple: boolean;
}

/**
 * One tree in LightGBM's own terms, before flattening: splits 0..numLeaves-2 (root 0), leaves
 * 0..numLeaves-1; a child ≥ 0 is a split, < 0 is ~leaf. Other tree formats (scikit-learn's)
 * are translated into this to share the flat layout and its walk.
 */
export interface TreeParts {
  numLeaves: number;
  numCat: number;
  feature: number[];
  threshold: number[];
  decision: number[];
  left: number[];
  right: number[];
  leafValue: number[];
  catBoundaries: number[];
  catThreshold: number[];
  linear: { consts: number[]; counts: number[]; features: number[]; coeffs: number[] } | undefined;
  /** internal_count and leaf_count, when written. */
  counts: { internal: number[]; leaf: number[] } | undefined;
}

/** Missing type NaN in `decision_type` (bits 2–3), and the default-left bit, for translated trees. */
export const DECISION_NAN_MISSING = 2 << 2;
export const DECISION_DEFAULT_LEFT = DEFAULT_LEFT;

/** All trees in one flat layout; tree t belongs to class t % perIteration. */
export function flatten(parts: readonly TreeParts[], perIteration: number): LgbmForest {
  let nodes = 0;
  let leaves = 0;
  let words = 0;
  let terms = 0;
  for (const p of parts) {
    nodes += 2 * p.numLeaves - 1;
    leaves += p.numLeaves;
    words += p.catThreshold.length;
    terms += p.linear ? p.linear.features.length : 0;
  }
  const f: LgbmForest = {
    roots: new Int32Array(parts.length),
    classes: new Int32Array(parts.length),
    feature: new Int32Array(nodes),
    kind: new Uint8Array(nodes),
    value: new Float64Array(nodes),
    kid: new Int32Array(nodes),
    missing: new Int32Array(nodes),
    catStart: new Int32Array(nodes),
    catWords: new Int32Array(nodes),
    catBits: new Uint32Array(words),
    linConst: new Float64Array(leaves),
    linStart: new Int32Array(leaves),
    linCount: new Int32Array(leaves).fill(-1),
    linFeature: new Int32Array(terms),
    linCoeff: new Float64Array(terms),
    cover: parts.every((p) => p.counts) ? new Float64Array(nodes) : undefined,
  };
  let next = 0;
  let leafBase = 0;
  let wordBase = 0;
  let termBase = 0;
  parts.forEach((p, t) => {
    f.roots[t] = next;
    f.classes[t] = t % perIteration;
    // Breadth-first from the root; tree-local references: ≥ 0 a split, < 0 ~leaf.
    const queue = [p.numLeaves > 1 ? 0 : ~0];
    const at = [next++];
    for (let q = 0; q < queue.length; q++) {
      const ref = queue[q] ?? 0;
      const k = at[q] ?? 0;
      if (ref < 0) {
        const leaf = ~ref;
        f.feature[k] = -1;
        f.value[k] = p.leafValue[leaf] ?? 0;
        f.kid[k] = leafBase + leaf;
        if (f.cover) f.cover[k] = p.counts?.leaf[leaf] ?? 0;
        continue;
      }
      const d = p.decision[ref] ?? 0;
      const leftChild = next;
      if (f.cover) f.cover[k] = p.counts?.internal[ref] ?? 0;
      f.feature[k] = p.feature[ref] ?? 0;
      f.kid[k] = leftChild;
      f.missing[k] = d & DEFAULT_LEFT ? leftChild : leftChild + 1;
      queue.push(p.left[ref] ?? 0, p.right[ref] ?? 0);
      at.push(next, next + 1);
      next += 2;
      if (d & CATEGORICAL) {
        const c = p.threshold[ref] ?? 0;
        const start = p.catBoundaries[c] ?? 0;
        f.kind[k] = CATEGORY;
        f.catStart[k] = wordBase + start;
        f.catWords[k] = (p.catBoundaries[c + 1] ?? 0) - start;
      } else {
        const mt = (d >> 2) & 3;
        const threshold = p.threshold[ref] ?? 0;
        f.kind[k] = mt === 1 ? ZERO : PLAIN;
        f.value[k] = threshold;
        if (mt === 0) f.missing[k] = 0 <= threshold ? leftChild : leftChild + 1;
      }
    }
    for (let j = 0; j < p.catThreshold.length; j++) f.catBits[wordBase + j] = p.catThreshold[j] ?? 0;
    let term = 0;
    if (p.linear) {
      for (let j = 0; j < p.numLeaves; j++) {
        const count = p.linear.counts[j] ?? 0;
        f.linConst[leafBase + j] = p.linear.consts[j] ?? 0;
        f.linStart[leafBase + j] = termBase + term;
        f.linCount[leafBase + j] = count;
        for (let c = 0; c < count; c++, term++) {
          f.linFeature[termBase + term] = p.linear.features[term] ?? 0;
          f.linCoeff[termBase + term] = p.linear.coeffs[term] ?? 0;
        }
      }
    }
    leafBase += p.numLeaves;
    wordBase += p.catThreshold.length;
    termBase += term;
  });
  return f;
}

// ---------------------------------------------------------------- evaluate

/**
 * Raw scores, rows × numClass, for a row-major matrix rows × numFeature (NaN = missing).
 * Like LightGBM's dense-row reader, values with |v| ≤ kZeroThreshold count as exactly 0.
 */
export function rawScores(m: LgbmModel, input: ArrayLike<number>, rows: number): Float64Array {
  const K = m.numClass;
  const F = m.numFeature;
  const out = new Float64Array(rows * K);
  const forest = m.forest;
  const x = input instanceof Float64Array ? input : Float64Array.from(input);
  const T = forest.roots.length;
  const { roots, classes, feature, value, kid, missing } = forest;
  if (m.simple) {
    // Only PLAIN splits, no linear leaves, no threshold near zero: raw values decide exactly as
    // cleaned ones would, so no per-row copy and no per-node kind (like LightGBM's num_cat == 0 path).
    for (let r = 0; r < rows; r++) {
      const base = r * F;
      const o = r * K;
      let acc = 0;
      for (let t = 0; t < T; t++) {
        let n = roots[t]!;
        let f = feature[n]!;
        while (f >= 0) {
          const v = x[base + f]!;
          n = v !== v ? missing[n]! : v <= value[n]! ? kid[n]! : kid[n]! + 1;
          f = feature[n]!;
        }
        if (K === 1) acc += value[n]!;
        else {
          const k = o + classes[t]!;
          out[k] = out[k]! + value[n]!;
        }
      }
      if (K === 1) out[o] = acc;
    }
  } else {
    generalScores(m, x, rows, out);
  }
  if (m.averageOutput) for (let i = 0; i < out.length; i++) out[i] = out[i]! / m.iterations;
  return out;
}

/**
 * The leaf each row reaches in tree `t` (like scikit-learn's `apply`, one tree at a time so its
 * nodes stay in cache): `out[r - from]` is the global leaf index (`kid` of the leaf node) for rows
 * `from`..`to` of a row-major matrix. Numerical splits go left when `v <= threshold`; categorical
 * splits go left when the truncated code's bit is set (callers map codes the split does not know
 * to NaN); NaN takes `missing`. Values are used as given (no kZeroThreshold cleaning). With
 * `nanFree` (the caller knows the rows hold no NaN) a forest without categorical splits takes a
 * walk with one comparison per node, about 1.3× faster on deep forests.
 */
export function treeLeaves(forest: LgbmForest, t: number, x: Float64Array, numFeature: number, from: number, to: number, out: Int32Array, nanFree = false): Int32Array {
  const { roots, feature, value, kid, missing, kind, catStart, catWords, catBits } = forest;
  const root = roots[t]!;
  const categorical = catBits.length > 0;
  if (nanFree && !categorical) return plainTreeLeaves(forest, root, x, numFeature, from, to, out);
  for (let r = from, o = 0; r < to; r++, o++) {
    const base = r * numFeature;
    let n = root;
    let f = feature[n]!;
    while (f >= 0) {
      const v = x[base + f]!;
      if (v !== v) n = missing[n]!;
      else if (categorical && kind[n] === CATEGORY) {
        const c = Math.trunc(v);
        const word = c >>> 5;
        n = c >= 0 && word < catWords[n]! && ((catBits[catStart[n]! + word]! >>> (c & 31)) & 1) === 1 ? kid[n]! : kid[n]! + 1;
      } else n = v <= value[n]! ? kid[n]! : kid[n]! + 1;
      f = feature[n]!;
    }
    out[o] = kid[n]!;
  }
  return out;
}

/**
 * `treeLeaves` without NaN or categorical splits: one comparison per node, and four rows walked
 * side by side so that their independent chains of loads overlap in the CPU (about 1.7× one row
 * at a time on a 100-tree forest of depth 20–30). A lane that has reached its leaf waits.
 */
function plainTreeLeaves(forest: LgbmForest, root: number, x: Float64Array, numFeature: number, from: number, to: number, out: Int32Array): Int32Array {
  const { feature, value, kid } = forest;
  let r = from;
  let o = 0;
  const first = feature[root]!;
  for (; r + 4 <= to; r += 4, o += 4) {
    const b0 = r * numFeature;
    const b1 = b0 + numFeature;
    const b2 = b1 + numFeature;
    const b3 = b2 + numFeature;
    let n0 = root;
    let n1 = root;
    let n2 = root;
    let n3 = root;
    let f0 = first;
    let f1 = first;
    let f2 = first;
    let f3 = first;
    // Until all four are leaves (feature −1): the AND of the four is negative only then.
    while ((f0 & f1 & f2 & f3) >= 0) {
      if (f0 >= 0) {
        n0 = kid[n0]! + +!(x[b0 + f0]! <= value[n0]!);
        f0 = feature[n0]!;
      }
      if (f1 >= 0) {
        n1 = kid[n1]! + +!(x[b1 + f1]! <= value[n1]!);
        f1 = feature[n1]!;
      }
      if (f2 >= 0) {
        n2 = kid[n2]! + +!(x[b2 + f2]! <= value[n2]!);
        f2 = feature[n2]!;
      }
      if (f3 >= 0) {
        n3 = kid[n3]! + +!(x[b3 + f3]! <= value[n3]!);
        f3 = feature[n3]!;
      }
    }
    out[o] = kid[n0]!;
    out[o + 1] = kid[n1]!;
    out[o + 2] = kid[n2]!;
    out[o + 3] = kid[n3]!;
  }
  for (; r < to; r++, o++) {
    const base = r * numFeature;
    let n = root;
    let f = first;
    while (f >= 0) {
      n = x[base + f]! <= value[n]! ? kid[n]! : kid[n]! + 1;
      f = feature[n]!;
    }
    out[o] = kid[n]!;
  }
  return out;
}

/** Every kind of split and linear leaves, on rows cleaned by the kZeroThreshold rule. */
function generalScores(m: LgbmModel, x: Float64Array, rows: number, out: Float64Array): void {
  const K = m.numClass;
  const F = m.numFeature;
  const { roots, classes, feature, kind, value, kid, missing, catStart, catWords, catBits, linConst, linStart, linCount, linFeature, linCoeff } = m.forest;
  const linear = linCount.some((c) => c >= 0);
  const T = roots.length;
  const row = new Float64Array(F);
  for (let r = 0; r < rows; r++) {
    const base = r * F;
    for (let j = 0; j < F; j++) {
      const v = x[base + j]!;
      row[j] = v >= -ZERO_THRESHOLD && v <= ZERO_THRESHOLD ? 0 : v;
    }
    const o = r * K;
    let acc = 0; // one class: summed in a local, in the same order
    for (let t = 0; t < T; t++) {
      let n = roots[t]!;
      let f = feature[n]!;
      while (f >= 0) {
        const v = row[f]!;
        const k = kind[n]!;
        if (k === PLAIN) {
          n = v !== v ? missing[n]! : v <= value[n]! ? kid[n]! : kid[n]! + 1;
        } else if (k === ZERO) {
          // Missing type Zero: a zero (exactly 0 once cleaned) or a NaN (read as 0) takes the default side.
          n = v === 0 || v !== v ? missing[n]! : v <= value[n]! ? kid[n]! : kid[n]! + 1;
        } else {
          // CategoricalDecision: NaN and negative codes go right; else left when the truncated code's bit is set.
          let goLeft = false;
          if (v > -1 && v < 2147483648) {
            const c = Math.trunc(v);
            const word = c >>> 5;
            goLeft = word < catWords[n]! && ((catBits[catStart[n]! + word]! >>> (c & 31)) & 1) === 1;
          }
          n = goLeft ? kid[n]! : kid[n]! + 1;
        }
        f = feature[n]!;
      }
      let leafValue = value[n]!;
      if (linear) {
        const leaf = kid[n]!;
        const count = linCount[leaf]!;
        if (count >= 0) {
          // Linear leaf: const + Σ coeff·x, or the plain leaf value when one of its features is missing.
          let sum = linConst[leaf]!;
          const s = linStart[leaf]!;
          let nan = false;
          for (let c = 0; c < count; c++) {
            const fv = row[linFeature[s + c]!]!;
            if (fv !== fv) {
              nan = true;
              break;
            }
            sum += linCoeff[s + c]! * fv;
          }
          if (!nan) leafValue = sum;
        }
      }
      if (K === 1) acc += leafValue;
      else {
        const k = o + classes[t]!;
        out[k] = out[k]! + leafValue;
      }
    }
    if (K === 1) out[o] = acc;
  }
}

/** The objective's transform of raw scores, in place (rows × numClass). */
export function transformScores(m: LgbmModel, s: Float64Array, rows: number): Float64Array {
  const K = m.numClass;
  switch (m.transform) {
    case 'identity':
      return s;
    case 'sigmoid':
      for (let i = 0; i < s.length; i++) s[i] = 1 / (1 + Math.exp(-m.sigmoid * s[i]!));
      return s;
    case 'exp':
      for (let i = 0; i < s.length; i++) s[i] = Math.exp(s[i]!);
      return s;
    case 'square':
      // regression with sqrt:true trained on sqrt(label); LightGBM squares back with the sign.
      for (let i = 0; i < s.length; i++) s[i] = Math.sign(s[i]!) * s[i]! * s[i]!;
      return s;
    case 'softmax':
      for (let r = 0; r < rows; r++) {
        const o = r * K;
        let max = s[o]!;
        for (let k = 1; k < K; k++) max = Math.max(max, s[o + k]!);
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const e = Math.exp(s[o + k]! - max);
          s[o + k] = e;
          sum += e;
        }
        for (let k = 0; k < K; k++) s[o + k] = s[o + k]! / sum;
      }
      return s;
  }
}

/**
 * The child a split node sends value v to (v already cleaned by the kZeroThreshold rule): the
 * decision generalScores makes inline, for readers that route one node at a time (TreeSHAP).
 */
export function nextNode(f: LgbmForest, n: number, v: number): number {
  const k = f.kind[n]!;
  if (k === PLAIN) return v !== v ? f.missing[n]! : v <= f.value[n]! ? f.kid[n]! : f.kid[n]! + 1;
  if (k === ZERO) return v === 0 || v !== v ? f.missing[n]! : v <= f.value[n]! ? f.kid[n]! : f.kid[n]! + 1;
  let goLeft = false;
  if (v > -1 && v < 2147483648) {
    const c = Math.trunc(v);
    const word = c >>> 5;
    goLeft = word < f.catWords[n]! && ((f.catBits[f.catStart[n]! + word]! >>> (c & 31)) & 1) === 1;
  }
  return goLeft ? f.kid[n]! : f.kid[n]! + 1;
}

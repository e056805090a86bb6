/**
 * Scoring a compiled scikit-learn model, in scikit-learn 1.2's order of floating-point
 * operations: the Pipeline's numeric steps in place, then the estimator — tree walks through
 * LightGBM's flat layout (`treeLeaves`) with the leaves summed as scikit-learn sums them, or a
 * linear decision function — then the link that predict_proba applies.
 */
import { treeLeaves } from '../lightgbm/lightgbm-model.js';
import { scoreOther } from './other-models.js';
import { applyColumns, tableOf, type Column } from './columns.js';
import type { NumericStep, CompiledModel, LinearModel, TreeModel } from './compile.js';
import { argmax, numpySum, softmax } from './numeric.js';

/** Scores of a batch: probabilities (rows × classes) and the class index per row, or one value per row. */
export interface Scores {
  readonly probabilities: Float64Array | undefined;
  readonly labels: Int32Array | undefined;
  readonly values: Float64Array | undefined;
}

/** Rows scored per tree walk pass, so the leaf-index buffer stays small. */
const CHUNK = 10000;

export function score(m: CompiledModel, input: Float64Array, rows: number): Scores {
  return scoreFrom(m, input, null, rows);
}

/** Score a table of input columns (models with text columns: the first step routes them). */
export function scoreTable(m: CompiledModel, table: readonly Column[], rows: number): Scores {
  return scoreFrom(m, new Float64Array(0), table, rows);
}

function scoreFrom(m: CompiledModel, input: Float64Array, table: readonly Column[] | null, rows: number): Scores {
  const { x, width } = applySteps(m, input, table, rows);
  const est = m.estimator;
  const classes = m.classes?.length ?? 0;
  if (est.kind === 'linear') return linear(est, x, rows, width, classes);
  if (est.kind === 'trees') return trees(est, x, rows, width, classes);
  return scoreOther(est, x, rows, width, classes);
}

/** The Pipeline's steps on a batch: what the final estimator takes (rows × width). */
export function applySteps(m: CompiledModel, input: Float64Array, table: readonly Column[] | null, rows: number): { x: Float64Array; width: number } {
  let x = input;
  let width = m.features;
  for (const step of m.steps) {
    if (step.op === 'columns') {
      // The first step works on the model's input columns: an error names the column.
      x = applyColumns(step, table ?? tableOf(x, rows, width), rows, (s, y, n, w) => applyStep(s, y, n, w, true), step === m.steps[0] ? m.names ?? undefined : undefined);
      width = step.width;
      table = null;
      continue;
    }
    const out = applyStep(step, x, rows, width, x === input);
    x = out.x;
    width = out.width;
  }
  return { x, width };
}

function applyStep(s: NumericStep, input: Float64Array, rows: number, width: number, copy: boolean): { x: Float64Array; width: number } {
  if (s.op === 'impute') {
    const keep = s.keep;
    const out = new Float64Array(rows * keep.length);
    const nanMissing = Number.isNaN(s.missing);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < keep.length; j++) {
        const c = keep[j]!;
        const v = input[r * width + c]!;
        out[r * keep.length + j] = (nanMissing ? v !== v : v === s.missing) ? s.statistics[c]! : v;
      }
    }
    return { x: out, width: keep.length };
  }
  if (s.op === 'poly') {
    // scikit-learn builds degree d as (the product of the term's later columns) × its first
    // column, so x_a·x_b·x_c is (x_c·x_b)·x_a: multiplied from the last column back, the same doubles.
    const W = s.offsets.length - 1;
    const out = new Float64Array(rows * W);
    for (let r = 0; r < rows; r++) {
      const row = r * width;
      for (let t = 0; t < W; t++) {
        const first = s.offsets[t]!;
        let k = s.offsets[t + 1]! - 1;
        let v = k >= first ? input[row + s.terms[k]!]! : 1;
        for (k--; k >= first; k--) v *= input[row + s.terms[k]!]!;
        out[r * W + t] = v;
      }
    }
    return { x: out, width: W };
  }
  const x = copy ? Float64Array.from(input) : input;
  const n = rows * width;
  switch (s.op) {
    case 'standard':
      if (s.mean) for (let i = 0; i < n; i++) x[i] = x[i]! - s.mean[i % width]!;
      if (s.scale) for (let i = 0; i < n; i++) x[i] = x[i]! / s.scale[i % width]!;
      break;
    case 'robust':
      if (s.center) for (let i = 0; i < n; i++) x[i] = x[i]! - s.center[i % width]!;
      if (s.scale) for (let i = 0; i < n; i++) x[i] = x[i]! / s.scale[i % width]!;
      break;
    case 'minmax':
      for (let i = 0; i < n; i++) {
        let v = x[i]! * s.scale[i % width]! + 0; // X *= scale_; X += min_ (two roundings, as numpy does)
        v = v + s.min[i % width]!;
        x[i] = s.clip ? Math.min(Math.max(v, s.low), s.high) : v;
      }
      break;
    case 'maxabs':
      for (let i = 0; i < n; i++) x[i] = x[i]! / s.scale[i % width]!;
      break;
  }
  return { x, width };
}

const expit = (v: number): number => 1 / (1 + Math.exp(-v));

function linear(m: LinearModel, x: Float64Array, rows: number, width: number, classes: number): Scores {
  const K = m.outputs;
  const d = new Float64Array(rows * K);
  for (let r = 0; r < rows; r++) {
    const row = r * width;
    for (let k = 0; k < K; k++) {
      let s = 0;
      const c = k * width;
      for (let j = 0; j < width; j++) s += x[row + j]! * m.coef[c + j]!;
      d[r * K + k] = s + m.intercept[k]!;
    }
  }
  if (m.link === 'identity') return { probabilities: undefined, labels: undefined, values: d };
  // Generalised linear models with the log link (Poisson, gamma, Tweedie).
  if (m.link === 'exp') return { probabilities: undefined, labels: undefined, values: d.map(Math.exp) };
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) labels[r] = K === 1 ? (d[r]! > 0 ? 1 : 0) : argmax(d, r * K, K);
  let probabilities: Float64Array | undefined;
  if (m.link !== 'none') {
    probabilities = new Float64Array(rows * classes);
    for (let r = 0; r < rows; r++) {
      const o = r * classes;
      switch (m.link) {
        case 'logistic': {
          const p = expit(d[r]!);
          probabilities[o] = 1 - p;
          probabilities[o + 1] = p;
          break;
        }
        case 'modified_huber': {
          const p = (Math.min(Math.max(d[r]!, -1), 1) + 1) / 2;
          probabilities[o] = 1 - p;
          probabilities[o + 1] = p;
          break;
        }
        case 'softmax2':
          probabilities[o] = -d[r]!;
          probabilities[o + 1] = d[r]!;
          softmax(probabilities, o, 2);
          break;
        case 'softmax':
          probabilities.set(d.subarray(r * K, r * K + K), o);
          softmax(probabilities, o, K);
          break;
        case 'ovr': {
          for (let k = 0; k < K; k++) probabilities[o + k] = expit(d[r * K + k]!);
          const sum = numpySum(probabilities, o, K);
          for (let k = 0; k < K; k++) probabilities[o + k] = probabilities[o + k]! / sum;
          break;
        }
      }
    }
  }
  return { probabilities, labels, values: undefined };
}

function trees(m: TreeModel, input: Float64Array, rows: number, width: number, classes: number): Scores {
  const sums = treeMargins(m, input, rows, width);
  if (m.aggregate !== 'boost') {
    const W = m.width;
    if (m.aggregate === 'mean') return { probabilities: undefined, labels: undefined, values: sums };
    const labels = new Int32Array(rows);
    for (let r = 0; r < rows; r++) labels[r] = argmax(sums, r * W, W);
    return { probabilities: sums, labels, values: undefined };
  }
  return boostLink(m.link, sums, rows, m.classesPerStage, classes);
}

/** The rows as the trees compare them: float32-rounded (not HistGradientBoosting), unknown categories as NaN. */
export function treeInput(m: TreeModel, input: Float64Array, rows: number, width: number): Float64Array {
  // Trees compare float32 features with float64 thresholds (scikit-learn casts X to float32 first);
  // HistGradientBoosting compares float64 features.
  const x = m.float32 ? toFloat32Values(input) : m.catFeatures.length > 0 ? Float64Array.from(input) : input;
  if (m.catFeatures.length > 0) unknownToMissing(m, x, rows, width);
  return x;
}

/**
 * Per row, before any link: forests' averaged leaf values (class probabilities or values, rows ×
 * width) and boosting's raw sums from the init (rows × classes per stage).
 */
export function treeMargins(m: TreeModel, input: Float64Array, rows: number, width: number): Float64Array {
  const x = treeInput(m, input, rows, width);
  const nanFree = !hasNaN(x);
  const T = m.forest.roots.length;
  const W = m.width;
  const G = m.classesPerStage;
  const sums = new Float64Array(rows * (m.aggregate === 'boost' ? G : W));
  if (m.aggregate === 'boost') for (let r = 0; r < rows; r++) sums.set(m.init, r * G);
  const leaves = new Int32Array(Math.min(rows, CHUNK));
  const { leaves: lv, scale } = m;
  // Tree by tree, as scikit-learn sums them (all_proba += tree proba; raw[:, k] += scale × value):
  // each row's sum takes the trees in order, so the float64 additions are scikit-learn's own.
  for (let from = 0; from < rows; from += CHUNK) {
    const to = Math.min(rows, from + CHUNK);
    for (let t = 0; t < T; t++) {
      treeLeaves(m.forest, t, x, width, from, to, leaves, nanFree);
      if (m.aggregate === 'boost') {
        const k = t % G;
        for (let r = from, o = 0; r < to; r++, o++) sums[r * G + k] = sums[r * G + k]! + scale * lv[leaves[o]!]!;
      } else if (W === 1) {
        for (let r = from, o = 0; r < to; r++, o++) sums[r] = sums[r]! + lv[leaves[o]!]!;
      } else if (W === 2) {
        for (let r = from, o = 0; r < to; r++, o++) {
          const leaf = leaves[o]! * 2;
          sums[r * 2] = sums[r * 2]! + lv[leaf]!;
          sums[r * 2 + 1] = sums[r * 2 + 1]! + lv[leaf + 1]!;
        }
      } else {
        for (let r = from, o = 0; r < to; r++, o++) {
          const leaf = leaves[o]! * W;
          const base = r * W;
          for (let k = 0; k < W; k++) sums[base + k] = sums[base + k]! + lv[leaf + k]!;
        }
      }
    }
  }
  if (m.aggregate !== 'boost') for (let i = 0; i < sums.length; i++) sums[i] = sums[i]! / T;
  return sums;
}

/** The values rounded to float32 (scikit-learn's `X.astype(np.float32)`), kept as float64. */
function toFloat32Values(input: Float64Array): Float64Array {
  const x = new Float64Array(input.length);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(input[i]!);
  return x;
}

function hasNaN(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== x[i]) return true;
  return false;
}

/** HistGradientBoosting categories: NaN, negative, unknown (and past 255) codes all count as missing. */
function unknownToMissing(m: TreeModel, x: Float64Array, rows: number, width: number): void {
  m.catFeatures.forEach((f, i) => {
    for (let r = 0; r < rows; r++) {
      const v = x[r * width + f]!;
      if (v !== v) continue;
      const c = Math.trunc(v);
      const known = v >= 0 && c < 256 && ((m.knownBits[i * 8 + (c >>> 5)]! >>> (c & 31)) & 1) === 1;
      if (!known) x[r * width + f] = Number.NaN;
    }
  });
}

function boostLink(link: string, raw: Float64Array, rows: number, G: number, classes: number): Scores {
  if (link === 'identity') return { probabilities: undefined, labels: undefined, values: raw };
  if (link === 'exp') return { probabilities: undefined, labels: undefined, values: raw.map(Math.exp) };
  const p = new Float64Array(rows * classes);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    switch (link) {
      case 'gb-binomial':
      case 'hgb-binomial':
      case 'gb-exponential': {
        const v = raw[r]!;
        const p1 = expit(link === 'gb-exponential' ? 2 * v : v);
        p[o] = 1 - p1;
        p[o + 1] = p1;
        labels[r] = link === 'gb-exponential' ? (v >= 0 ? 1 : 0) : p1 > 1 - p1 ? 1 : 0;
        break;
      }
      case 'gb-multinomial': {
        // np.nan_to_num(np.exp(raw - logsumexp(raw)))
        let max = raw[r * G]!;
        for (let k = 1; k < G; k++) max = Math.max(max, raw[r * G + k]!);
        if (!Number.isFinite(max)) max = 0;
        const tmp = new Float64Array(G);
        for (let k = 0; k < G; k++) tmp[k] = Math.exp(raw[r * G + k]! - max);
        const lse = Math.log(numpySum(tmp, 0, G)) + max;
        for (let k = 0; k < G; k++) {
          const e = Math.exp(raw[r * G + k]! - lse);
          p[o + k] = Number.isNaN(e) ? 0 : e;
        }
        labels[r] = argmax(raw, r * G, G);
        break;
      }
      case 'softmax':
        p.set(raw.subarray(r * G, r * G + G), o);
        softmax(p, o, G);
        labels[r] = argmax(p, o, G);
        break;
    }
  }
  return { probabilities: p, labels, values: undefined };
}

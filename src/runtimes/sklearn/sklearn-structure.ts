/**
 * A scikit-learn tree model in the neutral form of model-structure.ts, for TreeSHAP: covers from
 * `weighted_n_node_samples` (HistGradientBoosting `count`), routing by the runtime's own walk
 * (the Pipeline's steps, float32 rounding and unknown categories applied first), margins before
 * the link. Forests with K class values per leaf become K groups sharing the tree shape: the
 * node arrays are repeated once per class with that class's leaf values. Only models whose
 * steps keep every input column as its own feature have this form (scalers, imputers that drop
 * nothing): after a ColumnTransformer or an encoder, features are no longer the inputs.
 */
import type { LinearStructure, Link, TreeStructure } from '../model-structure.js';
import { treeDepth } from '../model-structure.js';
import { nextNode } from '../lightgbm/lightgbm-model.js';
import type { CompiledModel, TreeModel } from './compile.js';
import { applySteps, treeInput, treeMargins } from './evaluate.js';

function linkOf(m: TreeModel): Link {
  if (m.aggregate === 'mean-proba') return { kind: 'probability' };
  if (m.aggregate === 'mean') return { kind: 'identity' };
  switch (m.link) {
    case 'gb-binomial':
    case 'hgb-binomial': return { kind: 'sigmoid', scale: 1 };
    case 'gb-exponential': return { kind: 'sigmoid', scale: 2 };
    case 'gb-multinomial':
    case 'softmax': return { kind: 'softmax' };
    case 'exp': return { kind: 'exp' };
    default: return { kind: 'identity' };
  }
}

export function sklearnStructure(model: CompiledModel): TreeStructure | undefined {
  const m = model.estimator;
  if (m.kind !== 'trees' || model.types) return undefined;
  for (const s of model.steps) if (s.op === 'columns' || s.op === 'poly' || (s.op === 'impute' && s.keep.length !== model.features)) return undefined;
  const f = m.forest;
  if (!f.cover) return undefined;
  const N = f.feature.length;
  const T = f.roots.length;
  const boost = m.aggregate === 'boost';
  const G = boost ? m.classesPerStage : m.width;
  // Forests: one copy of the nodes per class value; boosting: tree t feeds group t mod G.
  const copies = boost ? 1 : G;
  const feature = new Int32Array(N * copies);
  const left = new Int32Array(N * copies);
  const right = new Int32Array(N * copies);
  const value = new Float64Array(N * copies);
  const cover = new Float64Array(N * copies);
  for (let c = 0; c < copies; c++) {
    const o = c * N;
    for (let n = 0; n < N; n++) {
      const j = f.feature[n]!;
      feature[o + n] = j;
      cover[o + n] = f.cover[n]!;
      if (j < 0) value[o + n] = m.leaves[f.kid[n]! * m.width + c]!;
      else {
        left[o + n] = o + f.kid[n]!;
        right[o + n] = o + f.kid[n]! + 1;
      }
    }
  }
  const roots = new Int32Array(T * copies);
  const groups = new Int32Array(T * copies);
  const scale = new Float64Array(T * copies).fill(boost ? m.scale : 1 / T);
  for (let c = 0; c < copies; c++) {
    for (let t = 0; t < T; t++) {
      roots[c * T + t] = c * N + f.roots[t]!;
      groups[c * T + t] = boost ? t % G : c;
    }
  }
  const F = model.features;
  return {
    kind: 'trees',
    numFeature: F,
    numGroup: G,
    base: boost ? Float64Array.from(m.init) : new Float64Array(G),
    link: linkOf(m),
    roots,
    groups,
    scale,
    feature,
    left,
    right,
    value,
    cover,
    maxDepth: treeDepth(roots, feature, left, right),
    route(x: Float64Array, offset: number, goesLeft: Uint8Array): void {
      const steps = applySteps(model, x.slice(offset, offset + F), null, 1);
      const row = treeInput(m, steps.x, 1, steps.width);
      for (let n = 0; n < N; n++) {
        const j = f.feature[n]!;
        if (j < 0) continue;
        const left = nextNode(f, n, row[j]!) === f.kid[n]! ? 1 : 0;
        for (let c = 0; c < copies; c++) goesLeft[c * N + n] = left;
      }
    },
    margins(x: Float64Array, rows: number): Float64Array {
      const steps = applySteps(model, x, null, rows);
      return treeMargins(m, steps.x, rows, steps.width);
    },
  };
}

/** Decision values' links in explanation terms (ovr, modified_huber, none: the margin only). */
function linearLink(link: string): Link {
  if (link === 'logistic') return { kind: 'sigmoid', scale: 1 };
  // Binary multinomial LogisticRegression: p = softmax([−d, d])₁ = sigmoid(2d).
  if (link === 'softmax2') return { kind: 'sigmoid', scale: 2 };
  if (link === 'softmax') return { kind: 'softmax' };
  if (link === 'exp') return { kind: 'exp' };
  return { kind: 'identity' };
}

/**
 * A scikit-learn linear model with its scalers folded in, for exact linear attributions: every
 * step before the estimator is per column x ↦ a·x + d (StandardScaler, RobustScaler, MaxAbsScaler,
 * MinMaxScaler without clip), so the decision value is linear in the inputs with weights coef·a; a
 * SimpleImputer of NaN that keeps every column gives the value a missing input takes. Encoders,
 * column transformers and clipping are not affine: no structure then.
 */
export function sklearnLinearStructure(model: CompiledModel): LinearStructure | undefined {
  const m = model.estimator;
  if (m.kind !== 'linear' || model.types) return undefined;
  const F = model.features;
  const a = new Float64Array(F).fill(1);
  const d = new Float64Array(F);
  let fill: Float64Array | undefined;
  for (const s of model.steps) {
    if (s.op === 'columns' || s.op === 'poly') return undefined;
    if (s.op === 'impute') {
      if (s.keep.length !== F || s.keep.some((c, j) => c !== j) || !Number.isNaN(s.missing)) return undefined;
      // Only the first imputer sees missing values; its statistic is in the space of the steps before it.
      fill ??= Float64Array.from(s.statistics, (v, j) => (v - d[j]!) / a[j]!);
      continue;
    }
    if (s.op === 'minmax' && s.clip) return undefined;
    for (let j = 0; j < F; j++) {
      let mul = 1;
      let add = 0;
      if (s.op === 'standard' || s.op === 'robust') {
        const c = s.op === 'standard' ? s.mean : s.center;
        const sc = s.scale?.[j] ?? 1;
        mul = 1 / sc;
        add = -(c?.[j] ?? 0) / sc;
      } else if (s.op === 'maxabs') {
        mul = 1 / s.scale[j]!;
      } else {
        mul = s.scale[j]!;
        add = s.min[j]!;
      }
      a[j] = a[j]! * mul;
      d[j] = d[j]! * mul + add;
    }
  }
  const G = m.outputs;
  const weights = new Float64Array(F * G);
  const bias = Float64Array.from(m.intercept);
  for (let g = 0; g < G; g++) {
    for (let j = 0; j < F; j++) {
      const c = m.coef[g * F + j]!;
      weights[j * G + g] = c * a[j]!;
      bias[g] = bias[g]! + c * d[j]!;
    }
  }
  return {
    kind: 'linear', numFeature: F, numGroup: G, weights, bias, link: linearLink(m.link), missingAs: 'mean', fill,
    // The runtime's own steps and decision values (so the residual shows any rounding of the folding).
    margins(x: Float64Array, rows: number): Float64Array {
      const steps = applySteps(model, x, null, rows);
      const out = new Float64Array(rows * G);
      for (let r = 0; r < rows; r++) {
        for (let g = 0; g < G; g++) {
          let sum = 0;
          for (let j = 0; j < steps.width; j++) sum += steps.x[r * steps.width + j]! * m.coef[g * steps.width + j]!;
          out[r * G + g] = sum + m.intercept[g]!;
        }
      }
      return out;
    },
  };
}

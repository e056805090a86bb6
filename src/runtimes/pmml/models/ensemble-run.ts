/**
 * Scoring a tree ensemble's flat layout (models/ensemble.ts builds it) over a batch: each tree
 * walked over the whole batch (tree outer, row inner) from one row-major Float64Array, adding into
 * reusable typed arrays, sums in segment order per row as the general path does. Dependency-free
 * (type imports only): the server's batch kernel and an exported package's PMML ensemble evaluator
 * both score with this one function.
 */
import type { EnsembleLayout } from '../types.js';

/** Missing-value strategies of a tree (`BinaryTree.mode`, `EnsembleLayout.mode`): none, lastPrediction, nullPrediction, defaultChild. */
export const TREE_MODES = { NONE: 0, LAST: 1, NULL: 2, DEFAULT: 3 } as const;

/** Leaf kinds: the tree gives no prediction at this node (classification: skipped, regression: the row is missing), or its outcome is used. */
const SKIP = 0;

/**
 * Writes `value[r]` (regression: the prediction; classification: the index of the predicted category;
 * NaN: missing) and for classification `probabilities[r * K + k]` (NaN when the row has no probabilities).
 * `x` holds `rows × fields.length` values, NaN = missing.
 */
export type EnsembleRun = (x: Float64Array, rows: number, value: Float64Array, probabilities: Float64Array) => void;

/** The batch scorer of a layout (it keeps reusable buffers: one per kernel). */
export function ensembleRun(layout: EnsembleLayout): EnsembleRun {
  const { method, classification, vote, fields, root, mode, returnLast, weight, feature, thr, strict, left, right, rightAlways, dflt, kind, leafValue, leafVector } = layout;
  const K = classification ? layout.categories.length : 0;
  const T = root.length;
  const F = fields.length;
  const { LAST, NULL, DEFAULT } = TREE_MODES;
  /** The node tree t ends at for row r (-1: no prediction). Exactly the walk of tree.ts's binaryForm. */
  const walk = (x: Float64Array, off: number, t: number): number => {
    let node = root[t]!;
    for (;;) {
      const l = left[node]!;
      if (l < 0) return node;
      const v = x[off + feature[node]!]!;
      if (v !== v) {
        const m = mode[t]!;
        if (m === LAST) return node;
        if (m === NULL) return -1;
        if (m === DEFAULT) {
          const d = dflt[node]!;
          if (d < 0) return node;
          node = d;
          continue;
        }
        if (rightAlways[node] === 1) { node = right[node]!; continue; }
        return returnLast[t] === 1 ? node : -1;
      }
      const th = thr[node]!;
      node = (strict[node] === 1 ? v < th : v <= th) ? l : right[node]!;
    }
  };

  // Reusable per-batch accumulators (grown when a larger batch comes).
  let count = new Float64Array(0);
  let sw = new Float64Array(0);
  let acc = new Float64Array(0);
  let first = new Int32Array(0);
  const grow = (rows: number): void => {
    if (count.length >= rows) return;
    count = new Float64Array(rows);
    sw = new Float64Array(rows);
    acc = new Float64Array(rows * Math.max(K, 1));
    first = new Int32Array(rows * Math.max(K, 1));
  };

  const weighted = method === 'weightedAverage' || method === 'weightedMajorityVote' || method === 'weightedSum';

  const runRegression = (x: Float64Array, rows: number, value: Float64Array): void => {
    acc.fill(0, 0, rows);
    sw.fill(0, 0, rows);
    count.fill(0, 0, rows); // 1: the row is missing
    for (let t = 0; t < T; t++) {
      const w = weight[t]!;
      for (let r = 0, off = 0; r < rows; r++, off += F) {
        if (count[r] === 1) continue;
        const node = walk(x, off, t);
        if (node < 0 || kind[node] === SKIP) { count[r] = 1; continue; }
        const v = leafValue[node]!;
        if (weighted) {
          acc[r] = acc[r]! + v * w;
          sw[r] = sw[r]! + w;
        } else acc[r] = acc[r]! + v;
      }
    }
    for (let r = 0; r < rows; r++) {
      if (count[r] === 1) { value[r] = Number.NaN; continue; }
      const s = acc[r]!;
      value[r] = method === 'average' ? s / T : method === 'weightedAverage' ? s / sw[r]! : s;
    }
  };

  const runVectors = (x: Float64Array, rows: number, value: Float64Array, probabilities: Float64Array): void => {
    acc.fill(0, 0, rows * K);
    count.fill(0, 0, rows);
    sw.fill(0, 0, rows);
    for (let t = 0; t < T; t++) {
      const w = weight[t]!;
      for (let r = 0, off = 0; r < rows; r++, off += F) {
        const node = walk(x, off, t);
        if (node < 0 || kind[node] === SKIP) continue;
        count[r] = count[r]! + 1;
        sw[r] = sw[r]! + w;
        const a = r * K;
        const v = node * K;
        if (weighted) for (let k = 0; k < K; k++) acc[a + k] = acc[a + k]! + leafVector[v + k]! * w;
        else for (let k = 0; k < K; k++) acc[a + k] = acc[a + k]! + leafVector[v + k]!;
      }
    }
    for (let r = 0; r < rows; r++) {
      const a = r * K;
      if (count[r] === 0) {
        value[r] = Number.NaN;
        probabilities.fill(Number.NaN, a, a + K);
        continue;
      }
      const divide = method === 'sum' ? 1 : weighted ? sw[r]! : count[r]!;
      let best = 0;
      for (let k = 0; k < K; k++) {
        probabilities[a + k] = acc[a + k]! / divide;
        if (acc[a + k]! > acc[a + best]!) best = k;
      }
      value[r] = best;
    }
  };

  const runVotes = (x: Float64Array, rows: number, value: Float64Array, probabilities: Float64Array): void => {
    acc.fill(0, 0, rows * K);
    first.fill(-1, 0, rows * K);
    sw.fill(0, 0, rows);
    for (let t = 0; t < T; t++) {
      const w = weighted ? weight[t]! : 1;
      for (let r = 0, off = 0; r < rows; r++, off += F) {
        const node = walk(x, off, t);
        if (node < 0 || kind[node] === SKIP) continue;
        const i = r * K + leafValue[node]!;
        acc[i] = acc[i]! + w;
        if (first[i]! < 0) first[i] = t;
        sw[r] = sw[r]! + w;
      }
    }
    for (let r = 0; r < rows; r++) {
      const a = r * K;
      // The general path ranks categories in the order they first got a vote; the first highest wins.
      let best = -1;
      for (let k = 0; k < K; k++) {
        if (first[a + k]! < 0) continue;
        if (best < 0 || acc[a + k]! > acc[a + best]! || (acc[a + k] === acc[a + best] && first[a + k]! < first[a + best]!)) best = k;
      }
      if (best < 0) {
        value[r] = Number.NaN;
        probabilities.fill(Number.NaN, a, a + K);
        continue;
      }
      for (let k = 0; k < K; k++) probabilities[a + k] = first[a + k]! < 0 ? 0 : acc[a + k]! / sw[r]!;
      value[r] = best;
    }
  };

  return (x, rows, value, probabilities) => {
    grow(rows);
    if (!classification) runRegression(x, rows, value);
    else if (vote) runVotes(x, rows, value, probabilities);
    else runVectors(x, rows, value, probabilities);
  };
}

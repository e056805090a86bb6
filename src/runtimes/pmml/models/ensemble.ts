/**
 * The batch path of a MiningModel whose segments are all `<True/>` binary trees over numeric fields
 * (see docs/design/pmml.md, Performance): every tree is copied into one flat layout — threshold
 * Float64Array, field Int32Array, children, per-node leaf outcome — and the ensemble walks each tree
 * over the whole batch (tree outer, row inner) from one row-major Float64Array, adding into reusable
 * typed arrays. Sums run in segment order per row, as the general path does, so results are identical
 * (test/pmml-runtime.test.ts compares both paths, missing inputs included). Undefined whenever a tree,
 * a leaf or the method is outside what this layout expresses exactly; the general path then scores.
 */
import type { BatchKernel, NumericKernel, Prediction, Value } from '../types.js';
import { parseNumber, valueKey } from '../values.js';
import { TREE_MODES } from './tree.js';
import { ensembleStructure } from './ensemble-structure.js';

export interface EnsembleSegment {
  readonly numeric: NumericKernel;
  /** Index into the ensemble's `fields` of each of the kernel's fields. */
  readonly slots: Int32Array;
  readonly weight: number;
}

export interface EnsembleSpec {
  readonly method: string;
  readonly classification: boolean;
  readonly fields: readonly string[];
  readonly segments: readonly EnsembleSegment[];
  /** Classification: the target's declared categories and their typed values (as the general path parses them). */
  readonly categories: readonly string[];
  readonly categoryValues: readonly Value[];
}

const VECTOR_METHODS = new Set(['average', 'weightedAverage', 'sum']);
const VOTE_METHODS = new Set(['majorityVote', 'weightedMajorityVote']);
const REGRESSION_METHODS = new Set(['sum', 'weightedSum', 'average', 'weightedAverage']);

/** Leaf kinds. */
const SKIP = 0; // the tree gives no prediction at this node (classification: skipped, regression: the row is missing)
const USE = 1;

export function compileEnsemble(spec: EnsembleSpec): BatchKernel | undefined {
  const { method, classification, fields, segments, categories } = spec;
  if (segments.length === 0) return undefined;
  if (classification ? categories.length === 0 || !(VECTOR_METHODS.has(method) || VOTE_METHODS.has(method)) : !REGRESSION_METHODS.has(method)) return undefined;
  if (!segments.every((s) => s.numeric.binary && s.numeric.outcomes)) return undefined;
  const K = categories.length;
  const catIndex = new Map(categories.map((c, i) => [c, i]));
  const vote = VOTE_METHODS.has(method);

  // One flat layout for all trees: node indexes are global, children adjacent to nothing in particular
  // but in the same arrays, so one tree walk touches only these typed arrays.
  const total = segments.reduce((n, s) => n + s.numeric.binary!.left.length, 0);
  const T = segments.length;
  const root = new Int32Array(T);
  const mode = new Uint8Array(T);
  const returnLast = new Uint8Array(T);
  const weight = new Float64Array(T);
  const feature = new Int32Array(total);
  const thr = new Float64Array(total);
  const strict = new Uint8Array(total);
  const left = new Int32Array(total);
  const right = new Int32Array(total);
  const rightAlways = new Uint8Array(total);
  const dflt = new Int32Array(total);
  const cover = new Float64Array(total);
  const kind = new Uint8Array(total);
  /** Regression: the node's value; majority vote: its category index. */
  const leafValue = new Float64Array(total);
  /** Vector vote: the node's probabilities over the categories. */
  const leafVector = new Float64Array(VECTOR_METHODS.has(method) && classification ? total * K : 0);
  let base = 0;
  for (let t = 0; t < T; t++) {
    const s = segments[t]!;
    const b = s.numeric.binary!;
    const outcomes = s.numeric.outcomes!;
    root[t] = base;
    mode[t] = b.mode;
    returnLast[t] = b.returnLast ? 1 : 0;
    weight[t] = s.weight;
    const n = b.left.length;
    for (let i = 0; i < n; i++) {
      const g = base + i;
      const l = b.left[i]!;
      feature[g] = l < 0 ? 0 : s.slots[b.slot[i]!]!;
      thr[g] = b.thr[i]!;
      strict[g] = b.strict[i]!;
      left[g] = l < 0 ? -1 : base + l;
      right[g] = l < 0 ? -1 : base + b.right[i]!;
      rightAlways[g] = b.rightAlways[i]!;
      dflt[g] = b.dflt[i]! < 0 ? -1 : base + b.dflt[i]!;
      cover[g] = b.cover[i]!;
      const p: Prediction | undefined = outcomes[i];
      if (!p) return undefined;
      if (!classification) {
        // As the general path: a missing value makes the row missing; anything else is read as a number.
        kind[g] = p.value === null ? SKIP : USE;
        leafValue[g] = p.value === null ? 0 : typeof p.value === 'number' ? p.value : parseNumber(String(p.value));
      } else if (vote) {
        if (p.value === null) { kind[g] = SKIP; continue; }
        const k = catIndex.get(String(p.value));
        // The general path returns the tree's own value: only when it is the category's typed value.
        if (k === undefined || valueKey(p.value) !== valueKey(spec.categoryValues[k]!) || typeof p.value !== typeof spec.categoryValues[k]) return undefined;
        kind[g] = USE;
        leafValue[g] = k;
      } else {
        if (!p.probabilities && p.value === null) { kind[g] = SKIP; continue; }
        const entries = p.probabilities ? [...p.probabilities] : [[String(p.value), 1] as const];
        for (const [c, x] of entries) {
          const k = catIndex.get(c);
          if (k === undefined) return undefined; // a category the target does not declare: general path
          leafVector[g * K + k] = x;
        }
        kind[g] = USE;
      }
    }
    base += n;
  }

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

  const margins = (x: Float64Array, rows: number): Float64Array => {
    const value = new Float64Array(rows);
    const probabilities = new Float64Array(rows * K);
    grow(rows);
    if (classification) runVectors(x, rows, value, probabilities);
    else runRegression(x, rows, value);
    return classification ? probabilities : value;
  };
  return {
    fields,
    categories: classification ? categories : [],
    layout: () => ({ method, classification, vote, fields, categories: classification ? categories : [], root, mode, returnLast, weight, feature, thr, strict, left, right, rightAlways, dflt, kind, leafValue, leafVector }),
    structure: () => (vote ? undefined : ensembleStructure({
      method, fields, groups: classification ? K : 1, root, mode, returnLast, weight, feature, thr, strict, left, right, rightAlways, dflt, cover, kind, leafValue, leafVector, margins,
    })),
    run(x, rows, value, probabilities) {
      grow(rows);
      if (!classification) runRegression(x, rows, value);
      else if (vote) runVotes(x, rows, value, probabilities);
      else runVectors(x, rows, value, probabilities);
    },
  };
}

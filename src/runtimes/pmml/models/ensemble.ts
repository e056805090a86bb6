/**
 * The batch path of a MiningModel whose segments are all `<True/>` binary trees over numeric fields
 * (see docs/design/pmml.md, Performance): every tree is copied into one flat layout — threshold
 * Float64Array, field Int32Array, children, per-node leaf outcome — scored by ensemble-run.ts, which
 * walks each tree over the whole batch (tree outer, row inner) from one row-major Float64Array. Sums run in segment order per row, as the general path does, so results are identical
 * (test/pmml-runtime.test.ts compares both paths, missing inputs included). Undefined whenever a tree,
 * a leaf or the method is outside what this layout expresses exactly; the general path then scores.
 */
import type { BatchKernel, EnsembleLayout, NumericKernel, Prediction, Value } from '../types.js';
import { parseNumber, valueKey } from '../values.js';
import { ensembleRun } from './ensemble-run.js';
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

  const layout: EnsembleLayout = { method, classification, vote, fields, categories: classification ? categories : [], root, mode, returnLast, weight, feature, thr, strict, left, right, rightAlways, dflt, kind, leafValue, leafVector };
  const run = ensembleRun(layout);
  const margins = (x: Float64Array, rows: number): Float64Array => {
    const value = new Float64Array(rows);
    const probabilities = new Float64Array(rows * K);
    run(x, rows, value, probabilities);
    return classification ? probabilities : value;
  };
  return {
    fields,
    categories: layout.categories,
    layout: () => layout,
    structure: () => (vote ? undefined : ensembleStructure({ ...layout, groups: classification ? K : 1, cover, margins })),
    run,
  };
}

/**
 * A RegressionModel whose tables hold only NumericPredictors, as arrays, and its arithmetic: each
 * table's margin (intercept, then coefficient · x^exponent in document order), the normalization
 * method, the predicted category. Dependency-free: regression.ts scores rows with these functions,
 * its batch kernel (regression-batch.ts) scores batches with them, and an exported package scores
 * with the same batch kernel without the PMML engine.
 */
import { normalCdf } from '../normal.js';

export interface RegressionLayout {
  readonly method: string;
  readonly classification: boolean;
  /** Classification over an ordinal target with more than two categories: cumulative probabilities. */
  readonly ordinal: boolean;
  readonly fields: readonly string[];
  /** Classification: each table's targetCategory, in table order; empty for regression. */
  readonly categories: readonly string[];
  /** Per table. */
  readonly intercept: Float64Array;
  /** Table t's predictors are `start[t]` to `start[t + 1]`. */
  readonly start: Int32Array;
  /** Per predictor: its field (index into `fields`), coefficient and exponent. */
  readonly slot: Int32Array;
  readonly coefficient: Float64Array;
  readonly exponent: Float64Array;
}

/**
 * The inverse link of each normalization method, one entry a line: an exported package keeps the
 * methods its document's RegressionModels name (src/edge/narrowing.ts).
 */
const NORMALIZATIONS: Readonly<Record<string, (y: number) => number>> = {
  none: (y) => y,
  logit: (y) => 1 / (1 + Math.exp(-y)),
  probit: normalCdf,
  cloglog: (y) => 1 - Math.exp(-Math.exp(y)),
  loglog: (y) => Math.exp(-Math.exp(-y)),
  cauchit: (y) => 0.5 + Math.atan(y) / Math.PI,
  exp: Math.exp,
};

/** The inverse link of a normalization method applied to one value. */
export function inverseLink(method: string): ((y: number) => number) | undefined {
  return Object.hasOwn(NORMALIZATIONS, method) ? NORMALIZATIONS[method] : undefined;
}

/** A regression's link (softmax of one value is the logistic function); undefined: not supported. */
export function regressionLink(method: string): ((y: number) => number) | undefined {
  return method === 'softmax' ? (y: number) => 1 / (1 + Math.exp(-y)) : inverseLink(method);
}

/** Table t's margin for the row at `x[off…]` (every field present). */
export function tableMargin(L: RegressionLayout, t: number, x: Float64Array, off: number): number {
  let y = L.intercept[t]!;
  for (let i = L.start[t]!, end = L.start[t + 1]!; i < end; i++) {
    const v = x[off + L.slot[i]!]!;
    const e = L.exponent[i]!;
    y += L.coefficient[i]! * (e === 1 ? v : Math.pow(v, e));
  }
  return y;
}

/**
 * Classification: the categories' probabilities `p` from the tables' margins `y` (k of each) under
 * `method`; returns the index of the predicted category (the first highest).
 */
export function classProbabilities(method: string, ordinal: boolean, link: ((y: number) => number) | undefined, y: Float64Array, k: number, p: Float64Array): number {
  if (method === 'softmax') {
    let max = -Infinity;
    for (let i = 0; i < k; i++) max = Math.max(max, y[i]!);
    let sum = 0;
    for (let i = 0; i < k; i++) { p[i] = Math.exp(y[i]! - max); sum += p[i]!; }
    for (let i = 0; i < k; i++) p[i] = p[i]! / sum;
  } else if (method === 'simplemax') {
    let sum = 0;
    for (let i = 0; i < k; i++) sum += y[i]!;
    for (let i = 0; i < k; i++) p[i] = y[i]! / sum;
  } else if (ordinal && k > 2) {
    // Cumulative probabilities: P(Y <= c_i) = link(y_i); the last category takes the rest.
    let prev = 0;
    for (let i = 0; i < k - 1; i++) { const c = link!(y[i]!); p[i] = c - prev; prev = c; }
    p[k - 1] = 1 - prev;
  } else if (k === 2) {
    p[0] = link!(y[0]!);
    p[1] = 1 - link!(y[0]!);
  } else {
    let sum = 0;
    for (let i = 0; i < k - 1; i++) { p[i] = link!(y[i]!); sum += p[i]!; }
    p[k - 1] = method === 'none' ? 1 - sum : link!(y[k - 1]!);
  }
  let best = 0;
  for (let i = 1; i < k; i++) if (p[i]! > p[best]!) best = i;
  return best;
}

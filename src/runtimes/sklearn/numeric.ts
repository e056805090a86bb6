/**
 * Arithmetic shared by the scikit-learn evaluators and model compilers, as numpy does it
 * (pairwise summation, first-maximum argmax), and how a document value is shown in messages.
 */
import type { DocValue } from './document.js';
import type { Step } from './compile.js';

/** The columns a step gives for the `width` it receives (the compiler and column branches both track it). */
export function stepWidth(step: Step, width: number): number {
  if (step.op === 'impute') return step.keep.length;
  if (step.op === 'columns') return step.width;
  if (step.op === 'poly') return step.offsets.length - 1;
  return width;
}

export function show(v: DocValue | undefined): string {
  return v === undefined ? 'absent' : ArrayBuffer.isView(v) ? 'an array' : JSON.stringify(v).slice(0, 40);
}

/**
 * Softmax of one row in place, as both sklearn.utils.extmath.softmax and the MLP's output layer
 * compute it: subtract the max, exp, divide by numpy's sum.
 */
export function softmax(p: Float64Array, o: number, K: number): void {
  let max = p[o]!;
  for (let k = 1; k < K; k++) max = Math.max(max, p[o + k]!);
  for (let k = 0; k < K; k++) p[o + k] = Math.exp(p[o + k]! - max);
  const sum = numpySum(p, o, K);
  for (let k = 0; k < K; k++) p[o + k] = p[o + k]! / sum;
}

/** numpy's argmax: the first maximum. */
export function argmax(v: Float64Array, o: number, K: number): number {
  let best = 0;
  for (let k = 1; k < K; k++) if (v[o + k]! > v[o + best]!) best = k;
  return best;
}

/** numpy's pairwise summation of k contiguous doubles (k ≤ 128: eight running sums past 8 values). */
export function numpySum(v: ArrayLike<number>, from: number, k: number): number {
  if (k < 8) {
    let s = 0;
    for (let j = 0; j < k; j++) s += v[from + j]!;
    return s;
  }
  if (k > 128) {
    const half = Math.floor(k / 2 / 8) * 8;
    return numpySum(v, from, half) + numpySum(v, from + half, k - half);
  }
  const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => v[from + j]!);
  let j = 8;
  for (; j < k - (k % 8); j += 8) for (let m = 0; m < 8; m++) r[m] = r[m]! + v[from + j + m]!;
  let s = ((r[0]! + r[1]!) + (r[2]! + r[3]!)) + ((r[4]! + r[5]!) + (r[6]! + r[7]!));
  for (; j < k; j++) s += v[from + j]!;
  return s;
}

/**
 * Kernel support vector machines (SVC, NuSVC, SVR, NuSVR) as scikit-learn 1.2's libsvm scores
 * them: the kernel of the row with every support vector (sums in libsvm's order), one decision
 * value per pair of classes (one-vs-one) with libsvm's coefficients and −rho, labels by vote
 * (ties to the first class), and — for models fitted with probability=True — libsvm's Platt
 * sigmoids per pair, clipped to [1e-7, 1 − 1e-7] and coupled into class probabilities by
 * libsvm's iterative method (multiclass_probability, for two classes too, as scikit-learn's libsvm does).
 */
import { DocumentError, type DocValue } from './document.js';
import type { Scores } from './evaluate.js';

type Obj = Readonly<Record<string, DocValue>>;

export interface SvmModel {
  readonly kind: 'svm';
  readonly kernel: 'linear' | 'poly' | 'rbf' | 'sigmoid';
  readonly gamma: number;
  readonly coef0: number;
  readonly degree: number;
  /** Support vectors, row-major (nSV × width), grouped by class as libsvm keeps them. */
  readonly sv: Float64Array;
  /** libsvm's sv_coef: (K − 1) × nSV for K classes, 1 × nSV for regression. */
  readonly coef: Float64Array;
  /** libsvm's rho per pair of classes (−intercept), one for regression. */
  readonly rho: Float64Array;
  /** Support vectors per class (classification). */
  readonly counts: Int32Array;
  /** Platt sigmoid parameters per pair, when fitted with probability=True. */
  readonly probA: Float64Array | undefined;
  readonly probB: Float64Array | undefined;
}

const KERNELS = new Set(['linear', 'poly', 'rbf', 'sigmoid']);

function f64(v: DocValue | undefined, what: string, length?: number): Float64Array {
  if (!(v instanceof Float64Array) || (length !== undefined && v.length !== length)) throw new DocumentError(`${what} is not a float64 array${length === undefined ? '' : ` of ${length} values`}`);
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) throw new DocumentError(`${what}[${i}] is not finite`);
  return v;
}

/** Check an `svm` estimator node against the input width and the classes. */
export function compileSvm(e: Obj, width: number, classes: readonly (string | number)[] | null): SvmModel {
  const kernel = e.kernel;
  if (typeof kernel !== 'string' || !KERNELS.has(kernel)) throw new DocumentError(`estimator.kernel ${typeof kernel === 'string' ? kernel : typeof kernel} is unknown`);
  const num = (v: DocValue | undefined, what: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new DocumentError(`estimator.${what} is not a number`);
    return v;
  };
  const sv = f64(e.sv, 'estimator.sv');
  const n = sv.length / width;
  if (!Number.isInteger(n) || n < 1) throw new DocumentError(`estimator.sv is not rows of ${width} features`);
  const K = classes?.length ?? 0;
  const pairs = classes ? (K * (K - 1)) / 2 : 1;
  const coef = f64(e.coef, 'estimator.coef', (classes ? K - 1 : 1) * n);
  const rho = f64(e.rho, 'estimator.rho', pairs);
  const counts = e.counts;
  if (classes && (!(counts instanceof Int32Array) || counts.length !== K || counts.some((c) => c < 0) || counts.reduce((a, b) => a + b, 0) !== n)) throw new DocumentError(`estimator.counts are not ${K} class counts adding up to ${n}`);
  const probA = e.probA === undefined || e.probA === null ? undefined : f64(e.probA, 'estimator.probA', pairs);
  const probB = e.probB === undefined || e.probB === null ? undefined : f64(e.probB, 'estimator.probB', pairs);
  if ((probA === undefined) !== (probB === undefined)) throw new DocumentError('estimator.probA and probB go together');
  const degree = num(e.degree, 'degree');
  if (!Number.isInteger(degree) || degree < 0) throw new DocumentError('estimator.degree is not a whole number');
  return {
    kind: 'svm', kernel: kernel as SvmModel['kernel'], gamma: num(e.gamma, 'gamma'), coef0: num(e.coef0, 'coef0'), degree, sv, coef, rho,
    counts: counts instanceof Int32Array ? counts : new Int32Array(0), probA, probB,
  };
}

/** libsvm's powi: base^times by squaring. */
function powi(base: number, times: number): number {
  let tmp = base;
  let ret = 1;
  for (let t = times; t > 0; t = Math.trunc(t / 2)) {
    if (t % 2 === 1) ret *= tmp;
    tmp *= tmp;
  }
  return ret;
}

/** The kernel of row `o` of `x` with every support vector, into `out`. */
function kernels(m: SvmModel, x: Float64Array, o: number, width: number, out: Float64Array): void {
  const { sv } = m;
  for (let s = 0; s < out.length; s++) {
    const b = s * width;
    if (m.kernel === 'rbf') {
      let sum = 0;
      for (let j = 0; j < width; j++) {
        const d = x[o + j]! - sv[b + j]!;
        sum += d * d;
      }
      out[s] = Math.exp(-m.gamma * sum);
      continue;
    }
    let dot = 0;
    for (let j = 0; j < width; j++) dot += x[o + j]! * sv[b + j]!;
    out[s] = m.kernel === 'linear' ? dot : m.kernel === 'poly' ? powi(m.gamma * dot + m.coef0, m.degree) : Math.tanh(m.gamma * dot + m.coef0);
  }
}

/** libsvm's sigmoid_predict. */
function sigmoid(dec: number, a: number, b: number): number {
  const f = dec * a + b;
  return f >= 0 ? Math.exp(-f) / (1 + Math.exp(-f)) : 1 / (1 + Math.exp(f));
}

const MIN_PROB = 1e-7;

/** libsvm's multiclass_probability: class probabilities from pairwise ones (r[i][j] = P(i | i or j)), into p at o. */
function couple(k: number, r: Float64Array, p: Float64Array, o: number): void {
  const Q = new Float64Array(k * k);
  const Qp = new Float64Array(k);
  const eps = 0.005 / k;
  const maxIter = Math.max(100, k);
  for (let t = 0; t < k; t++) {
    p[o + t] = 1 / k;
    Q[t * k + t] = 0;
    for (let j = 0; j < t; j++) {
      Q[t * k + t] = Q[t * k + t]! + r[j * k + t]! * r[j * k + t]!;
      Q[t * k + j] = Q[j * k + t]!;
    }
    for (let j = t + 1; j < k; j++) {
      Q[t * k + t] = Q[t * k + t]! + r[j * k + t]! * r[j * k + t]!;
      Q[t * k + j] = -r[j * k + t]! * r[t * k + j]!;
    }
  }
  for (let iter = 0; iter < maxIter; iter++) {
    let pQp = 0;
    for (let t = 0; t < k; t++) {
      Qp[t] = 0;
      for (let j = 0; j < k; j++) Qp[t] = Qp[t]! + Q[t * k + j]! * p[o + j]!;
      pQp += p[o + t]! * Qp[t]!;
    }
    let maxError = 0;
    for (let t = 0; t < k; t++) maxError = Math.max(maxError, Math.abs(Qp[t]! - pQp));
    if (maxError < eps) break;
    for (let t = 0; t < k; t++) {
      const diff = (-Qp[t]! + pQp) / Q[t * k + t]!;
      p[o + t] = p[o + t]! + diff;
      pQp = (pQp + diff * (diff * Q[t * k + t]! + 2 * Qp[t]!)) / (1 + diff) / (1 + diff);
      for (let j = 0; j < k; j++) {
        Qp[j] = (Qp[j]! + diff * Q[t * k + j]!) / (1 + diff);
        p[o + j] = p[o + j]! / (1 + diff);
      }
    }
  }
}

export function scoreSvm(m: SvmModel, x: Float64Array, rows: number, width: number, classes: number): Scores {
  const n = m.sv.length / width;
  const kv = new Float64Array(n);
  if (classes === 0) {
    const values = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      kernels(m, x, r * width, width, kv);
      let sum = 0;
      for (let s = 0; s < n; s++) sum += m.coef[s]! * kv[s]!;
      values[r] = sum - m.rho[0]!;
    }
    return { probabilities: undefined, labels: undefined, values };
  }
  const K = classes;
  const start = new Int32Array(K);
  for (let i = 1; i < K; i++) start[i] = start[i - 1]! + m.counts[i - 1]!;
  const labels = new Int32Array(rows);
  const probabilities = m.probA ? new Float64Array(rows * K) : undefined;
  const dec = new Float64Array((K * (K - 1)) / 2);
  const vote = new Int32Array(K);
  const pairwise = new Float64Array(K * K);
  for (let r = 0; r < rows; r++) {
    kernels(m, x, r * width, width, kv);
    vote.fill(0);
    let p = 0;
    for (let i = 0; i < K; i++) {
      for (let j = i + 1; j < K; j++) {
        let sum = 0;
        const si = start[i]!;
        const sj = start[j]!;
        const c1 = (j - 1) * n;
        const c2 = i * n;
        for (let k = 0; k < m.counts[i]!; k++) sum += m.coef[c1 + si + k]! * kv[si + k]!;
        for (let k = 0; k < m.counts[j]!; k++) sum += m.coef[c2 + sj + k]! * kv[sj + k]!;
        sum -= m.rho[p]!;
        dec[p] = sum;
        if (sum > 0) vote[i] = vote[i]! + 1;
        else vote[j] = vote[j]! + 1;
        p++;
      }
    }
    let best = 0;
    for (let i = 1; i < K; i++) if (vote[i]! > vote[best]!) best = i;
    labels[r] = best;
    if (probabilities && m.probA && m.probB) {
      p = 0;
      for (let i = 0; i < K; i++) {
        for (let j = i + 1; j < K; j++) {
          const v = Math.min(Math.max(sigmoid(dec[p]!, m.probA[p]!, m.probB[p]!), MIN_PROB), 1 - MIN_PROB);
          pairwise[i * K + j] = v;
          pairwise[j * K + i] = 1 - v;
          p++;
        }
      }
      // scikit-learn's libsvm (3.10 with its own changes) couples two classes too, where later
      // libsvm takes the pairwise probability as it is: the iteration stops at 0.005 / K, so the
      // two differ by up to ~1e-3.
      couple(K, pairwise, probabilities, r * K);
    }
  }
  return { probabilities, labels, values: undefined };
}

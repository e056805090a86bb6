/**
 * MLPs, Gaussian naive Bayes and nearest neighbours: checked when a document is compiled, and
 * scored in scikit-learn 1.2's order of operations (MLPClassifier._forward_pass_fast,
 * GaussianNB._joint_log_likelihood + logsumexp, KNeighbors* kneighbors + vote or mean).
 */
import { DocumentError, type DocValue } from './document.js';
import { argmax, numpySum, softmax } from './numeric.js';
import type { Scores } from './evaluate.js';
import { compileModel, computeMargins, transformMargins, type CompiledModel as XgbModel } from '../xgboost/xgboost-model.js';
import { snapshotModel } from './convert/boosters.js';
import { rawScores, transformScores, type LgbmModel } from '../lightgbm/lightgbm-model.js';
import { compileLightgbm } from '../lightgbm/lightgbm-text.js';
import { compileSvm, scoreSvm, type SvmModel } from './svm.js';

type Obj = Readonly<Record<string, DocValue>>;

export interface MlpModel {
  readonly kind: 'mlp';
  readonly activation: string;
  readonly output: string;
  readonly layers: readonly { readonly weights: Float64Array; readonly bias: Float64Array; readonly inputs: number; readonly units: number }[];
}
export interface GnbModel {
  readonly kind: 'gnb';
  readonly theta: Float64Array;
  readonly variance: Float64Array;
  readonly prior: Float64Array;
  /** Per class: log(prior) − ½ Σ log(2π var), computed once as scikit-learn computes it per call. */
  readonly constant: Float64Array;
}
export interface KnnModel {
  readonly kind: 'knn';
  readonly k: number;
  readonly weights: 'uniform' | 'distance';
  /** The Minkowski power (1, 2, p), or −1 for Chebyshev. */
  readonly power: number;
  readonly fitX: Float64Array;
  readonly y: Float64Array;
}
export interface BoosterModel {
  readonly kind: 'xgboost';
  readonly model: XgbModel;
}
export interface LgbmWrapperModel {
  readonly kind: 'lightgbm';
  readonly model: LgbmModel;
}
export type OtherModel = MlpModel | GnbModel | KnnModel | BoosterModel | LgbmWrapperModel | SvmModel;

function f64(v: DocValue | undefined, what: string, length: number): Float64Array {
  if (!(v instanceof Float64Array) || v.length !== length) throw new DocumentError(`${what} is not a float64 array of ${length} values`);
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) throw new DocumentError(`${what}[${i}] is not finite`);
  return v;
}
function posInt(v: DocValue | undefined, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new DocumentError(`${what} is not a positive integer`);
  return v;
}

/** Check an `mlp`, `gnb` or `knn` estimator node against the input width and the classes. */
export function compileOther(e: Obj, width: number, classes: readonly (string | number)[] | null): OtherModel | undefined {
  const K = classes?.length ?? 0;
  if (e.kind === 'mlp') {
    const activation = typeof e.activation === 'string' ? e.activation : '';
    const output = typeof e.output === 'string' ? e.output : '';
    if (!['relu', 'tanh', 'logistic', 'identity'].includes(activation) || !['softmax', 'logistic', 'identity'].includes(output)) throw new DocumentError('estimator: unknown MLP activation');
    let inputs = width;
    const layers = (Array.isArray(e.layers) ? (e.layers as readonly DocValue[]) : []).map((l, i) => {
      const o = l as Obj;
      const units = posInt(o.units, `layers[${i}].units`);
      if (o.inputs !== inputs) throw new DocumentError(`layers[${i}] does not take the previous layer's ${inputs} outputs`);
      const layer = { weights: f64(o.weights, `layers[${i}].weights`, inputs * units), bias: f64(o.bias, `layers[${i}].bias`, units), inputs, units };
      inputs = units;
      return layer;
    });
    if (layers.length === 0) throw new DocumentError('an MLP without layers');
    if (inputs !== (classes ? (K === 2 ? 1 : K) : 1)) throw new DocumentError(`an output layer of ${inputs} units does not fit the classes`);
    return { kind: 'mlp', activation, output, layers };
  }
  if (e.kind === 'gnb') {
    if (!classes) throw new DocumentError('GaussianNB without classes');
    const theta = f64(e.theta, 'estimator.theta', K * width);
    const variance = f64(e.variance, 'estimator.variance', K * width);
    const prior = f64(e.prior, 'estimator.prior', K);
    const constant = new Float64Array(K);
    const logs = new Float64Array(width);
    for (let c = 0; c < K; c++) {
      for (let j = 0; j < width; j++) logs[j] = Math.log(2 * Math.PI * variance[c * width + j]!);
      constant[c] = Math.log(prior[c]!) + -0.5 * numpySum(logs, 0, width);
    }
    return { kind: 'gnb', theta, variance, prior, constant };
  }
  if (e.kind === 'xgboost') {
    const snapshot = e.snapshot;
    if (!(snapshot instanceof Uint8Array)) throw new DocumentError('estimator.snapshot is not the booster bytes');
    const model = compileModel(snapshotModel(snapshot, (d) => { throw new DocumentError(d); }));
    if (model.numFeature !== width) throw new DocumentError(`the booster takes ${model.numFeature} features, the pipeline gives ${width}`);
    if (classes ? !(K === 2 ? model.transform === 'sigmoid' && model.numGroup === 1 : model.transform === 'softmax' && model.numGroup === K) : model.numGroup !== 1) {
      throw new DocumentError(`objective ${model.objective} does not give ${classes ? `probabilities for ${K} classes` : 'one value per row'}`);
    }
    return { kind: 'xgboost', model };
  }
  if (e.kind === 'lightgbm') {
    if (!(e.text instanceof Uint8Array)) throw new DocumentError('estimator.text is not the booster text');
    const model = compileLightgbm(new TextDecoder('utf-8', { fatal: true }).decode(e.text));
    if (model.numFeature !== width) throw new DocumentError(`the booster takes ${model.numFeature} features, the pipeline gives ${width}`);
    const fits = classes ? (K === 2 ? model.kind === 'binary' : model.kind === 'multiclass' && model.numClass === K) : model.kind === 'regression';
    if (!fits) throw new DocumentError(`objective ${model.objective} does not give ${classes ? `probabilities for ${K} classes` : 'one value per row'}`);
    return { kind: 'lightgbm', model };
  }
  if (e.kind === 'svm') return compileSvm(e, width, classes);
  if (e.kind === 'knn') {
    const k = posInt(e.k, 'estimator.k');
    const weights = e.weights === 'distance' ? 'distance' : e.weights === 'uniform' ? 'uniform' : undefined;
    if (!weights) throw new DocumentError('estimator.weights is neither uniform nor distance');
    const power = typeof e.power === 'number' && (e.power === -1 || e.power >= 1) ? e.power : undefined;
    if (power === undefined) throw new DocumentError('estimator.power is not a Minkowski power');
    const fitX = e.fitX;
    if (!(fitX instanceof Float64Array) || fitX.length % width !== 0 || fitX.length === 0) throw new DocumentError(`estimator.fitX is not rows of ${width} features`);
    const n = fitX.length / width;
    if (k > n) throw new DocumentError(`k=${k} is more than the ${n} training rows`);
    const y = f64(e.y, 'estimator.y', n);
    if (classes) for (const c of y) if (!Number.isInteger(c) || c < 0 || c >= K) throw new DocumentError(`estimator.y holds ${c}, not a class index`);
    return { kind: 'knn', k, weights, power, fitX, y };
  }
  return undefined;
}

const expit = (v: number): number => 1 / (1 + Math.exp(-v));

export function scoreOther(m: OtherModel, x: Float64Array, rows: number, width: number, classes: number): Scores {
  switch (m.kind) {
    case 'svm': return scoreSvm(m, x, rows, width, classes);
    case 'mlp': return mlp(m, x, rows, classes);
    case 'gnb': return gnb(m, x, rows, width, classes);
    case 'knn': return knn(m, x, rows, width, classes);
    case 'xgboost': return booster(m, x, rows, classes);
    case 'lightgbm': return lgbm(m, x, rows, classes);
  }
}

function mlp(m: MlpModel, x: Float64Array, rows: number, classes: number): Scores {
  let a = x;
  m.layers.forEach((layer, i) => {
    const { weights, bias, inputs, units } = layer;
    const out = new Float64Array(rows * units);
    for (let r = 0; r < rows; r++) {
      for (let u = 0; u < units; u++) {
        let s = 0;
        for (let j = 0; j < inputs; j++) s += a[r * inputs + j]! * weights[j * units + u]!;
        out[r * units + u] = s + bias[u]!;
      }
    }
    const last = i === m.layers.length - 1;
    const act = last ? m.output : m.activation;
    if (act === 'relu') for (let q = 0; q < out.length; q++) out[q] = Math.max(out[q]!, 0);
    else if (act === 'tanh') for (let q = 0; q < out.length; q++) out[q] = Math.tanh(out[q]!);
    else if (act === 'logistic') for (let q = 0; q < out.length; q++) out[q] = expit(out[q]!);
    else if (act === 'softmax') for (let r = 0; r < rows; r++) softmax(out, r * units, units);
    a = out;
  });
  if (classes === 0) return { probabilities: undefined, labels: undefined, values: a };
  const labels = new Int32Array(rows);
  let probabilities: Float64Array;
  if (classes === 2) {
    probabilities = new Float64Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      probabilities[r * 2] = 1 - a[r]!;
      probabilities[r * 2 + 1] = a[r]!;
      labels[r] = a[r]! > 0.5 ? 1 : 0; // LabelBinarizer.inverse_transform's threshold
    }
  } else {
    probabilities = a;
    for (let r = 0; r < rows; r++) labels[r] = argmax(a, r * classes, classes);
  }
  return { probabilities, labels, values: undefined };
}

/** XGBClassifier.predict_proba / predict and XGBRegressor.predict, in xgboost's float32. */
function booster(m: BoosterModel, x: Float64Array, rows: number, classes: number): Scores {
  const out = transformMargins(m.model, computeMargins(m.model, Float32Array.from(x), rows), rows);
  if (classes === 0) return { probabilities: undefined, labels: undefined, values: Float64Array.from(out) };
  const labels = new Int32Array(rows);
  if (classes === 2) {
    const probabilities = new Float64Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      probabilities[r * 2] = Math.fround(1 - out[r]!);
      probabilities[r * 2 + 1] = out[r]!;
      labels[r] = out[r]! > 0.5 ? 1 : 0;
    }
    return { probabilities, labels, values: undefined };
  }
  const probabilities = Float64Array.from(out);
  for (let r = 0; r < rows; r++) labels[r] = argmax(probabilities, r * classes, classes);
  return { probabilities, labels, values: undefined };
}

/** LGBMClassifier.predict_proba (binary: [1 − p, p]) / predict (argmax), LGBMRegressor.predict. */
function lgbm(m: LgbmWrapperModel, x: Float64Array, rows: number, classes: number): Scores {
  const out = transformScores(m.model, rawScores(m.model, x, rows), rows);
  if (classes === 0) return { probabilities: undefined, labels: undefined, values: out };
  const labels = new Int32Array(rows);
  if (classes === 2) {
    const probabilities = new Float64Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      probabilities[r * 2] = 1 - out[r]!;
      probabilities[r * 2 + 1] = out[r]!;
      labels[r] = argmax(probabilities, r * 2, 2);
    }
    return { probabilities, labels, values: undefined };
  }
  for (let r = 0; r < rows; r++) labels[r] = argmax(out, r * classes, classes);
  return { probabilities: out, labels, values: undefined };
}

function gnb(m: GnbModel, x: Float64Array, rows: number, width: number, K: number): Scores {
  const jll = new Float64Array(rows * K);
  const terms = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < K; c++) {
      for (let j = 0; j < width; j++) {
        const d = x[r * width + j]! - m.theta[c * width + j]!;
        terms[j] = (d * d) / m.variance[c * width + j]!;
      }
      jll[r * K + c] = m.constant[c]! - 0.5 * numpySum(terms, 0, width);
    }
  }
  const probabilities = new Float64Array(rows * K);
  const labels = new Int32Array(rows);
  const tmp = new Float64Array(K);
  for (let r = 0; r < rows; r++) {
    const o = r * K;
    labels[r] = argmax(jll, o, K);
    // scipy.special.logsumexp: max, exp(a − max), log of the sum, plus the max.
    let max = jll[o]!;
    for (let c = 1; c < K; c++) max = Math.max(max, jll[o + c]!);
    if (!Number.isFinite(max)) max = 0;
    for (let c = 0; c < K; c++) tmp[c] = Math.exp(jll[o + c]! - max);
    const lse = Math.log(numpySum(tmp, 0, K)) + max;
    for (let c = 0; c < K; c++) probabilities[o + c] = Math.exp(jll[o + c]! - lse);
  }
  return { probabilities, labels, values: undefined };
}

/**
 * Brute-force k nearest training rows per query (distances as the KD/ball trees compute them:
 * Σ |a − b|^p, then the p-th root), nearest first, ties by training order.
 */
function knn(m: KnnModel, x: Float64Array, rows: number, width: number, K: number): Scores {
  const { k, fitX, y, power } = m;
  const n = y.length;
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  const w = new Float64Array(k);
  const gathered = new Float64Array(k);
  const values = K === 0 ? new Float64Array(rows) : undefined;
  const probabilities = K > 0 ? new Float64Array(rows * K) : undefined;
  const labels = K > 0 ? new Int32Array(rows) : undefined;
  for (let r = 0; r < rows; r++) {
    let found = 0;
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let j = 0; j < width; j++) {
        const diff = Math.abs(x[r * width + j]! - fitX[i * width + j]!);
        d = power === 2 ? d + diff * diff : power === 1 ? d + diff : power === -1 ? Math.max(d, diff) : d + diff ** power;
      }
      if (found === k && d >= bestD[k - 1]!) continue;
      let at = found < k ? found++ : k - 1;
      while (at > 0 && bestD[at - 1]! > d) {
        bestD[at] = bestD[at - 1]!;
        bestI[at] = bestI[at - 1]!;
        at--;
      }
      bestD[at] = d;
      bestI[at] = i;
    }
    if (m.weights === 'distance') {
      let zero = false;
      for (let q = 0; q < k; q++) {
        const dist = power === 2 ? Math.sqrt(bestD[q]!) : power === 1 || power === -1 ? bestD[q]! : bestD[q]! ** (1 / power);
        w[q] = 1 / dist;
        if (dist === 0) zero = true;
      }
      // A query equal to training rows: those rows get weight 1, the others 0 (sklearn _get_weights).
      if (zero) for (let q = 0; q < k; q++) w[q] = w[q] === Number.POSITIVE_INFINITY ? 1 : 0;
    } else w.fill(1);
    if (values) {
      // np.mean(_y[ind]) or np.sum(_y[ind] * w) / np.sum(w), with numpy's summation.
      for (let q = 0; q < k; q++) gathered[q] = m.weights === 'uniform' ? y[bestI[q]!]! : y[bestI[q]!]! * w[q]!;
      const num = numpySum(gathered, 0, k);
      const den = m.weights === 'uniform' ? k : numpySum(w, 0, k);
      values[r] = num / den;
    } else {
      const o = r * K;
      for (let q = 0; q < k; q++) {
        const at = o + y[bestI[q]!]!;
        probabilities![at] = probabilities![at]! + w[q]!;
      }
      let sum = numpySum(probabilities!, o, K);
      if (sum === 0) sum = 1;
      for (let c = 0; c < K; c++) probabilities![o + c] = probabilities![o + c]! / sum;
      labels![r] = argmax(probabilities!, o, K);
    }
  }
  return { probabilities, labels, values };
}

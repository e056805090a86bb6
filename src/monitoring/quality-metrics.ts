/**
 * Pure model-quality metrics, shared by `ferry evaluate` (offline, on a labelled file) and
 * the live metrics over the prediction log (labels from feedback). No I/O, no state.
 *
 * Classification takes actual labels and predicted labels (any comparable values: numbers or
 * strings) and, for ROC AUC and log loss, the predicted probability of the positive class
 * (binary) or one probability per class (multi-class). Regression takes numbers.
 */
import { ferry } from '../core/errors.js';

/** One label value as it comes from data or a model output. */
export type Label = string | number | boolean;

/** Metric names by task, in the order tables show them. */
export const CLASSIFICATION_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss'] as const;
export const REGRESSION_METRICS = ['mae', 'rmse', 'r2'] as const;

export type ClassificationMetric = (typeof CLASSIFICATION_METRICS)[number];
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];

/** Metrics whose larger value is better (the others — errors and losses — are better small). */
export function higherIsBetter(metric: string): boolean {
  return !['mae', 'rmse', 'mse', 'log_loss', 'loss', 'error', 'mape'].includes(metric.toLowerCase());
}

/** Share of rows whose predicted label equals the actual one (labels compared as text). */
export function accuracy(actual: readonly Label[], predicted: readonly Label[]): number {
  checkLengths(actual.length, predicted.length);
  if (actual.length === 0) return Number.NaN;
  let ok = 0;
  for (let i = 0; i < actual.length; i++) if (String(actual[i]) === String(predicted[i])) ok++;
  return ok / actual.length;
}

/** Precision, recall and F1 of one class. */
export function classScores(actual: readonly Label[], predicted: readonly Label[], positive: Label): { precision: number; recall: number; f1: number; support: number } {
  checkLengths(actual.length, predicted.length);
  const pos = String(positive);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = String(actual[i]) === pos;
    const p = String(predicted[i]) === pos;
    if (a && p) tp++;
    else if (p) fp++;
    else if (a) fn++;
  }
  // scikit-learn's zero_division=0: an undefined ratio counts as 0.
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, support: tp + fn };
}

/**
 * Precision, recall and F1: of the positive class for two classes (the larger label, or the
 * one given), else the macro average over the classes seen in actual ∪ predicted
 * (scikit-learn's `average='binary'` and `average='macro'`).
 */
export function precisionRecallF1(actual: readonly Label[], predicted: readonly Label[], positive?: Label): { precision: number; recall: number; f1: number } {
  const classes = classesOf([...actual, ...predicted]);
  if (positive !== undefined || classes.length <= 2) {
    const { precision, recall, f1 } = classScores(actual, predicted, positive ?? classes[classes.length - 1] ?? 1);
    return { precision, recall, f1 };
  }
  let p = 0;
  let r = 0;
  let f = 0;
  for (const c of classes) {
    const s = classScores(actual, predicted, c);
    p += s.precision;
    r += s.recall;
    f += s.f1;
  }
  return { precision: p / classes.length, recall: r / classes.length, f1: f / classes.length };
}

/**
 * Binary ROC AUC by the rank (Mann–Whitney U) formula, ties counted half: the probability
 * that a random positive scores above a random negative. NaN when one class is absent.
 */
export function rocAuc(isPositive: readonly boolean[], score: readonly number[]): number {
  checkLengths(isPositive.length, score.length);
  const n = score.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (score[a] as number) - (score[b] as number));
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && score[order[j + 1] as number] === score[order[i] as number]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (isPositive[order[k] as number]) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Multi-class ROC AUC: the unweighted mean of one-vs-rest AUCs (scikit-learn `multi_class='ovr'`, macro). */
export function rocAucOvr(actual: readonly Label[], classes: readonly Label[], probabilities: readonly (readonly number[])[]): number {
  let sum = 0;
  let k = 0;
  classes.forEach((c, j) => {
    const auc = rocAuc(actual.map((a) => String(a) === String(c)), probabilities.map((p) => p[j] ?? 0));
    if (!Number.isNaN(auc)) {
      sum += auc;
      k++;
    }
  });
  return k === 0 ? Number.NaN : sum / k;
}

/**
 * Mean negative log-likelihood of the actual class. `probabilities[i][j]` is the probability
 * of `classes[j]` for row i; probabilities are clipped to [1e-15, 1 − 1e-15] as scikit-learn does.
 */
export function logLoss(actual: readonly Label[], classes: readonly Label[], probabilities: readonly (readonly number[])[]): number {
  checkLengths(actual.length, probabilities.length);
  if (actual.length === 0) return Number.NaN;
  const index = new Map(classes.map((c, j) => [String(c), j]));
  const eps = 1e-15;
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const j = index.get(String(actual[i]));
    const row = probabilities[i] ?? [];
    const total = row.reduce((a, b) => a + b, 0) || 1;
    const p = j === undefined ? 0 : (row[j] ?? 0) / total;
    sum -= Math.log(Math.min(1 - eps, Math.max(eps, p)));
  }
  return sum / actual.length;
}

/** Mean absolute error. */
export function mae(actual: readonly number[], predicted: readonly number[]): number {
  checkLengths(actual.length, predicted.length);
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += Math.abs((actual[i] as number) - (predicted[i] as number));
  return actual.length ? s / actual.length : Number.NaN;
}

/** Root mean squared error. */
export function rmse(actual: readonly number[], predicted: readonly number[]): number {
  checkLengths(actual.length, predicted.length);
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += ((actual[i] as number) - (predicted[i] as number)) ** 2;
  return actual.length ? Math.sqrt(s / actual.length) : Number.NaN;
}

/** Coefficient of determination, 1 − SS_res/SS_tot (NaN when the actual values are constant). */
export function r2(actual: readonly number[], predicted: readonly number[]): number {
  checkLengths(actual.length, predicted.length);
  const n = actual.length;
  if (n === 0) return Number.NaN;
  const mean = actual.reduce((a, b) => a + b, 0) / n;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    res += ((actual[i] as number) - (predicted[i] as number)) ** 2;
    tot += ((actual[i] as number) - mean) ** 2;
  }
  return tot === 0 ? Number.NaN : 1 - res / tot;
}

/** Input of {@link classificationMetrics}. */
export interface ClassificationInput {
  readonly actual: readonly Label[];
  readonly predicted: readonly Label[];
  /** Class labels in the order of the probability columns (when probabilities are given). */
  readonly classes?: readonly Label[];
  /** One probability per class per row. */
  readonly probabilities?: readonly (readonly number[])[];
}

/** Every classification metric at once; ROC AUC and log loss need probabilities (else NaN). */
export function classificationMetrics(input: ClassificationInput): Record<ClassificationMetric, number> {
  const { actual, predicted, classes, probabilities } = input;
  const prf = precisionRecallF1(actual, predicted);
  let auc = Number.NaN;
  let loss = Number.NaN;
  if (probabilities && classes && classes.length >= 2) {
    auc = classes.length === 2
      ? rocAuc(actual.map((a) => String(a) === String(classes[1])), probabilities.map((p) => p[1] ?? 0))
      : rocAucOvr(actual, classes, probabilities);
    loss = logLoss(actual, classes, probabilities);
  }
  return { accuracy: accuracy(actual, predicted), ...prf, roc_auc: auc, log_loss: loss };
}

/** Every regression metric at once. */
export function regressionMetrics(actual: readonly number[], predicted: readonly number[]): Record<RegressionMetric, number> {
  return { mae: mae(actual, predicted), rmse: rmse(actual, predicted), r2: r2(actual, predicted) };
}

/** Distinct labels, sorted numerically when all are numbers, else as text. */
export function classesOf(labels: readonly Label[]): Label[] {
  const seen = new Map<string, Label>();
  for (const l of labels) if (!seen.has(String(l))) seen.set(String(l), l);
  const all = [...seen.values()];
  return all.every((l) => typeof l === 'number') ? all.sort((a, b) => (a) - (b)) : all.sort((a, b) => String(a).localeCompare(String(b)));
}

function checkLengths(a: number, b: number): void {
  // A programming error (callers align rows first): fail loudly rather than return NaN.
  if (a !== b) throw ferry('FERRY_E_INTERNAL', { detail: `metric inputs differ in length (${a} vs ${b})` });
}

import { ferry } from '../core/errors.js';
import type { RegistryDb } from '../registry/registry-db.js';
import { accuracy, classesOf, classScores, logLoss, regressionMetrics, rocAuc, rocAucOvr, type Label } from './quality-metrics.js';
import { readPredictionChunks, type LoggedPrediction, type PredictionQuery } from './prediction-log-store.js';

/** What kind of model the metrics are for; `auto` decides from the logged outputs. */
export type Task = 'classification' | 'regression' | 'auto';

export interface LiveMetricsOptions {
  readonly task?: Task;
  /** The output holding the prediction (label or value); found from the outputs when omitted. */
  readonly output?: string | undefined;
  /** The output holding class probabilities (for ROC AUC and log loss); found when omitted. */
  readonly probabilities?: string | undefined;
  /** At most this many predictions, the newest of the window (the server's `monitoring_max_rows`); `last` beyond it is refused. */
  readonly maxRows?: number | undefined;
}

/** Per-class scores (scikit-learn's `classification_report`, zero_division=0). */
export interface ClassReport {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly support: number;
}

/** Live metrics of a model over a window of the prediction log. NaN metrics are `null`. */
export interface LiveMetrics {
  readonly model: string;
  readonly version: number | null;
  /** Epoch ms; null = open-ended. */
  readonly since: number | null;
  readonly until: number | null;
  readonly task: 'classification' | 'regression' | 'unknown';
  /** Logged predictions in the window. */
  readonly total: number;
  /** Of them, with ground truth. */
  readonly labelled: number;
  /** labelled / total (0 when nothing was logged). */
  readonly coverage: number;
  /** Predictions flagged below the model's minimum confidence. */
  readonly lowConfidence: number;
  /** Mean confidence of the predictions that have one (null when none). */
  readonly meanConfidence: number | null;
  readonly output: string | null;
  /**
   * Classification: accuracy, precision/recall/f1 (the positive class — the larger label — for two
   * classes, else macro), precision_macro, recall_macro, f1_macro, roc_auc (binary, or one-vs-rest
   * macro), log_loss. Regression: mae, rmse, r2.
   */
  readonly metrics: Record<string, number | null>;
  /** True when the window held more than `maxRows` predictions and only the newest were used. */
  readonly capped?: boolean;
  /** Classification only: scores per class. */
  readonly perClass?: Record<string, ClassReport>;
}

/**
 * Join the window's predictions with their ground truth and compute the metrics, with label
 * coverage. Reads the log in chunks (inputs are not decoded).
 */
export async function liveMetrics(db: RegistryDb, query: PredictionQuery, options: LiveMetricsOptions = {}): Promise<LiveMetrics> {
  let total = 0;
  let low = 0;
  let confSum = 0;
  let confN = 0;
  const labelled: LoggedPrediction[] = [];
  const { maxRows } = options;
  if (maxRows !== undefined && query.last !== undefined && query.last > maxRows) {
    throw ferry('FERRY_E_REQUEST_LIMIT', { protocol: 'monitoring', what: 'rows asked for (last)', count: query.last, limit: maxRows });
  }
  // One row more than the cap tells whether the window held more: the oldest row read is held
  // back and counted only when the window fits under the cap.
  const bounded = maxRows === undefined ? query : { ...query, last: Math.min(query.last ?? Infinity, maxRows + 1) };
  const count = (p: LoggedPrediction) => {
    total++;
    if (p.lowConfidence) low++;
    if (p.confidence !== null) {
      confSum += p.confidence;
      confN++;
    }
    if (p.actual !== undefined && p.actual !== null) labelled.push(p);
  };
  let read = 0;
  let oldest: LoggedPrediction | undefined;
  // Outputs are needed only where there is ground truth to score them against.
  for await (const chunk of readPredictionChunks(db, bounded, { inputs: false, outputs: 'labelled' })) {
    for (const p of chunk) {
      if (read++ === 0 && maxRows !== undefined) oldest = p;
      else count(p);
    }
  }
  const capped = maxRows !== undefined && read > maxRows;
  if (oldest !== undefined && !capped) count(oldest);
  const base = {
    model: query.model,
    version: query.version ?? null,
    since: query.since === undefined ? null : Number(query.since instanceof Date ? query.since.getTime() : query.since),
    until: query.until === undefined ? null : Number(query.until instanceof Date ? query.until.getTime() : query.until),
    total,
    labelled: labelled.length,
    coverage: total === 0 ? 0 : labelled.length / total,
    lowConfidence: low,
    meanConfidence: confN === 0 ? null : confSum / confN,
    ...(capped ? { capped: true } : {}),
  };
  if (labelled.length === 0) return { ...base, task: 'unknown', output: options.output ?? null, metrics: {} };
  const plan = planTask(labelled, options);
  if (plan.task === 'regression') {
    const actual: number[] = [];
    const predicted: number[] = [];
    for (const p of labelled) {
      const a = Number(p.actual);
      const y = scalar(p.outputs[plan.output]);
      if (Number.isFinite(a) && typeof y === 'number') {
        actual.push(a);
        predicted.push(y);
      }
    }
    return { ...base, task: 'regression', output: plan.output, metrics: clean(regressionMetrics(actual, predicted)) };
  }
  return { ...base, ...classification(labelled, plan), task: 'classification' };
}

interface Plan {
  readonly task: 'classification' | 'regression';
  /** Label (classification) or value (regression) output; for classification may be the probabilities. */
  readonly output: string;
  readonly probabilities: string | undefined;
}

/** Which outputs hold the prediction and the probabilities, and which task this is. */
function planTask(rows: readonly LoggedPrediction[], options: LiveMetricsOptions): Plan {
  const sample = rows[0]?.outputs ?? {};
  const names = Object.keys(sample);
  const isProb = (name: string) => rows.every((p) => {
    const v = p.outputs[name];
    return (Array.isArray(v) && v.length >= 2 && v.every((x) => typeof x === 'number')) || (typeof v === 'number' && /prob/i.test(name) && v >= 0 && v <= 1);
  });
  const isLabel = (name: string) => rows.every((p) => {
    const v = scalar(p.outputs[name]);
    return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v));
  });
  for (const n of [options.output, options.probabilities]) {
    if (n !== undefined && !names.includes(n)) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'output', detail: `the logged outputs have no "${n}"; they are ${names.map((x) => `"${x}"`).join(', ')}` });
  }
  const probabilities = options.probabilities ?? names.find(isProb);
  const label = options.output ?? names.find((n) => n !== probabilities && isLabel(n));
  const task = options.task && options.task !== 'auto' ? options.task
    : label !== undefined && isLabel(label) && rows.every((p) => typeof p.actual !== 'number' || Number.isInteger(p.actual)) ? 'classification'
      : probabilities !== undefined && options.output === undefined ? 'classification' : 'regression';
  if (task === 'regression') {
    const value = options.output ?? names.find((n) => rows.every((p) => typeof scalar(p.outputs[n]) === 'number'));
    if (value === undefined) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'output', detail: `no logged output holds one number per prediction; name the one to compare with the labels (outputs: ${names.join(', ')})` });
    return { task, output: value, probabilities: undefined };
  }
  const output = label ?? probabilities;
  if (output === undefined) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'output', detail: `no logged output holds a class label or class probabilities; name the one to compare with the labels (outputs: ${names.join(', ')})` });
  return { task, output, probabilities };
}

function classification(rows: readonly LoggedPrediction[], plan: Plan): Pick<LiveMetrics, 'metrics' | 'perClass' | 'output'> {
  const actual: Label[] = rows.map((p) => label(p.actual));
  const probs: number[][] | undefined = plan.probabilities === undefined ? undefined : rows.map((p) => probabilityRow(p.outputs[plan.probabilities as string]));
  // Predicted label: the label output, else the most probable class index.
  const predicted: Label[] = plan.output !== plan.probabilities
    ? rows.map((p) => label(scalar(p.outputs[plan.output])))
    : (probs ?? []).map(argmax);
  const classes = classesOf([...actual, ...predicted]);
  const perClass: Record<string, ClassReport> = {};
  let p = 0;
  let r = 0;
  let f = 0;
  for (const c of classes) {
    const s = classScores(actual, predicted, c);
    perClass[String(c)] = s;
    p += s.precision;
    r += s.recall;
    f += s.f1;
  }
  const k = classes.length || 1;
  const positive = classes.length === 2 ? perClass[String(classes[1])] : undefined;
  const metrics: Record<string, number> = {
    accuracy: accuracy(actual, predicted),
    precision: positive ? positive.precision : p / k,
    recall: positive ? positive.recall : r / k,
    f1: positive ? positive.f1 : f / k,
    precision_macro: p / k,
    recall_macro: r / k,
    f1_macro: f / k,
    roc_auc: Number.NaN,
    log_loss: Number.NaN,
  };
  if (probs) {
    const probClasses = probabilityClasses(probs, plan.output !== plan.probabilities ? predicted : undefined, probs[0]?.length ?? 0);
    if (probClasses) {
      if (probClasses.length === 2) {
        metrics.roc_auc = rocAuc(actual.map((a) => String(a) === String(probClasses[1])), probs.map((q) => q[1] ?? 0));
      } else {
        metrics.roc_auc = rocAucOvr(actual, probClasses, probs);
      }
      metrics.log_loss = logLoss(actual, probClasses, probs);
    }
  }
  return { output: plan.output, metrics: clean(metrics), perClass };
}

/**
 * The class of each probability column. With a label output, column j is the label predicted
 * when column j is the largest (learned from the rows); else the column index (0, 1, …).
 * Undefined when some column's class cannot be told (never the argmax, labels not integers).
 */
function probabilityClasses(probs: readonly number[][], predicted: readonly Label[] | undefined, width: number): Label[] | undefined {
  if (!predicted) return Array.from({ length: width }, (_, j) => j);
  const seen: (Label | undefined)[] = new Array<Label | undefined>(width).fill(undefined);
  probs.forEach((row, i) => {
    const j = argmax(row);
    if (seen[j] === undefined) seen[j] = predicted[i];
  });
  if (seen.every((c) => c !== undefined)) return seen;
  // Integer labels 0..C-1 name their columns.
  const ints = predicted.every((l) => typeof l === 'number' && Number.isInteger(l) && l >= 0 && l < width);
  return ints ? Array.from({ length: width }, (_, j) => j) : undefined;
}

/** Class probabilities of one row: an array, or [1 − p, p] for a single probability. */
function probabilityRow(v: unknown): number[] {
  if (Array.isArray(v)) return v.flat(8).map(Number);
  if (typeof v === 'number') return [1 - v, v];
  return [];
}

function argmax(row: readonly number[]): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if ((row[j] as number) > (row[best] as number)) best = j;
  return best;
}

/** A single value out of `v` or `[v]`. */
function scalar(v: unknown): unknown {
  return Array.isArray(v) && v.length === 1 ? scalar(v[0]) : v;
}

function label(v: unknown): Label {
  const s = scalar(v);
  return typeof s === 'number' || typeof s === 'string' || typeof s === 'boolean' ? s : JSON.stringify(s);
}

function clean(m: Record<string, number>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(m)) out[k] = Number.isFinite(v) ? v : null;
  return out;
}

/**
 * Offline evaluation: score a labelled data set with one or more versions through the one
 * scoring core and compute the quality metrics (quality-metrics.ts) of each.
 */
import type { MonitoringParts } from './parts.js';
import { ferry, quoteList } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import type { ModelVersion } from '../registry/types.js';
import type { OutputColumn, OutputValue } from '../scoring/outputs.js';
import { classesOf, classificationMetrics, regressionMetrics, type Label } from './quality-metrics.js';
import { isMissing, numericValue } from './profile.js';

export type Task = 'classification' | 'regression';

export interface EvaluateOptions {
  /** The column holding the actual values. */
  readonly label: string;
  /** Other columns that are not model inputs. */
  readonly ignore?: readonly string[];
  /** Force the task (default: classification when the model has an integer/text label output or the labels are text). */
  readonly task?: Task | undefined;
}

/** Metrics of one version on one data set. */
export interface Evaluation {
  readonly model: string;
  readonly version: number;
  readonly task: Task;
  /** Rows scored and labelled. */
  readonly rows: number;
  readonly rejected: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/** Score `frame` with `version` and compute its metrics against the label column. */
export async function evaluateVersion(app: MonitoringParts, version: ModelVersion, frame: Frame, options: EvaluateOptions): Promise<Evaluation> {
  const labels = frame.column(options.label);
  if (!labels) throw ferry('FERRY_E_LABEL_MISSING', { label: options.label, present: quoteList(frame.columns) });
  const { result } = await app.pipeline.run({ model: { version }, input: { kind: 'frame', frame, plan: { ignore: [options.label, ...(options.ignore ?? [])] } }, source: 'evaluate' });
  const keep = result.rows.map((r, i) => ({ r, i })).filter(({ r }) => !isMissing(labels[r]));
  const actual = keep.map(({ r }) => labels[r]);
  const pick = (col: OutputColumn) => keep.map(({ i }) => col.values[i] as OutputValue);
  const { labelOutput, probaOutput, valueOutput } = roles(result.outputs);
  const task: Task = options.task ?? (labelOutput || actual.some((a) => numericValue(a) === undefined) ? 'classification' : 'regression');
  const base = { model: version.model, version: version.version, task, rows: keep.length, rejected: result.rejects.length };
  if (task === 'regression') {
    const out = valueOutput ?? probaOutput;
    if (!out) throw ferry('FERRY_E_METRIC_UNAVAILABLE', { metric: 'regression metrics', subject: `${version.model}:${version.version}`, hint: 'The model has no numeric output.' });
    const y = actual.map((a) => numericValue(a) ?? Number.NaN);
    const p = pick(out).map((v) => (Array.isArray(v) ? Number(v[0]) : Number(v)));
    return { ...base, metrics: regressionMetrics(y, p) };
  }
  const probabilities = probaOutput ? pick(probaOutput).map((v) => (Array.isArray(v) ? v.map(Number) : [1 - Number(v), Number(v)])) : undefined;
  const actualLabels = actual.map(asLabel);
  const predictedRaw = labelOutput ? pick(labelOutput).map(asLabel) : undefined;
  const classes = classesOf([...actualLabels, ...(predictedRaw ?? [])]);
  // Probability columns follow the sorted class labels, as scikit-learn orders `classes_`.
  const probaClasses = probabilities && (probabilities[0]?.length ?? 0) >= classes.length ? padClasses(classes, probabilities[0]?.length ?? 0) : classes;
  const predicted = predictedRaw ?? (probabilities ?? []).map((p) => probaClasses[p.indexOf(Math.max(...p))] as Label);
  return { ...base, metrics: classificationMetrics({ actual: actualLabels, predicted, ...(probabilities ? { classes: probaClasses, probabilities } : {}) }) };
}

function asLabel(v: unknown): Label {
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') {
    const n = numericValue(v);
    return n !== undefined && typeof v !== 'boolean' ? n : v;
  }
  return String(v);
}

/** Classes seen may be fewer than the model's; fill in integer classes 0..k-1 when labels are integers. */
function padClasses(classes: Label[], width: number): Label[] {
  if (classes.length === width) return classes;
  if (classes.every((c) => typeof c === 'number' && Number.isInteger(c) && c >= 0 && c < width)) return Array.from({ length: width }, (_, i) => i);
  return classes;
}

/** Which output holds the predicted label, the class probabilities, or the regression value. */
export function roles(outputs: readonly OutputColumn[]): { labelOutput?: OutputColumn; probaOutput?: OutputColumn; valueOutput?: OutputColumn } {
  const labelOutput = outputs.find((o) => o.rowShape.length === 0 && (o.dtype === 'string' || o.dtype.startsWith('int') || o.dtype.startsWith('uint') || o.dtype === 'bool'));
  const probaOutput = outputs.find((o) => o.rowShape.length === 1 && (o.dtype === 'float32' || o.dtype === 'float64') && (o.rowShape[0] ?? 0) >= 2);
  const valueOutput = outputs.find((o) => o.rowShape.length === 0 && (o.dtype === 'float32' || o.dtype === 'float64'));
  return { ...(labelOutput ? { labelOutput } : {}), ...(probaOutput ? { probaOutput } : {}), ...(valueOutput ? { valueOutput } : {}) };
}

/**
 * The code of an exported package (bundled into its index.js): rows are checked and turned
 * into tensors by the server's own scoring steps (input mapping, validation, missing values),
 * scored by the server's own runtime class for the format, and split into one record per row
 * the way `ferry predict --output x.jsonl` writes them. Runs in Node, browsers and Web
 * Workers: no Node APIs, no eval, no dependencies.
 */
import { ferry } from '../../core/errors.js';
import { ColumnFrame } from '../../core/frame.js';
import type { Tensor } from '../../core/tensor.js';
import { planInputs } from '../../scoring/input-plan.js';
import { splitRows, type OutputValue } from '../../scoring/outputs.js';
import { packTensors, validateRows } from '../../scoring/tensorize.js';
import { evaluator } from './evaluator.js';
import { data, meta } from './model.js';
import { Reporter, type ReportOptions, type ReportStats } from './report.js';
import type { EdgeModel } from './types.js';

/** Model name, version, aliases, format, artifact digest, export time. */
export const provenance = meta.provenance;
/** The registered signature: inputs (with their column mapping) and outputs. */
export const signature = meta.signature;

const label = `${provenance.model}:${provenance.version}`;
let loading: Promise<EdgeModel> | undefined;

let reporter: Reporter | undefined = meta.report ? new Reporter(meta.report, provenance.model, provenance.version, provenance.digest) : undefined;

/**
 * Report `predict`'s predictions to a Ferry server's prediction log (`false`: stop). Each
 * prediction then carries a `prediction_id`, which ground truth can be posted against
 * (`POST /v1/feedback`). Set at export time with `--report-url`; a package exported without it
 * carries no reporter, and `report(options)` fails with FERRY_E_EDGE_CALL_INVALID.
 */
export function report(options: ReportOptions | false): void {
  reporter?.stop();
  reporter = options ? new Reporter(options, provenance.model, provenance.version, provenance.digest) : undefined;
}

/** Post the queued reports now (e.g. before a Node process exits); never rejects. */
export function flushReports(): Promise<void> {
  return reporter?.flush() ?? Promise.resolve();
}

/** The reporter's counts: queued, sent, dropped rows and failed posts (undefined when not reporting). */
export function reportStats(): ReportStats | undefined {
  return reporter?.stats();
}

/**
 * Start loading the model now rather than at the first `predict` (for ONNX: fetch, compile and
 * instantiate the WebAssembly and create the session). Call it when the page or process starts,
 * so the first prediction does not wait for the load. Resolves when the model is ready.
 */
export async function preload(): Promise<void> {
  await model();
}

/** The model, built on first use (decoding is cheap, but a page may never need it). */
function model(): Promise<EdgeModel> {
  loading ??= Promise.resolve().then(() => evaluator.load(meta.encoding === 'text' ? new TextEncoder().encode(data) : fromBase64(data), label));
  return loading;
}

export interface PredictOptions {
  /** Columns copied to each prediction and not fed to the model (like `ferry predict --key`). */
  readonly keys?: readonly string[];
  /** Only these outputs (all when omitted). */
  readonly outputs?: readonly string[];
}

/** A prediction: the key columns, then every output by name. */
export type Prediction = Record<string, unknown>;

/**
 * Score rows: plain objects keyed by column name (`null` or an absent column = missing).
 * Returns one object per row keyed by output name. A bad row fails the call with the
 * server's error (code, row and column in the message).
 */
export async function predict(rows: readonly Readonly<Record<string, unknown>>[], options: PredictOptions = {}): Promise<Prediction[]> {
  const given: unknown = rows; // callers from plain JavaScript may pass anything
  if (!Array.isArray(given)) throw ferry('FERRY_E_EDGE_CALL_INVALID', { detail: 'predict(rows) takes an array of objects keyed by column name' });
  const keys = options.keys ?? [];
  const names = outputNames(options.outputs);
  if (rows.length === 0) return [];
  const frame = ColumnFrame.fromRows(rows);
  const plan = planInputs(signature, frame, { ignore: keys });
  const { valid, rejects, values } = validateRows(plan, frame);
  if (rejects[0]) throw rejects[0].error;
  const started = reporter ? Date.now() : 0;
  const out = await (await model()).predict(packTensors(plan, values, valid, frame.length), names);
  const columns = names.map((name) => {
    const tensor = out[name];
    if (!tensor) throw ferry('FERRY_E_PREDICTION_FAILED', { format: provenance.format, model: label, detail: `no output "${name}"` });
    return splitRows(name, tensor, rows.length, label);
  });
  const predictions = rows.map((row, i) => {
    const record: Prediction = {};
    for (const key of keys) record[key] = row[key] ?? null;
    for (const column of columns) record[column.name] = column.values[i] ?? null;
    return record;
  });
  reporter?.record(rows, predictions, keys, names, Date.now() - started);
  return predictions;
}

/**
 * Score `n` rows already packed row-major into one typed array (the model's one input, e.g.
 * `Float32Array` of n × features, NaN = missing). Returns the output tensors.
 */
export async function predictBatch(x: Float32Array | Float64Array, n: number, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
  const [input, ...more] = signature.inputs;
  if (!input || more.length > 0) throw ferry('FERRY_E_EDGE_CALL_INVALID', { detail: 'predictBatch needs a model with one input; use predictTensors' });
  const width = x.length / n;
  if (!Number.isInteger(width)) throw ferry('FERRY_E_TENSOR_SHAPE', { input: input.name, expected: `n × features values`, actual: `${x.length} values for n = ${n}` });
  return predictTensors({ [input.name]: { dtype: x instanceof Float32Array ? 'float32' : 'float64', shape: [n, width], data: x } }, outputs);
}

/** Score named tensors (the server's Open Inference Protocol view of the model). */
export async function predictTensors(tensors: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
  return (await model()).predict(tensors, outputNames(outputs));
}

/** Prediction values as plain JSON values (numbers, strings, nested arrays). */
export type { OutputValue };

const ALL_OUTPUTS: readonly string[] = signature.outputs.map((o) => o.name);

function outputNames(wanted: readonly string[] | undefined): readonly string[] {
  if (!wanted || wanted.length === 0) return ALL_OUTPUTS;
  const unknown = wanted.find((n) => !ALL_OUTPUTS.includes(n));
  if (unknown !== undefined) throw ferry('FERRY_E_OUTPUT_UNKNOWN', { output: unknown, outputs: ALL_OUTPUTS.join(', ') });
  return wanted;
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

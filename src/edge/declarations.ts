/**
 * index.d.ts of a package, from the model's signature: a row type with the input columns, a
 * prediction type with the outputs, and the package's functions. Declarations only: the
 * package's code comes from the bundler, never from text assembled here.
 */
import type { DType } from '../core/dtype.js';
import type { ModelSignature, TensorSpec } from '../core/signature.js';

const key = (name: string): string => JSON.stringify(name);

function scalarType(dtype: DType): string {
  if (dtype === 'string') return 'string';
  if (dtype === 'bool') return 'boolean | number';
  return 'number';
}

/** One row's value of a tensor whose rows have `shape` (nested arrays beyond scalars). */
function valueType(dtype: DType, shape: readonly number[], nullable: boolean): string {
  let t = scalarType(dtype);
  for (let i = shape.length - 1; i >= 0; i--) t = `${t.includes('|') ? `(${t})` : t}[]`;
  return nullable && shape.length === 0 ? `${t} | null` : t;
}

function inputFields(spec: TensorSpec): string[] {
  const rowShape = spec.shape.slice(1);
  const cell = spec.dtype === 'string' ? 'string' : `${scalarType(spec.dtype)} | string`;
  if (spec.columns && !(spec.columns.length === 1 && spec.columns[0] === spec.name)) {
    return spec.columns.map((c) => `  ${key(c)}${spec.nullable ? '?' : ''}: ${cell}${spec.nullable ? ' | null' : ''};`);
  }
  return [`  ${key(spec.name)}${spec.nullable ? '?' : ''}: ${valueType(spec.dtype, rowShape, spec.nullable === true)};`];
}

function outputField(spec: TensorSpec): string {
  const rowShape = spec.shape.slice(1);
  const scalar = rowShape.every((d) => d === 1);
  const t = spec.dtype === 'int64' || spec.dtype === 'uint64' ? 'number' : scalarType(spec.dtype);
  const value = scalar ? `${t} | null` : valueType(spec.dtype === 'int64' ? 'float64' : spec.dtype, rowShape, false);
  return `  ${key(spec.name)}: ${value};`;
}

/** The text of index.d.ts for a model with this signature. */
export function declarations(signature: ModelSignature, model: string, version: number): string {
  return [
    `// Types of the exported model ${model}:${version}, from its registered signature.`,
    '',
    '/** One row to score: the input columns (null or absent = missing where allowed). Other fields are allowed when named in `keys`. */',
    'export interface Row {',
    ...signature.inputs.flatMap(inputFields),
    '  [column: string]: unknown;',
    '}',
    '',
    '/** One prediction: the key columns, then every output as `ferry predict --output x.jsonl` writes it. */',
    'export interface Prediction {',
    ...signature.outputs.map(outputField),
    '  /** Set when the package reports to a Ferry server: the id its prediction log keeps (post ground truth against it). */',
    '  prediction_id?: string;',
    '  [key: string]: unknown;',
    '}',
    '',
    'export interface PredictOptions {',
    '  /** Columns copied to each prediction and not fed to the model. */',
    '  readonly keys?: readonly string[];',
    '  /** Only these outputs (all when omitted). */',
    `  readonly outputs?: readonly (${signature.outputs.map((o) => key(o.name)).join(' | ') || 'string'})[];`,
    '}',
    '',
    '/** A tensor: row-major data with its shape (int64 outputs are BigInt64Array). */',
    'export interface Tensor {',
    '  readonly dtype: string;',
    '  readonly shape: readonly number[];',
    '  readonly data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | readonly string[];',
    '}',
    '',
    '/** Score rows; a bad row rejects the promise with an Error whose `code` is Ferry\'s (e.g. FERRY_E_VALUE_TYPE). */',
    'export function predict(rows: readonly Row[], options?: PredictOptions): Promise<Prediction[]>;',
    '/** Score n rows packed row-major in one typed array (one-input models; NaN = missing). */',
    'export function predictBatch(x: Float32Array | Float64Array, n: number, outputs?: readonly string[]): Promise<Record<string, Tensor>>;',
    '/** Load the model now (ONNX: fetch and compile the WebAssembly, create the session) instead of at the first predict. */',
    'export function preload(): Promise<void>;',
    '/** Score named tensors. */',
    'export function predictTensors(tensors: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;',
    '',
    '/** Where and how `predict` reports to a Ferry server\'s prediction log. */',
    'export interface ReportOptions {',
    '  /** The Ferry server (https://ferry.example.com), or the full edge-predictions URL. */',
    '  readonly url: string;',
    '  /** Sent with each post, e.g. { authorization: \'Bearer <key>\' }. */',
    '  readonly headers?: Readonly<Record<string, string>>;',
    '  /** Rows per post (default 100). */',
    '  readonly batchRows?: number;',
    '  /** Rows held while the server cannot be reached; the oldest are dropped past it (default 1000). */',
    '  readonly maxRows?: number;',
    '  /** Queued rows are posted at least this often (ms, default 5000). */',
    '  readonly intervalMs?: number;',
    '}',
    '/** Report predict()\'s predictions (each then has a prediction_id) to a Ferry server, or stop (false). Needs a package exported with --report-url. */',
    'export function report(options: ReportOptions | false): void;',
    '/** Post the queued reports now (before a Node process exits); never rejects. */',
    'export function flushReports(): Promise<void>;',
    '/** Queued, sent and dropped rows and failed posts; undefined when not reporting. */',
    'export function reportStats(): { readonly queued: number; readonly sent: number; readonly dropped: number; readonly failedPosts: number } | undefined;',
    '',
    '/** Where the model came from. */',
    'export const provenance: { readonly model: string; readonly version: number; readonly aliases: readonly string[]; readonly format: string; readonly digest: string; readonly exportedAt: string; readonly ferryVersion: string };',
    '/** The registered signature. */',
    'export const signature: { readonly inputs: readonly object[]; readonly outputs: readonly object[] };',
    '',
  ].join('\n');
}

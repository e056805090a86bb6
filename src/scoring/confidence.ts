import type { ModelSignature, TensorSpec } from '../core/signature.js';
import type { Tensor } from '../core/tensor.js';
import type { OutputColumn } from './outputs.js';

/** How a model's confidence is read and judged (ferry.yaml `confidence:`). */
export interface ConfidenceSpec {
  /** The probability output; undefined = found from the signature (see `confidenceOutput`). */
  readonly output?: string | undefined;
  /** Predictions below this confidence are flagged `low_confidence` in the log. */
  readonly min?: number | undefined;
  /** Put the confidence in every response (requests can also ask: `confidence: true`). */
  readonly respond: boolean;
}

/** The outputs of a scored request: tensors (OIP, gRPC) or row columns (frames). */
export type ScoredOutputs =
  | { readonly kind: 'tensors'; readonly tensors: Readonly<Record<string, Tensor>> }
  | { readonly kind: 'columns'; readonly columns: readonly OutputColumn[] };

const FLOAT = new Set(['float32', 'float64', 'float16']);

/**
 * The output holding class probabilities: the one named in the spec, else the first float
 * output with one axis of ≥ 2 values per row (`[N, C]`: probabilities, softprob), else a float
 * output of one value per row whose name says it is a probability (binary `[N]`/`[N,1]`).
 */
export function confidenceOutput(signature: ModelSignature, spec: ConfidenceSpec | undefined): TensorSpec | undefined {
  // Called per request: remember the answer per signature (and named output).
  const key = spec?.output ?? '';
  let bySpec = FOUND.get(signature);
  if (!bySpec) {
    bySpec = new Map();
    FOUND.set(signature, bySpec);
  }
  if (bySpec.has(key)) return bySpec.get(key);
  const found = findConfidenceOutput(signature, spec);
  bySpec.set(key, found);
  return found;
}

const FOUND = new WeakMap<ModelSignature, Map<string, TensorSpec | undefined>>();

function findConfidenceOutput(signature: ModelSignature, spec: ConfidenceSpec | undefined): TensorSpec | undefined {
  if (spec?.output !== undefined) return signature.outputs.find((o) => o.name === spec.output);
  const floats = signature.outputs.filter((o) => FLOAT.has(o.dtype));
  return floats.find((o) => o.shape.length === 2 && (o.shape[1] ?? 0) >= 2)
    ?? floats.find((o) => /prob/i.test(o.name) && (o.shape.length === 1 || (o.shape.length === 2 && o.shape[1] === 1)));
}

/**
 * The top-class probability of each row: the largest of the row's class probabilities, or
 * max(p, 1 − p) for a single probability (binary). Undefined when the output is not there
 * (not requested, or the model has no probability output).
 */
export function confidenceOf(output: TensorSpec | undefined, outputs: ScoredOutputs, rows: number): Float64Array | undefined {
  if (!output) return undefined;
  const out = new Float64Array(rows);
  if (outputs.kind === 'tensors') {
    const t = outputs.tensors[output.name];
    if (!t || typeof t.data[0] === 'string' || typeof t.data[0] === 'bigint' || rows === 0) return undefined;
    const data = t.data as ArrayLike<number>;
    const width = data.length / rows;
    if (!Number.isInteger(width) || width < 1) return undefined;
    for (let r = 0; r < rows; r++) out[r] = top(data, r * width, width);
    return out;
  }
  const col = outputs.columns.find((c) => c.name === output.name);
  if (!col) return undefined;
  // The batched tensor, when it holds exactly these rows: no per-row value is built.
  if (col.tensor && col.tensor.shape[0] === rows && typeof col.tensor.data[0] === 'number') return confidenceOf(output, { kind: 'tensors', tensors: { [output.name]: col.tensor } }, rows);
  for (let r = 0; r < rows; r++) {
    const v = col.values[r];
    if (typeof v === 'number') out[r] = Math.max(v, 1 - v);
    else if (Array.isArray(v)) {
      const flat = v.flat(8).filter((x): x is number => typeof x === 'number');
      out[r] = flat.length === 1 ? Math.max(flat[0] as number, 1 - (flat[0] as number)) : Math.max(...flat);
    } else out[r] = Number.NaN;
  }
  return out;
}

function top(data: ArrayLike<number>, offset: number, width: number): number {
  if (width === 1) {
    const p = data[offset] as number;
    return Math.max(p, 1 - p);
  }
  let best = -Infinity;
  for (let j = 0; j < width; j++) best = Math.max(best, data[offset + j] as number);
  return best;
}

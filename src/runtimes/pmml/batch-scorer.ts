/**
 * The PMML batch path from tensors to tensors: every input column copied once into one row-major
 * Float64Array, the batch kernel scores the whole batch, results are read from its arrays.
 * Dependency-free (type imports only): the server's PmmlModel and an exported package's PMML
 * ensemble evaluator score through this one class; `batchScorer` makes it for a compiled document.
 */
import type { TensorSpec } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { CompiledDocument } from './document.js';
import type { BatchResult } from './model.js';
import type { Value } from './types.js';

/** What the batch path needs of a kernel: its fields (columns of `x`), categories and scoring function (see `BatchKernel.run`). */
export interface BatchRunner {
  readonly fields: readonly string[];
  readonly categories: readonly string[];
  run(x: Float64Array, rows: number, value: Float64Array, probabilities: Float64Array): void;
}

/** A result of the model, in signature order, with how it reads the kernel's arrays. */
export interface BatchOutput { readonly spec: TensorSpec; readonly how: BatchResult }

export class BatchScorer {
  readonly #kernel: BatchRunner;
  readonly #inputs: readonly TensorSpec[];
  readonly #outputs: readonly BatchOutput[];
  /** Classification: each category's value as the general path returns it. */
  readonly #categoryValues: readonly Value[];
  /** Per kernel field: the number a missing (NaN) value becomes (the MiningField's missingValueReplacement); NaN for none. */
  readonly #fills: ArrayLike<number> | undefined;
  /** Buffers (row-major inputs, the kernel's values and probabilities), reused across calls. */
  #x = new Float64Array(0);
  #value = new Float64Array(0);
  #probabilities = new Float64Array(0);
  readonly #columns: (Float64Array | undefined)[] = [];

  constructor(kernel: BatchRunner, inputs: readonly TensorSpec[], outputs: readonly BatchOutput[], categoryValues: readonly Value[], fills?: ArrayLike<number>) {
    this.#kernel = kernel;
    this.#fills = fills;
    this.#inputs = inputs;
    this.#outputs = outputs;
    this.#categoryValues = categoryValues;
  }

  /**
   * The outputs `wanted` (all when omitted), or undefined (nothing done) when an input is absent,
   * not a float64 `[N]` tensor, or an output is unknown: the caller then scores another way or
   * reports the error.
   */
  score(inputs: Readonly<Record<string, Tensor>>, wanted?: readonly string[]): Record<string, Tensor> | undefined {
    let rows = -1;
    for (const spec of this.#inputs) {
      const t = inputs[spec.name];
      if (!t || t.shape.length !== 1 || (rows >= 0 && t.shape[0] !== rows)) return undefined;
      rows = t.shape[0] ?? 0;
    }
    if (rows < 0) return undefined;
    const kernel = this.#kernel;
    const F = kernel.fields.length;
    const cols = this.#columns;
    for (let f = 0; f < F; f++) {
      const t = inputs[kernel.fields[f]!];
      if (t && !(t.data instanceof Float64Array)) return undefined;
      cols[f] = t ? t.data as Float64Array : undefined;
    }
    let outs = this.#outputs;
    if (wanted) {
      const picked: BatchOutput[] = [];
      for (const name of wanted) {
        const o = this.#outputs.find((x) => x.spec.name === name);
        if (!o) return undefined;
        picked.push(o);
      }
      outs = picked;
    }
    const K = kernel.categories.length;
    if (this.#x.length < rows * F) this.#x = new Float64Array(rows * F);
    if (this.#value.length < rows) this.#value = new Float64Array(rows);
    if (this.#probabilities.length < rows * K) this.#probabilities = new Float64Array(rows * K);
    const x = this.#x;
    const value = this.#value;
    const probabilities = this.#probabilities;
    const fills = this.#fills;
    for (let f = 0; f < F; f++) {
      const c = cols[f];
      const fill = fills ? fills[f]! : Number.NaN;
      if (!c) for (let r = 0; r < rows; r++) x[r * F + f] = fill;
      else if (Number.isNaN(fill)) for (let r = 0; r < rows; r++) x[r * F + f] = c[r]!;
      else {
        // Only a missing value takes the replacement (as the row path's MiningSchema treatment).
        for (let r = 0; r < rows; r++) {
          const v = c[r]!;
          x[r * F + f] = Number.isNaN(v) ? fill : v;
        }
      }
    }
    kernel.run(x, rows, value, probabilities);
    const categoryValues = this.#categoryValues;
    const out: Record<string, Tensor> = {};
    for (const { spec, how } of outs) {
      let data: Float64Array | (string | null)[];
      if (spec.dtype === 'float64') {
        const col = new Float64Array(rows);
        if (how.kind === 'probability') for (let r = 0; r < rows; r++) col[r] = probabilities[r * K + how.index]!;
        else if (K === 0) for (let r = 0; r < rows; r++) col[r] = value[r]!;
        else for (let r = 0; r < rows; r++) col[r] = Number.isNaN(value[r]!) ? Number.NaN : toNumber(categoryValues[value[r]!]!);
        data = col;
      } else {
        const col = new Array<string | null>(rows);
        for (let r = 0; r < rows; r++) {
          const v: Value = how.kind === 'probability' ? nullIfNaN(probabilities[r * K + how.index]!) : Number.isNaN(value[r]!) ? null : K > 0 ? categoryValues[value[r]!]! : value[r]!;
          col[r] = v === null ? null : typeof v === 'string' ? v : String(v);
        }
        data = col;
      }
      out[spec.name] = { dtype: spec.dtype, shape: [rows], data: data as Tensor['data'] };
    }
    return out;
  }
}

function nullIfNaN(v: number): Value {
  return Number.isNaN(v) ? null : v;
}

/** A value in a float64 result column, as the general path writes it. */
function toNumber(v: Value): number {
  return v === null ? Number.NaN : typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
}

/**
 * The batch path of a document: its batch kernel with every result in
 * signature order, or undefined when it has none, a result the kernel cannot give, or group fields.
 */
export function batchScorer(doc: CompiledDocument, inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): BatchScorer | undefined {
  const batch = doc.model.batch;
  if (!batch || doc.model.groups.length > 0) return undefined;
  const reads: BatchOutput[] = [];
  for (const spec of outputs) {
    const how = batch.results.get(spec.name);
    // A result the batch path cannot read (none: batchPlan maps every result): the general path scores.
    if (!how) return undefined;
    reads.push({ spec, how });
  }
  return new BatchScorer(batch.kernel, inputs, reads, batch.categoryValues, batch.fills);
}

/**
 * Scores a compiled PMML document: its signature, the batch path when the document has one
 * (batch-scorer.ts) and the general path (one row at a time through the compiled model). The
 * server's PMML runtime (pmml-model.ts) and an exported package's evaluator both score with it.
 */
import { ferry, FerryError } from '../../core/errors.js';
import type { DType } from '../../core/dtype.js';
import type { ModelSignature, TensorSpec } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { CompiledDocument } from './document.js';
import { batchScorer, type BatchScorer } from './batch-scorer.js';
import { scoreGroups } from './group-scoring.js';
import type { DataType, Row, Value } from './types.js';
import { isNumeric } from './values.js';

/** The dtype of an input field's tensor. */
export function dtypeOf(dataType: DataType): DType {
  if (isNumeric(dataType)) return 'float64';
  if (dataType === 'boolean') return 'bool';
  return 'string';
}

/** Outputs carry booleans as text ("true"/"false") so that a missing one can be null. */
function outputDtype(dataType: DataType): DType {
  return isNumeric(dataType) ? 'float64' : 'string';
}

/** A compiled document's scoring: tensors in, tensors out, as `ModelRuntime.predict`. */
export class DocumentScorer {
  readonly #doc: CompiledDocument;
  readonly #label: string;
  readonly signature: ModelSignature;
  /** The batch path (tree ensembles whose results it can all read), or undefined: the general path scores. */
  readonly batch: BatchScorer | undefined;

  constructor(doc: CompiledDocument, label: string) {
    this.#doc = doc;
    this.#label = label;
    const inputs: TensorSpec[] = [...doc.model.groups, ...doc.model.inputs].map((f) => ({ name: f.name, dtype: dtypeOf(f.dataType), shape: [-1], nullable: true }));
    const outputs: TensorSpec[] = doc.model.results.map((f) => ({ name: f.name, dtype: outputDtype(f.dataType), shape: [-1], nullable: true }));
    this.signature = { inputs, outputs };
    this.batch = batchScorer(doc, inputs, outputs);
  }

  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    try {
      return Promise.resolve(this.#predict(inputs, outputs));
    } catch (err) {
      return Promise.reject(err instanceof FerryError ? err : ferry('FERRY_E_PREDICTION_FAILED', { format: 'PMML', model: this.#label, detail: err instanceof Error ? err.message : String(err) }, err));
    }
  }

  #predict(inputs: Readonly<Record<string, Tensor>>, wanted?: readonly string[]): Record<string, Tensor> {
    const batched = this.batch?.score(inputs, wanted);
    if (batched) return batched;
    const specs = this.signature.inputs;
    let rows = -1;
    const readers: { name: string; read: (r: number) => Value }[] = [];
    for (const spec of specs) {
      const t = inputs[spec.name];
      if (!t) throw ferry('FERRY_E_INPUT_MISSING', { input: spec.name, expected: `${spec.dtype} [N]`, present: Object.keys(inputs).join(', ') || 'no inputs' });
      const n = t.shape[0] ?? 0;
      if (t.shape.length !== 1 || (rows >= 0 && n !== rows)) {
        throw ferry('FERRY_E_TENSOR_SHAPE', { input: spec.name, expected: `${spec.dtype} [N] (one value per row, N the same for every input)`, actual: `${t.dtype} [${t.shape.join(', ')}]` });
      }
      rows = n;
      readers.push({ name: spec.name, read: reader(t) });
    }
    if (rows < 0) rows = Object.values(inputs)[0]?.shape[0] ?? 0;
    const names = wanted ?? this.signature.outputs.map((o) => o.name);
    const outSpecs = names.map((name) => {
      const spec = this.signature.outputs.find((o) => o.name === name);
      if (!spec) throw ferry('FERRY_E_OUTPUT_UNKNOWN', { output: name, outputs: this.signature.outputs.map((o) => o.name).join(', ') });
      return spec;
    });
    const columns = outSpecs.map((s) => (s.dtype === 'float64' ? new Float64Array(rows) : new Array<string | null>(rows).fill(null)));
    // The row being scored reads its inputs straight from the tensors.
    let current = 0;
    const readerOf = new Map(readers.map((x) => [x.name, x.read]));
    const row: Row = {
      get: (name) => {
        const read = readerOf.get(name);
        return read ? read(current) : null;
      },
    };
    const model = this.#doc.model;
    const write = (r: number, fields: ReadonlyMap<string, Value>): void => {
      for (let j = 0; j < outSpecs.length; j++) {
        const v = fields.get(outSpecs[j]!.name) ?? null;
        const col = columns[j]!;
        if (col instanceof Float64Array) col[r] = v === null ? Number.NaN : typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
        else col[r] = v === null ? null : typeof v === 'string' ? v : String(v);
      }
    };
    if (model.groups.length > 0) {
      scoreGroups(model, readers, rows, write);
    } else {
      for (let r = 0; r < rows; r++) {
        current = r;
        write(r, model.score(row).fields);
      }
    }
    const out: Record<string, Tensor> = {};
    outSpecs.forEach((s, j) => {
      out[s.name] = { dtype: s.dtype, shape: [rows], data: columns[j] as Tensor['data'] };
    });
    return out;
  }
}

/** Read row r of a 1-D tensor as a PMML value: NaN and null are missing, bools become booleans. */
export function reader(t: Tensor): (r: number) => Value {
  const data = t.data;
  if (Array.isArray(data)) {
    return (r) => {
      const v = (data as readonly (string | null | undefined)[])[r];
      // An empty cell (CSV has no other way to leave a text value out) is missing too.
      return v === null || v === undefined || v === '' ? null : v;
    };
  }
  if (t.dtype === 'bool') return (r) => (data as Uint8Array)[r] !== 0;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return (r) => Number(data[r]);
  const nums = data as Float64Array;
  return (r) => {
    const v = nums[r]!;
    return Number.isNaN(v) ? null : v;
  };
}

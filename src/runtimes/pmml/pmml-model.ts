import { ferry, FerryError } from '../../core/errors.js';
import type { DType } from '../../core/dtype.js';
import type { ModelSignature, TensorSpec } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import { ArtifactError } from '../artifact-error.js';
import type { ModelRuntime } from '../model-runtime.js';
import type { AdditiveStructure, LinearStructure, ModelStructure, ReasonPoints } from '../model-structure.js';
import { compileDocument, type CompiledDocument } from './document.js';
import { BatchScorer, type BatchOutput } from './batch-scorer.js';
import type { DataType, LinearKernel, Prediction, Row, ScorecardKernel, Value } from './types.js';
import { isNumeric, valuesEqual } from './values.js';
import { parseXml, type XmlElement } from './xml.js';

/**
 * A compiled PMML document as a runtime. Kept apart from the factory (pmml-runtime.ts) so that
 * the XML parser and the model kernels load when a PMML model does, not with the catalog.
 */
export function loadPmmlModel(bytes: Uint8Array, label: string): ModelRuntime {
  return new PmmlModel(loadDocument(bytes), label);
}

/** A model from its element tree, already parsed (an exported package ships the tree, not the XML). */
export function loadPmmlTree(root: XmlElement, label: string): ModelRuntime {
  return new PmmlModel(compileDocument(root), label);
}

/** Parse and compile a document; malformed text or XML, invalid PMML and unsupported elements throw `ArtifactError`s. */
export function loadDocument(bytes: Uint8Array): CompiledDocument {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ArtifactError('the file is not valid UTF-8 text', 'FERRY_E_ARTIFACT_INVALID', {}, { cause: err });
  }
  let root;
  try {
    root = parseXml(text);
  } catch (err) {
    throw new ArtifactError(`the XML does not parse (${err instanceof Error ? err.message : String(err)})`, 'FERRY_E_ARTIFACT_INVALID', {}, { cause: err });
  }
  return compileDocument(root);
}

function dtypeOf(dataType: DataType): DType {
  if (isNumeric(dataType)) return 'float64';
  if (dataType === 'boolean') return 'bool';
  return 'string';
}

/** Outputs carry booleans as text ("true"/"false") so that a missing one can be null. */
function outputDtype(dataType: DataType): DType {
  return isNumeric(dataType) ? 'float64' : 'string';
}

class PmmlModel implements ModelRuntime {
  readonly format = 'pmml';
  readonly #doc: CompiledDocument;
  readonly #signature: ModelSignature;
  readonly #label: string;
  /** The batch path (tree ensembles whose results it can all read), or undefined: the general path scores. */
  readonly #batch: BatchScorer | undefined;

  constructor(doc: CompiledDocument, label: string) {
    this.#doc = doc;
    this.#label = label;
    const inputs: TensorSpec[] = [...doc.model.groups, ...doc.model.inputs].map((f) => ({ name: f.name, dtype: dtypeOf(f.dataType), shape: [-1], nullable: true }));
    const outputs: TensorSpec[] = doc.model.results.map((f) => ({ name: f.name, dtype: outputDtype(f.dataType), shape: [-1], nullable: true }));
    this.#signature = { inputs, outputs };
    this.#batch = batchScorer(doc, inputs, outputs);
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    try {
      return Promise.resolve(this.#predict(inputs, outputs));
    } catch (err) {
      return Promise.reject(err instanceof FerryError ? err : ferry('FERRY_E_PREDICTION_FAILED', { format: 'PMML', model: this.#label, detail: err instanceof Error ? err.message : String(err) }, err));
    }
  }

  #predict(inputs: Readonly<Record<string, Tensor>>, wanted?: readonly string[]): Record<string, Tensor> {
    const batched = this.#batch?.score(inputs, wanted);
    if (batched) return batched;
    const specs = this.#signature.inputs;
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
    const names = wanted ?? this.#signature.outputs.map((o) => o.name);
    const outSpecs = names.map((name) => {
      const spec = this.#signature.outputs.find((o) => o.name === name);
      if (!spec) throw ferry('FERRY_E_OUTPUT_UNKNOWN', { output: name, outputs: this.#signature.outputs.map((o) => o.name).join(', ') });
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
      for (const group of groupRows(readers, model.groups.map((g) => g.name), rows)) {
        const first = group[0]!;
        const transaction: Row = {
          get: (name) => readers.find((x) => x.name === name)?.read(first) ?? null,
          values: (name) => {
            const read = readers.find((x) => x.name === name)?.read;
            return read ? group.map(read).filter((v) => v !== null) : [];
          },
        };
        const { fields } = model.score(transaction);
        for (const r of group) write(r, fields);
      }
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

  /**
   * The neutral structure explanations read: tree ensembles scored by the batch path, single
   * TreeModels over numeric inputs, Scorecards, and models linear in their numeric inputs
   * (RegressionModel, GeneralRegressionModel covariates).
   */
  structure(): Promise<ModelStructure | undefined> {
    const model = this.#doc.model;
    const batch = model.batch;
    if (model.groups.length > 0) return Promise.resolve(undefined);
    // Explanations read the trees as they are: not when the batch path fills missing inputs first.
    if (batch?.kernel.structure && this.#batch && !batch.fills) return Promise.resolve(batch.kernel.structure());
    if (model.scorecard) return Promise.resolve(this.#scorecardStructure(model.scorecard));
    if (model.tree) return Promise.resolve(model.tree());
    if (model.linear?.categorical) return Promise.resolve(this.#categoricalStructure(model.linear, model.linear.categorical));
    return Promise.resolve(model.linear ? linearStructure(model.linear) : undefined);
  }

  /**
   * A one-output linear model with categorical predictors as additive parts: wⱼ·xⱼ per numeric field,
   * the matching level's coefficient per categorical field (0 for an unlisted level); a row with a
   * missing field is not scored (NaN), as the model answers missing.
   */
  #categoricalStructure(k: LinearKernel, categorical: NonNullable<LinearKernel['categorical']>): AdditiveStructure {
    const inputs = [...k.fields, ...categorical.map((c) => c.field)];
    const N = k.fields.length;
    const model = this.#doc.model;
    const F = inputs.length;
    return {
      kind: 'additive', numFeature: F, numGroup: 1, inputs, base: k.bias[0]!, link: k.link, reasonDirection: 'increases',
      expected: (means, shares) => Float64Array.from(inputs, (name, j) => {
        if (j < N) return k.weights[j]! * (means(name) ?? 0);
        const share = shares(name);
        let e = 0;
        if (share) for (const level of categorical[j - N]!.levels) e += (share.get(String(level.value)) ?? 0) * level.coefficient;
        return e;
      }),
      parts: (tensors) => {
        const readers = inputs.map((name) => {
          const t = tensors[name];
          return t ? reader(t) : () => null;
        });
        const rows = tensors[inputs[0] ?? '']?.shape[0] ?? 0;
        const values = new Float64Array(rows * F);
        const scores = new Float64Array(rows);
        // The margin as the model computes it (its MiningSchema checks included), before the link.
        const all = new Map<string, (r: number) => Value>();
        for (const spec of this.#signature.inputs) {
          const t = tensors[spec.name];
          if (t) all.set(spec.name, reader(t));
        }
        let current = 0;
        const row: Row = { get: (name) => all.get(name)?.(current) ?? null };
        const scoreOf = (p: Prediction): number => {
          if (typeof p.value !== 'number') return Number.NaN;
          return k.link.kind === 'identity' ? p.value : k.link.kind === 'exp' ? Math.log(p.value) : Number.NaN;
        };
        for (let r = 0; r < rows; r++) {
          current = r;
          let margin = k.bias[0]!;
          for (let j = 0; j < F; j++) {
            const v = readers[j]!(r);
            let part: number;
            if (v === null) part = Number.NaN;
            else if (j < N) part = k.weights[j]! * (typeof v === 'number' ? v : Number(v));
            else part = categorical[j - N]!.levels.find((l) => valuesEqual(v, l.value))?.coefficient ?? 0;
            values[r * F + j] = part;
            margin += part;
          }
          const own = model.score(row).prediction;
          // Classification (logit) answers probabilities: its margin is the one computed here, when the model scored the row.
          const score = k.link.kind === 'sigmoid' ? (own.value === null ? Number.NaN : margin) : scoreOf(own);
          if (Number.isNaN(score)) values.fill(Number.NaN, r * F, (r + 1) * F);
          scores[r] = score;
        }
        return { rows, values, scores, reasons: Array.from({ length: rows }, () => []) };
      },
    };
  }

  /** A Scorecard's parts per input field: each Characteristic's partial score less its baseline, summed per field. */
  #scorecardStructure(k: ScorecardKernel): AdditiveStructure {
    const inputs = [...new Set(k.fields)];
    const slot = Int32Array.from(k.fields, (f) => inputs.indexOf(f));
    const F = inputs.length;
    let base = k.initialScore;
    for (const b of k.baselines) base += b;
    const model = this.#doc.model;
    return {
      kind: 'additive', numFeature: F, numGroup: 1, inputs, base,
      reasonDirection: k.algorithm === 'pointsBelow' ? 'decreases' : 'increases',
      parts: (tensors) => {
        const readers = new Map<string, (r: number) => Value>();
        let rows = 0;
        for (const spec of this.#signature.inputs) {
          const t = tensors[spec.name];
          if (!t) continue;
          readers.set(spec.name, reader(t));
          rows = t.shape[0] ?? 0;
        }
        let current = 0;
        const row: Row = { get: (name) => readers.get(name)?.(current) ?? null };
        const values = new Float64Array(rows * F);
        const scores = new Float64Array(rows);
        const reasons: ReasonPoints[][] = [];
        for (let r = 0; r < rows; r++) {
          current = r;
          const p = model.score(row).prediction;
          const partial = p.partialScores;
          if (typeof p.value !== 'number' || !partial) {
            values.fill(Number.NaN, r * F, (r + 1) * F);
            scores[r] = Number.NaN;
            reasons.push([]);
            continue;
          }
          for (let c = 0; c < slot.length; c++) { const at = r * F + slot[c]!; values[at] = values[at]! + partial[c]! - k.baselines[c]!; }
          scores[r] = p.value;
          reasons.push((p.reasonCodes ?? []).map((code, i) => ({ code, points: p.reasonPoints?.[i] ?? Number.NaN })));
        }
        return { rows, values, scores, reasons };
      },
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Rows with equal group-field values, in order of first appearance (one transaction each). Every
 * row of a group gets the group's result.
 */
function groupRows(readers: readonly { name: string; read: (r: number) => Value }[], groupFields: readonly string[], rows: number): number[][] {
  const keyReaders = groupFields.map((g) => readers.find((x) => x.name === g)!.read);
  const groups = new Map<string, number[]>();
  for (let r = 0; r < rows; r++) {
    const key = JSON.stringify(keyReaders.map((read) => read(r)));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  return [...groups.values()];
}

/** Read row r of a 1-D tensor as a PMML value: NaN and null are missing, bools become booleans. */
function reader(t: Tensor): (r: number) => Value {
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

/**
 * The batch path of a document (see batch-scorer.ts): its batch kernel with every result in
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

/** A linear kernel as the neutral structure; a row with a missing field has no margin (the model gives no score). */
function linearStructure(k: LinearKernel): LinearStructure {
  const F = k.fields.length;
  const G = k.groups;
  return {
    kind: 'linear', numFeature: F, numGroup: G, inputs: k.fields, weights: k.weights, bias: k.bias, link: k.link, missingAs: 'mean',
    margins(x, rows) {
      const out = new Float64Array(rows * G);
      for (let r = 0; r < rows; r++) {
        for (let g = 0; g < G; g++) {
          let m = k.bias[g]!;
          for (let j = 0; j < F; j++) m += k.weights[j * G + g]! * x[r * F + j]!;
          out[r * G + g] = m;
        }
      }
      return out;
    },
  };
}

/**
 * A compiled scikit-learn model document as a runtime: what the server and edge packages run
 * (no pickle reader, hash or file code here, so a package bundles only the evaluator).
 */
import { ferry } from '../../core/errors.js';
import type { ModelSignature, TensorSpec } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import type { ModelRuntime } from '../model-runtime.js';
import { matrixInput, requestedOutputs, settle } from '../tree-outputs.js';
import type { CompiledModel } from './compile.js';
import { score, scoreTable, type Scores } from './evaluate.js';
import type { Column } from './columns.js';
import type { ModelStructure } from '../model-structure.js';
import { sklearnLinearStructure, sklearnStructure } from './sklearn-structure.js';

function labelSpec(classes: readonly (string | number)[]): TensorSpec {
  const dtype = classes.every((c) => typeof c === 'number' && Number.isInteger(c)) ? 'int64' : classes.every((c) => typeof c === 'number') ? 'float64' : 'string';
  return { name: 'label', dtype, shape: [-1] };
}

export class SklearnModel implements ModelRuntime {
  readonly format = 'sklearn';
  readonly #model: CompiledModel;
  readonly #signature: ModelSignature;
  readonly #label: string;

  constructor(model: CompiledModel, label: string) {
    this.#model = model;
    this.#label = label;
    const input: TensorSpec = { name: 'input', dtype: 'float64', shape: [-1, model.features], ...(model.names ? { columns: model.names } : {}), nullable: model.nullable };
    // Text columns (a ColumnTransformer with encoders): one input per column, as the DataFrame had them.
    const inputs: TensorSpec[] = model.types && model.names
      ? model.names.map((name, j) => ({ name, dtype: model.types![j] === 'string' ? 'string' as const : 'float64' as const, shape: [-1], nullable: true }))
      : [input];
    const classes = model.classes;
    const hasProba = !(model.estimator.kind === 'linear' && model.estimator.link === 'none');
    const outputs: TensorSpec[] = classes
      ? [labelSpec(classes), ...(hasProba ? [{ name: 'probabilities', dtype: 'float64' as const, shape: [-1, classes.length] }] : [])]
      : [{ name: 'prediction', dtype: 'float64', shape: [-1] }];
    this.#signature = { inputs, outputs };
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    return settle('scikit-learn', this.#label, () => {
      const m = this.#model;
      if (m.types) {
        const { table, rows } = tableInput(this.#signature, inputs);
        return this.#outputs(scoreTable(m, table, rows), rows, outputs);
      }
      const { data, rows } = matrixInput(inputs, m.features, 'float64');
      const x = data instanceof Float64Array ? data : Float64Array.from(data);
      if (!m.nullable) {
        for (let i = 0; i < x.length; i++) {
          if (x[i] !== x[i]) throw ferry('FERRY_E_VALUE_MISSING', { row: Math.floor(i / m.features) + 1, column: m.names?.[i % m.features] ?? `input[${i % m.features}]`, expected: 'a number (this model does not accept missing values, as scikit-learn does not)' });
        }
      }
      return this.#outputs(score(m, x, rows), rows, outputs);
    });
  }

  #outputs(s: Scores, rows: number, outputs: readonly string[] | undefined): Record<string, Tensor> {
    const m = this.#model;
    const out: Record<string, Tensor> = {};
    for (const name of requestedOutputs(this.#signature, outputs)) {
      if (name === 'prediction' && s.values) out.prediction = { dtype: 'float64', shape: [rows], data: s.values };
      if (name === 'probabilities' && s.probabilities) out.probabilities = { dtype: 'float64', shape: [rows, m.classes?.length ?? 0], data: s.probabilities };
      if (name === 'label' && s.labels && m.classes) out.label = labels(this.#signature.outputs[0]!, m.classes, s.labels);
    }
    return out;
  }

  /** Models whose steps keep each input column as one feature: trees (TreeSHAP) and linear models with affine steps. */
  structure(): Promise<ModelStructure | undefined> {
    return Promise.resolve(sklearnStructure(this.#model) ?? sklearnLinearStructure(this.#model));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** One tensor per input column ([N] or [N, 1]), numbers as float64 and text as strings. */
function tableInput(signature: ModelSignature, inputs: Readonly<Record<string, Tensor>>): { table: Column[]; rows: number } {
  let rows = -1;
  const table = signature.inputs.map((spec) => {
    const t = inputs[spec.name];
    if (!t) throw ferry('FERRY_E_INPUT_MISSING', { input: spec.name, expected: `${spec.dtype} [N]`, present: Object.keys(inputs).join(', ') || 'no inputs' });
    const n = t.shape[0] ?? 0;
    if (t.shape.length > 2 || (t.shape.length === 2 && t.shape[1] !== 1) || (rows >= 0 && n !== rows)) {
      throw ferry('FERRY_E_TENSOR_SHAPE', { input: spec.name, expected: `${spec.dtype} [N] (one value per row, N the same for every input)`, actual: `${t.dtype} [${t.shape.join(', ')}]` });
    }
    rows = n;
    const d = t.data;
    if (spec.dtype === 'string') return Array.isArray(d) ? (d as readonly (string | null)[]) : Array.from(d as ArrayLike<number | bigint>, (v) => (typeof v === 'number' && Number.isNaN(v) ? null : String(v)));
    if (d instanceof Float64Array) return d;
    if (Array.isArray(d)) return Float64Array.from(d as readonly (string | null)[], (v) => (v === null || v === '' ? Number.NaN : Number(v)));
    return Float64Array.from(d as ArrayLike<number | bigint>, Number);
  });
  return { table, rows: Math.max(rows, 0) };
}

function labels(spec: TensorSpec, classes: readonly (string | number)[], index: Int32Array): Tensor {
  const rows = index.length;
  if (spec.dtype === 'int64') return { dtype: 'int64', shape: [rows], data: BigInt64Array.from(index, (i) => BigInt(classes[i] as number)) };
  if (spec.dtype === 'float64') return { dtype: 'float64', shape: [rows], data: Float64Array.from(index, (i) => classes[i] as number) };
  return { dtype: 'string', shape: [rows], data: Array.from(index, (i) => String(classes[i])) };
}

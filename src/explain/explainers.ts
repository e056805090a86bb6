/**
 * Picks the explainer for a loaded model: exact TreeSHAP when the runtime exposes a tree
 * structure, exact linear attributions for a linear one, else sampled Shapley values over
 * background rows (labelled approximate). Also says which input column each feature is and how
 * to read the explainer's row matrix out of the validated input tensors the scoring layer packs.
 */
import { ferry } from '../core/errors.js';
import type { ModelSignature, TensorSpec } from '../core/signature.js';
import { rowWidth } from '../core/signature.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelRuntime } from '../runtimes/model-runtime.js';
import type { ModelStructure } from '../runtimes/model-structure.js';
import type { Attributions, ExplainMethod, Explainer, ExplainRequest } from './explainer.js';
import { additiveExplainer } from './additive-explainer.js';
import { LinearExplainer } from './linear-explainer.js';
import { SamplingExplainer } from './sampling-explainer.js';
import { TreeExplainer } from './tree-explainer.js';

/** What the version's reference data offers: per-column means (linear) and background rows (sampling). */
export interface ExplainSources {
  readonly means?: ReadonlyMap<string, number> | undefined;
  /** Category shares by column name (categorical columns of the reference profile). */
  readonly shares?: ReadonlyMap<string, ReadonlyMap<string, number>> | undefined;
  /** Background rows by column name (each array: one value per row; NaN = missing). */
  readonly background?: ReadonlyMap<string, Float64Array> | undefined;
  /**
   * The data columns that filled each model input when the reference profile was taken: the
   * feature names of a tensor input registered without a column mapping.
   */
  readonly columns?: Readonly<Record<string, readonly string[]>> | undefined;
  /** Sampling: order pairs per row, time budget per batch, seed. */
  readonly pairs?: number | undefined;
  readonly budgetMs?: number | undefined;
  readonly seed?: number | undefined;
}

/** Reads a numeric explainer's rows × features (float64, NaN = missing) from the model's validated input tensors. */
export type RowMatrix = (inputs: Readonly<Record<string, Tensor>>) => { x: Float64Array; rows: number };

/** A model's explainer: the names of its features and its attributions of validated input tensors. */
export interface ModelExplainer {
  readonly method: ExplainMethod;
  /** The input column of each feature, in order. */
  readonly names: readonly string[];
  explain(inputs: Readonly<Record<string, Tensor>>, request?: ExplainRequest): Promise<Attributions>;
  /** Explainers over a float64 row matrix (all but Scorecards): the explainer and how its rows are read. */
  readonly numeric?: { readonly explainer: Explainer; readonly matrix: RowMatrix };
}

function numericExplainer(explainer: Explainer, names: readonly string[], matrix: RowMatrix): ModelExplainer {
  return {
    method: explainer.method, names, numeric: { explainer, matrix },
    explain: (inputs, request) => {
      const { x, rows } = matrix(inputs);
      return explainer.explain(x, rows, request);
    },
  };
}

function columnsOf(spec: TensorSpec, width: number, profiled?: readonly string[]): string[] {
  if (spec.columns && spec.columns.length === width) return [...spec.columns];
  if (profiled && profiled.length === width) return [...profiled];
  return Array.from({ length: width }, (_, j) => `${spec.name}_${j}`);
}

function toFloat64(data: Tensor['data'], label: string): Float64Array {
  if (data instanceof Float64Array) return data;
  if (data instanceof Float32Array || data instanceof Int32Array || data instanceof Int16Array || data instanceof Int8Array || data instanceof Uint8Array || data instanceof Uint16Array || data instanceof Uint32Array) return Float64Array.from(data);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float64Array.from(data, (v) => Number(v));
  throw ferry('FERRY_E_EXPLAIN_UNSUPPORTED', { model: label, detail: 'its input holds strings; only numeric inputs can be explained' });
}

/** A matrix input [N, F] (the model's single input), or one scalar input per feature (PMML fields). */
function reader(signature: ModelSignature, fields: readonly string[] | undefined, label: string, profiled?: Readonly<Record<string, readonly string[]>>): { names: string[]; matrix: RowMatrix; width: number; spec?: TensorSpec } {
  if (fields) {
    return {
      names: [...fields],
      width: fields.length,
      matrix: (inputs) => {
        const cols = fields.map((f) => toFloat64(inputs[f]?.data ?? new Float64Array(0), label));
        const rows = cols[0]?.length ?? 0;
        const x = new Float64Array(rows * fields.length);
        cols.forEach((c, j) => {
          for (let r = 0; r < rows; r++) x[r * fields.length + j] = c[r] ?? Number.NaN;
        });
        return { x, rows };
      },
    };
  }
  const [spec, more] = signature.inputs;
  const width = spec && spec.shape.length === 2 ? rowWidth(spec) : undefined;
  if (!spec || more || width === undefined) {
    throw ferry('FERRY_E_EXPLAIN_UNSUPPORTED', { model: label, detail: 'only models with one numeric input of shape [N, features] (or PMML fields) can be explained' });
  }
  return {
    names: columnsOf(spec, width, profiled?.[spec.name]),
    width,
    spec,
    matrix: (inputs) => {
      const t = inputs[spec.name];
      if (!t) throw ferry('FERRY_E_INPUT_MISSING', { input: spec.name, expected: `[N, ${width}]`, present: Object.keys(inputs).join(', ') });
      return { x: toFloat64(t.data, label), rows: t.shape[0] ?? 0 };
    },
  };
}

/** The output the sampling fallback explains: the first numeric one, with its width per row. */
function explainedOutput(signature: ModelSignature, label: string): { name: string; groups: number } {
  for (const o of signature.outputs) {
    if (o.dtype === 'string' || o.dtype === 'bool' || o.dtype === 'int64') continue;
    const groups = o.shape.length <= 1 ? 1 : rowWidth(o);
    if (groups !== undefined) return { name: o.name, groups };
  }
  throw ferry('FERRY_E_EXPLAIN_UNSUPPORTED', { model: label, detail: 'it has no numeric output of a fixed width to explain' });
}

/** Build the explainer of a loaded model. */
export async function explainerFor(runtime: ModelRuntime, signature: ModelSignature, label: string, sources: ExplainSources = {}): Promise<ModelExplainer> {
  const structure: ModelStructure | undefined = await runtime.structure?.();
  if (structure?.kind === 'additive') return additiveExplainer(structure, sources, label);
  const read = reader(signature, structure?.inputs, label, sources.columns);
  if (structure && structure.numFeature !== read.width) {
    throw ferry('FERRY_E_EXPLAIN_UNSUPPORTED', { model: label, detail: `the model has ${structure.numFeature} features but its input has ${read.width}` });
  }
  if (structure?.kind === 'trees') return numericExplainer(new TreeExplainer(structure, label), read.names, read.matrix);
  if (structure?.kind === 'linear') {
    const means = sources.means ? read.names.map((n) => sources.means?.get(n) ?? Number.NaN) : undefined;
    return numericExplainer(new LinearExplainer(structure, means, label), read.names, read.matrix);
  }
  const background = sources.background;
  if (!background || background.size === 0) throw ferry('FERRY_E_EXPLAIN_BACKGROUND', { model: label, detail: `${runtime.format} models are explained by sampling against background rows, and none were given` });
  const cols = read.names.map((n) => {
    const c = background.get(n);
    if (!c) throw ferry('FERRY_E_EXPLAIN_BACKGROUND', { model: label, detail: `the background data has no column "${n}"` });
    return c;
  });
  const rows = Math.min(...cols.map((c) => c.length));
  const F = read.width;
  const bg = new Float64Array(rows * F);
  cols.forEach((c, j) => {
    for (let r = 0; r < rows; r++) bg[r * F + j] = c[r]!;
  });
  const output = explainedOutput(signature, label);
  const spec = read.spec!;
  const score = async (x: Float64Array, n: number): Promise<Float64Array> => {
    const data = spec.dtype === 'float64' ? x : Float32Array.from(x);
    const out = await runtime.predict({ [spec.name]: { dtype: spec.dtype === 'float64' ? 'float64' : 'float32', shape: [n, F], data } }, [output.name]);
    return toFloat64(out[output.name]!.data, label);
  };
  const explainer = new SamplingExplainer(score, F, output.groups, { background: bg, pairs: sources.pairs, budgetMs: sources.budgetMs, seed: sources.seed }, label);
  return numericExplainer(explainer, read.names, read.matrix);
}

/**
 * Explanations in the scoring layer: one explainer per loaded version (built on first use,
 * kept while the runtime lives), fed with the validated input tensors of the scored rows, so a
 * row gets the same numbers whichever mode scored it. The pipeline's `explain` output stage, the
 * CLI and the servers all go through `Explanations`; the columns form (`contrib_<feature>`, …)
 * is what batch writers and the row-oriented protocols serialise.
 */
import type { Frame } from '../core/frame.js';
import type { Tensor } from '../core/tensor.js';
import type { Attributions, OutputSpace } from '../explain/explainer.js';
import type { ExplainSources, ModelExplainer } from '../explain/explainers.js';
import { explanationsOf, topK, type Explanation } from '../explain/explanation.js';
import type { ModelVersion } from '../registry/types.js';
import type { ModelRuntime } from '../runtimes/model-runtime.js';
import { planInputs, type PlanOptions } from './input-plan.js';
import type { OutputColumn, OutputValue } from './outputs.js';
import type { LoadedModel } from './scorer.js';
import { packTensors, validateRows } from './tensorize.js';

/** What a caller may ask (`--space`, `--top-k`; `explain: {space, top_k}` in requests). */
export interface ExplainOptions {
  readonly space?: OutputSpace | undefined;
  readonly topK?: number | undefined;
}

/** Attributions with the input column of each feature. */
export interface ExplainedRows {
  readonly attributions: Attributions;
  readonly names: readonly string[];
}

/** Where a version's means and background rows come from (its reference profile; wired at the root). */
export type ExplainSourcesOf = (version: ModelVersion) => Promise<ExplainSources>;

export class Explanations {
  readonly #sources: ExplainSourcesOf;
  readonly #explainers = new WeakMap<ModelRuntime, Promise<ModelExplainer>>();

  constructor(sources: ExplainSourcesOf = () => Promise.resolve({})) {
    this.#sources = sources;
  }

  /** The explainer of a loaded version (built once per runtime). */
  explainer(model: LoadedModel): Promise<ModelExplainer> {
    let e = this.#explainers.get(model.runtime);
    if (!e) {
      const label = `${model.version.model}:${model.version.version}`;
      // The explainers (TreeSHAP, sampling, linear) load with the first explanation, not with every command.
      e = Promise.all([this.#sources(model.version), import('../explain/explainers.js')])
        .then(([sources, { explainerFor }]) => explainerFor(model.runtime, model.version.signature, label, sources));
      this.#explainers.set(model.runtime, e);
      e.catch(() => this.#explainers.delete(model.runtime));
    }
    return e;
  }

  /** Explain validated input tensors (the rows a run scored). */
  async tensors(model: LoadedModel, inputs: Readonly<Record<string, Tensor>>, options: ExplainOptions = {}): Promise<ExplainedRows> {
    const e = await this.explainer(model);
    return { attributions: await e.explain(inputs, { space: options.space }), names: e.names };
  }

  /** Explain the given (already scored, so valid) rows of a Frame, mapped to inputs as the scorer maps them. */
  async frame(model: LoadedModel, frame: Frame, rows: readonly number[], plan: PlanOptions = {}, options: ExplainOptions = {}): Promise<ExplainedRows> {
    const inputPlan = planInputs(model.version.signature, frame, plan);
    const { values } = validateRows(inputPlan, frame);
    return this.tensors(model, packTensors(inputPlan, values, rows), options);
  }
}

/** The JSON explanations of explained rows (the one shape; see explain/explanation.ts). */
export function explanationObjects(e: ExplainedRows, options: ExplainOptions = {}): Explanation[] {
  return explanationsOf(e.attributions, e.names, { topK: options.topK });
}

/**
 * The columns form, one value per explained row: `contrib_<feature>` (a number, or one per class),
 * `base_value`, `residual`, `output_space`, `explain_method`; sampled ones add `error_<feature>`;
 * `--top-k k` adds `reason_<i>` (feature name) and `reason_<i>_value`.
 */
export function explanationColumns(e: ExplainedRows, options: ExplainOptions = {}): OutputColumn[] {
  const a = e.attributions;
  const { rows, groups: G, features: F } = a;
  const perRow = (f: (r: number) => OutputValue): OutputValue[] => Array.from({ length: rows }, (_, r) => f(r));
  const num = (name: string, values: OutputValue[]): OutputColumn => ({ name, dtype: 'float64', rowShape: G === 1 ? [] : [G], values });
  const text = (name: string, values: OutputValue[]): OutputColumn => ({ name, dtype: 'string', rowShape: [], values });
  const cell = (data: Float64Array, r: number, j: number): OutputValue => (G === 1 ? data[r * F + j]! : Array.from({ length: G }, (_, g) => data[(r * G + g) * F + j]!));
  const columns: OutputColumn[] = e.names.map((name, j) => num(`contrib_${name}`, perRow((r) => cell(a.values, r, j))));
  const base: OutputValue = G === 1 ? a.base[0]! : Array.from(a.base);
  columns.push(num('base_value', perRow(() => base)));
  columns.push({ ...num('residual', perRow((r) => a.residual[r]!)), rowShape: [] });
  columns.push(text('output_space', perRow(() => a.space)));
  columns.push(text('explain_method', perRow(() => a.method)));
  if (a.error) {
    const err = a.error;
    e.names.forEach((name, j) => columns.push(num(`error_${name}`, perRow((r) => cell(err, r, j)))));
  }
  const k = Math.min(options.topK ?? 0, F);
  if (k > 0) {
    const codes = Array.from({ length: rows }, (_, r) => topK(a, e.names, r, k));
    for (let i = 0; i < k; i++) {
      columns.push(text(`reason_${i + 1}`, codes.map((c) => c[i]?.name ?? null)));
      columns.push({ ...num(`reason_${i + 1}_value`, codes.map((c) => c[i]?.value ?? null)), rowShape: [] });
    }
  }
  return columns;
}

/** The JSON explanations back from the columns form (what the row-oriented protocols answer). */
export function explanationsFromColumns(columns: readonly OutputColumn[], rows: number): Explanation[] {
  const by = new Map(columns.map((c) => [c.name, c.values]));
  const contribs = columns.filter((c) => c.name.startsWith('contrib_'));
  const errors = columns.filter((c) => c.name.startsWith('error_'));
  const reasons = columns.filter((c) => /^reason_\d+$/.test(c.name));
  const out: Explanation[] = [];
  for (let r = 0; r < rows; r++) {
    const method = by.get('explain_method')?.[r] as Explanation['method'];
    const perFeature = (cols: readonly OutputColumn[], prefix: string): Record<string, number | number[]> =>
      Object.fromEntries(cols.map((c) => [c.name.slice(prefix.length), c.values[r] as number | number[]]));
    const top = reasons.map((c) => {
      const value = by.get(`${c.name}_value`)?.[r] as number;
      return { name: c.values[r] as string, value, direction: value >= 0 ? 'increases' as const : 'decreases' as const };
    });
    out.push({
      output_space: by.get('output_space')?.[r] as Explanation['output_space'],
      base_value: by.get('base_value')?.[r] as number | number[],
      contributions: perFeature(contribs, 'contrib_'),
      residual: by.get('residual')?.[r] as number,
      method,
      ...(method === 'sampling' ? { approximate: true as const, error: perFeature(errors, 'error_') } : {}),
      ...(top.length > 0 ? { top_k: top } : {}),
    });
  }
  return out;
}

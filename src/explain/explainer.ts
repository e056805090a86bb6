/**
 * The explanation seam: an `Explainer` turns rows of a model's input into attributions —
 * one number per (row, output, feature) — plus a base value, such that base + Σ attributions
 * equals the model's score in the asked output space up to a stated residual. Implementations:
 * exact TreeSHAP (tree-explainer.ts), linear (linear-explainer.ts), sampled Shapley values for
 * any other model (sampling-explainer.ts). Attributions stay columnar (typed arrays) until a
 * protocol or writer serialises them (explanation.ts).
 */

/** Where the attributions add up: the raw margin, the presented probability, or an opaque model's raw output. */
export type OutputSpace = 'margin' | 'probability' | 'raw';

export type ExplainMethod = 'tree-shap' | 'linear' | 'sampling' | 'scorecard';

/** Attributions for a batch of rows. */
export interface Attributions {
  readonly method: ExplainMethod;
  /** True for sampled estimates (then `error` holds their standard errors). */
  readonly approximate: boolean;
  readonly space: OutputSpace;
  readonly rows: number;
  /** Outputs explained per row (classes of a multi-class model, else 1). */
  readonly groups: number;
  /** Features per row (the model input's width). */
  readonly features: number;
  /** Base value per output. */
  readonly base: Float64Array;
  /** values[(row · groups + g) · features + j]. */
  readonly values: Float64Array;
  /** The model's score per row and output in this space (rows × groups). */
  readonly scores: Float64Array;
  /** Per row: base + Σ values − score, the largest in magnitude over the outputs. */
  readonly residual: Float64Array;
  /** Sampled explanations: the estimated standard error of each value (same layout as values). */
  readonly error?: Float64Array | undefined;
  /** Models with reason codes of their own (PMML Scorecard): per row, the model's ranked codes, which `top_k` reports instead of the largest contributions. */
  readonly reasons?: readonly (readonly { readonly name: string; readonly value: number; readonly direction: 'increases' | 'decreases' }[])[] | undefined;
}

/** What a caller may ask of an explanation. */
export interface ExplainRequest {
  readonly space?: OutputSpace | undefined;
}

/** Explains one model. Built once per loaded version; `explain` is called per batch. */
export interface Explainer {
  readonly method: ExplainMethod;
  /** Width of the rows it takes (the model's single numeric input). */
  readonly features: number;
  readonly groups: number;
  /** The spaces it can answer in; the first is the default. */
  readonly spaces: readonly OutputSpace[];
  /** Rows × features values, row-major, NaN for missing. */
  explain(x: Float64Array, rows: number, request?: ExplainRequest): Promise<Attributions>;
}

/** Per row: base + Σ values − score, keeping the largest in magnitude over the outputs. */
export function residuals(base: Float64Array, values: Float64Array, scores: Float64Array, rows: number, groups: number, features: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let worst = 0;
    for (let g = 0; g < groups; g++) {
      const at = (r * groups + g) * features;
      let sum = base[g]!;
      for (let j = 0; j < features; j++) sum += values[at + j]!;
      const d = sum - scores[r * groups + g]!;
      if (Math.abs(d) > Math.abs(worst)) worst = d;
    }
    out[r] = worst;
  }
  return out;
}

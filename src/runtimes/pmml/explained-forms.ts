/**
 * The parts of a top-level model that explanations read (a linear kernel, a Scorecard's parts),
 * when the model reads its inputs as they are so that those parts are the whole score.
 */
import type { Expr, FieldInfo, LinearKernel, ModelKernel, ScorecardKernel } from './types.js';

/** What the forms are checked against (a top-level model without Targets or chained results). */
export interface ExplainedSource {
  readonly kernel: ModelKernel;
  readonly lt: boolean;
  readonly derives: boolean;
  readonly derived: ReadonlyMap<string, Expr>;
  /** The model reads its inputs as they are. */
  readonly passThrough: boolean;
  readonly activeFields: readonly FieldInfo[];
  readonly numericInput: (name: string) => boolean;
}

/** The model's linear kernel and Scorecard parts, each when explanations can read the score from it. */
export function explainedForms(m: ExplainedSource): { readonly linear?: LinearKernel; readonly scorecard?: ScorecardKernel } {
  const { kernel, activeFields } = m;
  const inputField = (name: string): boolean => activeFields.some((f) => f.name === name);
  // With categorical predictors the inputs are checked against their declared values (no pass-through):
  // explanations then take each row's score from the model itself, so the residual shows any treatment.
  const readsInputs = kernel.linear?.categorical ? !m.lt && !m.derives : m.passThrough;
  const linear = readsInputs && kernel.linear && kernel.linear.fields.every(m.numericInput)
    && (kernel.linear.categorical ?? []).every((c) => inputField(c.field))
    ? kernel.linear
    : undefined;
  const isInput = (name: string): boolean => inputField(name) && !m.derived.has(name);
  const scorecard = kernel.scorecard && kernel.scorecard.fields.every(isInput) ? kernel.scorecard : undefined;
  return { ...(linear ? { linear } : {}), ...(scorecard ? { scorecard } : {}) };
}

/**
 * Explanations as the pipeline's `explain` output stage: a request names it in `extras`
 * (`extras: { explain: true }` or `{ explain: { space: 'probability', top_k: 3 } }`) and gets, aligned
 * with the scored rows, either the columns form (Frames: `contrib_<feature>`, `base_value`, …) or,
 * for tensors (OIP, gRPC), a `contributions` tensor [n, features + 1] ([n, classes, features + 1]
 * for several outputs; the last entry is the base value, as xgboost's pred_contribs lays it out)
 * with `contribution_names` naming its columns.
 */
import { ferry } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { OutputSpace } from '../explain/explainer.js';
import type { ScoredOutputs } from './confidence.js';
import { explanationColumns, type ExplainedRows, type Explanations, type ExplainOptions } from './explanations.js';
import type { OutputStage } from './pipeline-hooks.js';

export const EXPLAIN_STAGE = 'explain';

/** The outputs the tensors form adds (OIP REST and gRPC): a request's own `outputs` list may name them. */
export const EXPLAIN_OUTPUTS: readonly string[] = ['contributions', 'contribution_names'];

const SPACES: readonly OutputSpace[] = ['margin', 'probability', 'raw'];

/** A request's explain options: `true`, or `{space, top_k}` (as a protocol sends them). */
export function explainOptions(value: unknown, protocol: string): ExplainOptions {
  if (value === true || value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw ferry('FERRY_E_REQUEST_INVALID', { protocol, detail: 'explain must be true or an object {"space": "margin" | "probability" | "raw", "top_k": k}' });
  const o = value as Record<string, unknown>;
  const space = o.space;
  if (space !== undefined && !SPACES.includes(space as OutputSpace)) throw ferry('FERRY_E_REQUEST_INVALID', { protocol, detail: `explain.space must be one of ${SPACES.join(', ')}` });
  const k = o.top_k ?? o.topK;
  if (k !== undefined && !(typeof k === 'number' && Number.isInteger(k) && k >= 0 && k <= 10_000)) throw ferry('FERRY_E_REQUEST_INVALID', { protocol, detail: 'explain.top_k must be a whole number from 0' });
  return { space: space as OutputSpace | undefined, topK: k };
}

/** The tensors form: contributions with the base value last, and their column names. */
export function contributionTensors(e: ExplainedRows): Record<string, Tensor> {
  const a = e.attributions;
  const { rows, groups: G, features: F } = a;
  const data = new Float64Array(rows * G * (F + 1));
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < G; g++) {
      const from = (r * G + g) * F;
      const to = (r * G + g) * (F + 1);
      data.set(a.values.subarray(from, from + F), to);
      data[to + F] = a.base[g]!;
    }
  }
  return {
    contributions: { dtype: 'float64', shape: G === 1 ? [rows, F + 1] : [rows, G, F + 1], data },
    contribution_names: { dtype: 'string', shape: [F + 1], data: [...e.names, 'base_value'] },
  };
}

/** What the stage adds: the protocol form, plus the attributions themselves for observers (the prediction log). */
export type ExplainedOutputs = ScoredOutputs & { readonly explained: ExplainedRows };

/** The attributions behind a run's `extras.explain`, when the run was explained. */
export function explainedOf(extras: Readonly<Record<string, ScoredOutputs>> | undefined): ExplainedRows | undefined {
  const e = extras?.[EXPLAIN_STAGE];
  return e && 'explained' in e ? (e as ExplainedOutputs).explained : undefined;
}

/** The `explain` output stage over the one `Explanations` of the composition root. */
export function explainStage(explanations: Explanations): OutputStage {
  return {
    at: 'output',
    name: EXPLAIN_STAGE,
    async add(ctx): Promise<ExplainedOutputs> {
      const options = ctx.options as ExplainOptions;
      if (ctx.input.kind === 'tensors') {
        const explained = await explanations.tensors(ctx.model, ctx.input.tensors, options);
        return { kind: 'tensors', tensors: contributionTensors(explained), explained };
      }
      const explained = await explanations.frame(ctx.model, ctx.input.frame, ctx.frameRows ?? [], ctx.input.plan ?? {}, options);
      return { kind: 'columns', columns: explanationColumns(explained, options), explained };
    },
  };
}

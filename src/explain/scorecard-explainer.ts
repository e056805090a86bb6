/**
 * Exact attributions of an additive model read from its own evaluator (PMML Scorecard): each input's
 * part is the partial scores of its Characteristics less their baselines, the base value is
 * initialScore + Σ baselines, so base + Σ parts is the score itself (residual 0). `top_k` gives the
 * model's own reason codes, ranked by its reasonCodeAlgorithm, with their points: under pointsBelow
 * a code's points are how far its Characteristics pulled the score below their baselines
 * ("decreases"), under pointsAbove how far they pushed it above ("increases").
 */
import type { Tensor } from '../core/tensor.js';
import type { AdditiveStructure } from '../runtimes/model-structure.js';
import { residuals, type Attributions, type ExplainRequest } from './explainer.js';
import type { ModelExplainer } from './explainers.js';
import { checkSpace } from './spaces.js';

/** The ModelExplainer of an additive structure (rows read from the input tensors by the model itself). */
export function scorecardExplainer(s: AdditiveStructure, label: string): ModelExplainer {
  return {
    method: 'scorecard',
    names: s.inputs,
    explain(inputs: Readonly<Record<string, Tensor>>, request: ExplainRequest = {}): Promise<Attributions> {
      const space = checkSpace(request.space, ['raw'], label);
      const { rows, values, scores, reasons } = s.parts(inputs);
      const base = Float64Array.of(s.base);
      const direction = s.reasonDirection;
      return Promise.resolve({
        method: 'scorecard', approximate: false, space, rows, groups: 1, features: s.numFeature, base, values, scores,
        residual: residuals(base, values, scores, rows, 1, s.numFeature),
        reasons: reasons.map((codes) => codes.map((c) => ({ name: c.code, value: c.points, direction }))),
      });
    },
  };
}

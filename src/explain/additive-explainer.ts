/**
 * Exact attributions of an additive model whose parts are read from its own inputs, text included:
 *
 * - PMML Scorecard: each input's part is the partial scores of its Characteristics less their
 *   baselines, the base value initialScore + Σ baselines, so base + Σ parts is the score (residual
 *   0). `top_k` gives the model's own reason codes, ranked by its reasonCodeAlgorithm, with their
 *   points: under pointsBelow a code's points are how far its Characteristics pulled the score below
 *   their baselines ("decreases"), under pointsAbove how far they pushed it above ("increases").
 * - A linear model with categorical predictors (PMML RegressionModel): part_j = wⱼ·xⱼ or the
 *   coefficient of xⱼ's level; the attribution is part_j − E[part_j] under the reference profile
 *   (column means, category shares; 0 without a profile), the linear model's Shapley value.
 */
import type { Tensor } from '../core/tensor.js';
import type { AdditiveStructure } from '../runtimes/model-structure.js';
import { residuals, type Attributions, type ExplainRequest } from './explainer.js';
import type { ExplainSources, ModelExplainer } from './explainers.js';
import { checkSpace, inSpace, spacesOf } from './spaces.js';

/** The ModelExplainer of an additive structure. */
export function additiveExplainer(s: AdditiveStructure, sources: ExplainSources, label: string): ModelExplainer {
  const F = s.numFeature;
  const expected = s.expected?.((c) => sources.means?.get(c), (c) => sources.shares?.get(c)) ?? new Float64Array(F);
  let base = s.base;
  for (const e of expected) base += e;
  const method = s.link ? 'linear' : 'scorecard';
  return {
    method,
    names: s.inputs,
    explain(inputs: Readonly<Record<string, Tensor>>, request: ExplainRequest = {}): Promise<Attributions> {
      const { rows, values, scores, reasons } = s.parts(inputs);
      for (let r = 0; r < rows; r++) for (let j = 0; j < F; j++) values[r * F + j] = values[r * F + j]! - expected[j]!;
      const b = Float64Array.of(base);
      if (s.link) {
        const space = checkSpace(request.space, spacesOf(s.link), label);
        return Promise.resolve(inSpace('linear', space, s.link, b, values, scores, rows, 1, F));
      }
      const space = checkSpace(request.space, ['raw'], label);
      const direction = s.reasonDirection;
      return Promise.resolve({
        method: 'scorecard', approximate: false, space, rows, groups: 1, features: F, base: b, values, scores,
        residual: residuals(b, values, scores, rows, 1, F),
        reasons: reasons.map((codes) => codes.map((c) => ({ name: c.code, value: c.points, direction }))),
      });
    },
  };
}

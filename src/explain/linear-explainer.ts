/**
 * Exact attributions of a linear model: wⱼ · (xⱼ − E[xⱼ]), with E[xⱼ] the feature's mean in the
 * version's reference profile (the training data's), and base value bias + Σ wⱼ · E[xⱼ]. Without a
 * profile the means are 0 (then the attributions are wⱼ · xⱼ, as xgboost's own pred_contribs gives
 * for gblinear). A missing value counts as the model's evaluator counts it.
 */
import type { LinearStructure } from '../runtimes/model-structure.js';
import type { Attributions, Explainer, ExplainRequest, OutputSpace } from './explainer.js';
import { checkSpace, inSpace, spacesOf } from './spaces.js';

export class LinearExplainer implements Explainer {
  readonly method = 'linear';
  readonly features: number;
  readonly groups: number;
  readonly spaces: readonly OutputSpace[];
  readonly #s: LinearStructure;
  readonly #means: Float64Array;
  readonly #label: string;
  readonly #base: Float64Array;

  /** `means`: E[xⱼ] per feature (NaN or absent: 0). */
  constructor(structure: LinearStructure, means: ArrayLike<number> | undefined, label: string) {
    this.#s = structure;
    this.#label = label;
    this.features = structure.numFeature;
    this.groups = structure.numGroup;
    this.spaces = spacesOf(structure.link);
    const F = this.features;
    const G = this.groups;
    this.#means = new Float64Array(F);
    for (let j = 0; j < F; j++) {
      const m = means?.[j];
      this.#means[j] = m === undefined || !Number.isFinite(m) ? 0 : m;
    }
    this.#base = Float64Array.from(structure.bias);
    for (let g = 0; g < G; g++) for (let j = 0; j < F; j++) this.#base[g] = this.#base[g]! + structure.weights[j * G + g]! * this.#means[j]!;
  }

  explain(x: Float64Array, rows: number, request: ExplainRequest = {}): Promise<Attributions> {
    const space = checkSpace(request.space, this.spaces, this.#label);
    const F = this.features;
    const G = this.groups;
    const { weights, missingAs, fill } = this.#s;
    const values = new Float64Array(rows * G * F);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < F; j++) {
        let v = x[r * F + j]!;
        if (v !== v) v = fill ? fill[j]! : missingAs === 'zero' ? 0 : this.#means[j]!;
        const d = v - this.#means[j]!;
        for (let g = 0; g < G; g++) values[(r * G + g) * F + j] = weights[j * G + g]! * d;
      }
    }
    const margins = this.#s.margins(x, rows);
    return Promise.resolve(inSpace(this.method, space, this.#s.link, Float64Array.from(this.#base), values, margins, rows, G, F));
  }
}

/** Exact TreeSHAP for a tree ensemble's structure, in margin or probability space. */
import type { TreeStructure } from '../runtimes/model-structure.js';
import type { Attributions, Explainer, ExplainRequest, OutputSpace } from './explainer.js';
import { checkSpace, inSpace, spacesOf } from './spaces.js';
import { TreeShap } from './tree-shap.js';

export class TreeExplainer implements Explainer {
  readonly method = 'tree-shap';
  readonly features: number;
  readonly groups: number;
  readonly spaces: readonly OutputSpace[];
  readonly #structure: TreeStructure;
  readonly #shap: TreeShap;
  readonly #label: string;

  constructor(structure: TreeStructure, label: string) {
    this.#structure = structure;
    this.#shap = new TreeShap(structure);
    this.#label = label;
    this.features = structure.numFeature;
    this.groups = structure.numGroup;
    this.spaces = spacesOf(structure.link);
  }

  /** The base value per output in margin space (the cover-weighted mean margin). */
  get expected(): Float64Array {
    return this.#shap.expected;
  }

  explain(x: Float64Array, rows: number, request: ExplainRequest = {}): Promise<Attributions> {
    const space = checkSpace(request.space, this.spaces, this.#label);
    const values = new Float64Array(rows * this.groups * this.features);
    this.#shap.explain(x, rows, values);
    const margins = this.#structure.margins(x, rows);
    const base = Float64Array.from(this.#shap.expected);
    return Promise.resolve(inSpace(this.method, space, this.#structure.link, base, values, margins, rows, this.groups, this.features));
  }
}

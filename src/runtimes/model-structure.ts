/**
 * The inside of a model in one neutral form, for readers other than the runtime that scores it:
 * explanations (TreeSHAP, linear attributions) and exports. Each native runtime that can describe
 * itself this way returns its compiled arrays through `ModelRuntime.structure()`; nothing here is
 * copied per request.
 */
import type { Tensor } from '../core/tensor.js';

/** How a margin becomes the model's presented score (what "probability space" means). */
export type Link =
  | { readonly kind: 'identity' }
  /** p = 1 / (1 + exp(−scale · margin)), per output (binary, one-vs-rest). */
  | { readonly kind: 'sigmoid'; readonly scale: number }
  /** p = softmax over the margins of one row. */
  | { readonly kind: 'softmax' }
  /** exp(margin) (Poisson, gamma, Tweedie, Cox). */
  | { readonly kind: 'exp' }
  /** The margins are already probabilities (a forest averaging its trees' class distributions). */
  | { readonly kind: 'probability' };

/**
 * A tree ensemble with binary splits, all trees' nodes in shared arrays. A row's margin for
 * output g is `base[g] + Σ_{trees t of g} scale[t] · value[leaf reached by t]`.
 */
export interface TreeStructure {
  readonly kind: 'trees';
  /** Width of the input row (the model's features, in input order). */
  readonly numFeature: number;
  /** Margins per row: classes of a multi-class model, else 1. */
  readonly numGroup: number;
  /**
   * Where the features come from: feature j is the scalar input named inputs[j] (PMML fields);
   * absent: the model's single input, a matrix [N, numFeature].
   */
  readonly inputs?: readonly string[] | undefined;
  /** The margin each output starts from. */
  readonly base: Float64Array;
  readonly link: Link;
  /** Per tree: its root node, its output, the factor on its leaves (dart weights, 1/iterations for averaged forests). */
  readonly roots: Int32Array;
  readonly groups: Int32Array;
  readonly scale: Float64Array;
  /** Per node: the split feature, or −1 for a leaf. */
  readonly feature: Int32Array;
  /** Per split node: its two children. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Per leaf: its value. */
  readonly value: Float64Array;
  /** Per node: the training cover (XGBoost sum_hessian, LightGBM counts, PMML recordCount). */
  readonly cover: Float64Array;
  /** Deepest root-to-leaf path (splits), for sizing work space. */
  readonly maxDepth: number;
  /**
   * The decisions of the model's own evaluator for one row: sets `goesLeft[n]` to 1 or 0 for every
   * split node n (missing values, categories and the format's comparison included).
   */
  route(x: Float64Array, offset: number, goesLeft: Uint8Array): void;
  /** The model's own margins for rows × numFeature values (NaN = missing), rows × numGroup. */
  margins(x: Float64Array, rows: number): Float64Array;
}

/** A linear model: margin[g] = bias[g] + Σ_j weights[j · numGroup + g] · x_j. */
export interface LinearStructure {
  readonly kind: 'linear';
  readonly numFeature: number;
  readonly numGroup: number;
  /** As TreeStructure.inputs. */
  readonly inputs?: readonly string[] | undefined;
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly link: Link;
  /** What a missing value counts as (XGBoost gblinear skips it: 0). */
  readonly missingAs: 'zero' | 'mean';
  /** The value a missing input takes in the model, per feature (a pipeline's imputer), over `missingAs`. */
  readonly fill?: Float64Array | undefined;
  margins(x: Float64Array, rows: number): Float64Array;
}

/** One ranked reason code of a row: the model's code and its points (how far it moved the score from the baselines). */
export interface ReasonPoints {
  readonly code: string;
  readonly points: number;
}

/**
 * A model that is a sum of per-input parts (a PMML Scorecard, a RegressionModel with categorical
 * predictors): score = base + Σ part_j. The parts are read from the model's input tensors as it
 * reads them, text included.
 */
export interface AdditiveStructure {
  readonly kind: 'additive';
  readonly numFeature: number;
  readonly numGroup: 1;
  /** Feature j is the scalar input named inputs[j]. */
  readonly inputs: readonly string[];
  readonly base: number;
  /** A margin and its link (a regression with categorical predictors), or the model's own score (Scorecard: raw). */
  readonly link?: Link | undefined;
  /**
   * The expectation of each part under the reference data (per-column means and category shares),
   * which the attributions subtract; absent: the parts are attributions as they are (Scorecard).
   */
  expected?(means: (column: string) => number | undefined, shares: (column: string) => ReadonlyMap<string, number> | undefined): Float64Array;
  /** Whether a reason code's points lower the score (pointsBelow) or raise it (pointsAbove). */
  readonly reasonDirection: 'increases' | 'decreases';
  /** Per row: the parts (rows × numFeature), the score, the model's own ranked reason codes; NaN parts and score for a row the model does not score. */
  parts(inputs: Readonly<Record<string, Tensor>>): { rows: number; values: Float64Array; scores: Float64Array; reasons: ReasonPoints[][] };
}

export type ModelStructure = TreeStructure | LinearStructure | AdditiveStructure;

/** Depth (splits on the longest path) of the trees under `roots`. */
export function treeDepth(roots: Int32Array, feature: Int32Array, left: Int32Array, right: Int32Array): number {
  let max = 0;
  const stack: number[] = [];
  for (const root of roots) {
    stack.push(root, 0);
    while (stack.length > 0) {
      const depth = stack.pop()!;
      const n = stack.pop()!;
      if (feature[n]! < 0) {
        if (depth > max) max = depth;
        continue;
      }
      stack.push(left[n]!, depth + 1, right[n]!, depth + 1);
    }
  }
  return max;
}

/** A TreeModel's compiled nodes and the operator codes of its array form (tree.ts, tree-arrays.ts). */
import type { Prediction, Row, Value } from '../types.js';

/** A compiled tree node: its predicate closure, its outcome, and the predicate as a comparison when it is one. */
export interface TreeNode {
  readonly id: string | undefined;
  readonly test: (row: Row) => boolean | null;
  readonly score: Value;
  readonly recordCount: number;
  readonly children: readonly TreeNode[];
  readonly defaultChild: TreeNode | undefined;
  /** Probability per category (ScoreDistribution probability, else recordCount share). */
  readonly probabilities: ReadonlyMap<string, number> | undefined;
  /** Confidence per category when ScoreDistribution declares it. */
  readonly confidences: ReadonlyMap<string, number> | undefined;
  /** Record count per category (aggregateNodes). */
  readonly counts: ReadonlyMap<string, number> | undefined;
  /** The predicate as a numeric comparison (for the array form), when it is one. */
  readonly simple: { readonly field: string; readonly op: number; readonly value: number } | undefined;
}

/** Operator codes of the array form. */
export const OPS: Readonly<Record<string, number>> = { lessThan: 1, lessOrEqual: 2, greaterThan: 3, greaterOrEqual: 4, equal: 5, notEqual: 6 };
export const TRUE_OP = 0;
export const FALSE_OP = 7;

/** No prediction (the walk ended nowhere). */
export const NULL_PREDICTION: Prediction = { value: null };

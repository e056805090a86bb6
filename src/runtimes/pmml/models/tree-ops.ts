/** A TreeModel's compiled nodes and the operator codes of its array form (tree.ts, tree-arrays.ts). */
import type { Prediction, Row, Value } from '../types.js';
import type { XmlElement } from '../xml.js';

/** A compiled tree node: its predicate closure and element, and its outcome. */
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
  /** The predicate element (the array form reads it as a numeric comparison, when it is one). */
  readonly predicate: XmlElement;
}

/** Operator codes of the array form. */
export const OPS: Readonly<Record<string, number>> = { lessThan: 1, lessOrEqual: 2, greaterThan: 3, greaterOrEqual: 4, equal: 5, notEqual: 6 };
export const TRUE_OP = 0;
export const FALSE_OP = 7;

/** No prediction (the walk ended nowhere). */
export const NULL_PREDICTION: Prediction = { value: null };

/**
 * From per-row scores to the output columns `ferry predict` writes in CSV (`name`, or
 * `name_0, name_1, …`): the same shaping as the runtimes' scoreOutputs, in SQL.
 */
import type { TensorSpec } from '../../core/signature.js';
import { col, num, op, when, type Expr, type NumType } from './sql-ast.js';

/** Index of the first maximum (numpy's argmax): k wins when it is ≥ every later score. */
export function argmax(scores: readonly Expr[]): Expr {
  const last = scores.length - 1;
  const whens = scores.slice(0, last).map((s, k) => {
    const conds = scores.slice(k + 1).map((later) => op('>=', s, later));
    const cond = conds.reduce((a, b) => op('AND', a, b));
    return [cond, num(k, 'int')] as const;
  });
  return whens.length === 0 ? num(0, 'int') : when(whens, num(last, 'int'));
}

/**
 * Output columns for tree/linear boosters: `prediction`/`margin` (one score), `probabilities`
 * ([1 − p, p] for binary, else one per class) and `label` (p > 0.5, or argmax).
 */
export function scoreColumns(outputs: readonly TensorSpec[], scoreNames: readonly string[], binary: boolean, type: NumType): [string, Expr][] {
  const scores = scoreNames.map(col);
  const out: [string, Expr][] = [];
  for (const o of outputs) {
    if (o.name === 'prediction' || o.name === 'margin') out.push([o.name, scores[0]!]);
    else if (o.name === 'probabilities' && binary) out.push(['probabilities_0', op('-', num(1, type), scores[0]!)], ['probabilities_1', scores[0]!]);
    else if (o.name === 'probabilities') scores.forEach((s, k) => out.push([`probabilities_${k}`, s]));
    else if (o.name === 'label') out.push(['label', binary ? when([[op('>', scores[0]!, num(0.5, type)), num(1, 'int')]], num(0, 'int')) : argmax(scores)]);
  }
  return out;
}

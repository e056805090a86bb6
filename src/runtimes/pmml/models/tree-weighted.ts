/**
 * TreeModel's missingValueStrategy weightedConfidence and aggregateNodes: where a child's predicate
 * is unknown, the prediction comes from the confidences (or record counts) of every child that may
 * be true, weighted by its share of the records. An exported package whose TreeModels use neither
 * strategy carries a stand-in (src/edge/narrowing.ts).
 */
import type { CompileContext, Prediction, Row } from '../types.js';
import type { TreeNode } from './tree-ops.js';

/** Weighted confidences of the subtree under `node` (`aggregate`: aggregateNodes' record counts, unweighted). */
export function distribution(node: TreeNode, row: Row, aggregate: boolean): Map<string, number> {
  const live = node.children.filter((c) => c.test(row) !== false);
  const known = live.find((c) => c.test(row) === true);
  if (node.children.length === 0 || live.length === 0) {
    const src = aggregate ? node.counts : node.confidences ?? node.probabilities;
    return new Map(src ?? (node.score === null ? [] : [[String(node.score), 1]]));
  }
  if (known && !live.some((c) => c.test(row) === null)) return distribution(known, row, aggregate);
  const out = new Map<string, number>();
  for (const c of live) {
    const w = aggregate ? 1 : node.recordCount > 0 ? c.recordCount / node.recordCount : 0;
    for (const [k, v] of distribution(c, row, aggregate)) out.set(k, (out.get(k) ?? 0) + w * v);
  }
  return out;
}

/** The prediction of a distribution: its best category, and (aggregateNodes) its counts as probabilities. */
export function weightedPrediction(weighted: Map<string, number>, aggregate: boolean, ctx: CompileContext): Prediction {
  let total = 0;
  for (const v of weighted.values()) total += v;
  let best: string | undefined;
  let bestV = -Infinity;
  for (const [k, v] of weighted) if (v > bestV) { bestV = v; best = k; }
  const value = best === undefined ? null : ctx.target ? ctx.parse(ctx.target.name, best) : best;
  const probabilities = aggregate && total > 0 ? new Map([...weighted].map(([k, v]) => [k, v / total])) : weighted;
  return { value, probabilities, confidences: weighted };
}

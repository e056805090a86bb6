/**
 * TreeModel: nodes compiled into objects with predicate closures, walked per row with the
 * model's missingValueStrategy (none, lastPrediction, nullPrediction, defaultChild,
 * weightedConfidence, aggregateNodes) and noTrueChildStrategy.
 */
import type { CompileContext, KernelCompiler, Prediction, Row, Value } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { looksNumeric, parseNumber } from '../values.js';
import { MODEL_ELEMENTS } from '../model-elements.js';
import { TREE_MODES } from './ensemble-run.js';
import { arrayForm } from './tree-arrays.js';
import { distribution, weightedPrediction } from './tree-weighted.js';
import { NULL_PREDICTION, type TreeNode } from './tree-ops.js';

const PREDICATES = new Set(['SimplePredicate', 'SimpleSetPredicate', 'CompoundPredicate', 'True', 'False']);

function num(el: XmlElement, name: string, ctx: CompileContext): number | undefined {
  const t = attr(el, name);
  if (t === undefined) return undefined;
  const n = parseNumber(t);
  if (Number.isNaN(n)) ctx.invalid(el, `attribute ${name}="${t}" is not a number`);
  return n;
}

function compileNode(el: XmlElement, ctx: CompileContext, targetName: string | undefined, counter: { n: number }): TreeNode {
  counter.n++;
  const implicitId = String(counter.n);
  const predicateEl = el.children.find((c) => PREDICATES.has(c.name));
  if (!predicateEl) ctx.invalid(el, 'Node has no predicate');
  const embedded = el.children.find((c) => MODEL_ELEMENTS.has(c.name));
  if (embedded) ctx.unsupported(embedded, `a model embedded in a tree Node (<${embedded.name}>) is not supported`);
  if (el.children.some((c) => c.name === 'Partition')) {
    // Partition statistics are informative only.
  }
  const sds = children(el, 'ScoreDistribution');
  let probabilities: Map<string, number> | undefined;
  let confidences: Map<string, number> | undefined;
  let counts: Map<string, number> | undefined;
  let bestCategory: string | undefined;
  if (sds.length > 0) {
    probabilities = new Map();
    counts = new Map();
    let total = 0;
    for (const sd of sds) total += num(sd, 'recordCount', ctx) ?? 0;
    let best = -Infinity;
    for (const sd of sds) {
      const value = attr(sd, 'value') ?? ctx.invalid(sd, 'attribute "value" is required');
      const rc = num(sd, 'recordCount', ctx) ?? 0;
      const p = num(sd, 'probability', ctx) ?? (total > 0 ? rc / total : 0);
      probabilities.set(value, p);
      counts.set(value, rc);
      const c = num(sd, 'confidence', ctx);
      if (c !== undefined) (confidences ??= new Map()).set(value, c);
      if (p > best) { best = p; bestCategory = value; }
    }
  }
  const scoreText = attr(el, 'score') ?? bestCategory;
  const score: Value = scoreText === undefined ? null : targetName ? ctx.parse(targetName, scoreText) : looksNumeric(scoreText) ? parseNumber(scoreText) : scoreText;
  const kids = children(el, 'Node').map((c) => compileNode(c, ctx, targetName, counter));
  const defaultChildId = attr(el, 'defaultChild');
  const defaultChild = defaultChildId === undefined ? undefined : kids.find((k) => k.id === defaultChildId);
  if (defaultChildId !== undefined && !defaultChild) ctx.invalid(el, `defaultChild="${defaultChildId}" names no child Node`);
  return {
    id: attr(el, 'id') ?? implicitId,
    test: ctx.predicate(predicateEl),
    predicate: predicateEl,
    score,
    recordCount: num(el, 'recordCount', ctx) ?? sumCounts(counts),
    children: kids,
    defaultChild,
    probabilities,
    confidences,
    counts,
  };
}

function sumCounts(counts: ReadonlyMap<string, number> | undefined): number {
  let s = 0;
  for (const v of counts?.values() ?? []) s += v;
  return s;
}

/** Where the walk ended: a node (with the missing-value penalty count), or no prediction. */
type Walk = { node: TreeNode; penalties: number } | { node: null } | { weighted: Map<string, number> };

export const treeModel: KernelCompiler = (el, ctx) => {
  const strategy = attr(el, 'missingValueStrategy') ?? 'none';
  const noTrueChild = attr(el, 'noTrueChildStrategy') ?? 'returnNullPrediction';
  if (!['none', 'lastPrediction', 'nullPrediction', 'defaultChild', 'weightedConfidence', 'aggregateNodes'].includes(strategy)) {
    ctx.unsupported(el, `missingValueStrategy="${strategy}" is not supported`);
  }
  if (noTrueChild !== 'returnNullPrediction' && noTrueChild !== 'returnLastPrediction') ctx.unsupported(el, `noTrueChildStrategy="${noTrueChild}" is not supported`);
  const penalty = num(el, 'missingValuePenalty', ctx) ?? 1;
  const classification = attr(el, 'functionName') === 'classification';
  const rootEl = children(el, 'Node')[0] ?? ctx.invalid(el, 'TreeModel has no Node');
  const root = compileNode(rootEl, ctx, ctx.target?.name, { n: 0 });
  const returnLast = noTrueChild === 'returnLastPrediction';
  const cached = new Map<TreeNode, Prediction>();

  const walk = (row: Row): Walk => {
    const rootTest = root.test(row);
    if (rootTest !== true) {
      if (rootTest === null && strategy === 'nullPrediction') return { node: null };
      if (rootTest === false || strategy === 'none') return { node: null };
    }
    let node = root;
    let penalties = 0;
    for (;;) {
      if (node.children.length === 0) return { node, penalties };
      let next: TreeNode | undefined;
      for (const c of node.children) {
        const t = c.test(row);
        if (t === true) { next = c; break; }
        if (t === null) {
          switch (strategy) {
            case 'lastPrediction': return { node, penalties };
            case 'nullPrediction': return { node: null };
            case 'defaultChild':
              if (!node.defaultChild) return { node, penalties };
              next = node.defaultChild;
              penalties++;
              break;
            case 'weightedConfidence': case 'aggregateNodes':
              return { weighted: distribution(node, row, strategy === 'aggregateNodes') };
            default: continue; // none: unknown counts as false
          }
          break;
        }
      }
      if (!next) return returnLast ? { node, penalties } : { node: null };
      node = next;
    }
  };

  const numeric = arrayForm(root, ctx, strategy, returnLast, penalty, (node) => {
    let p = cached.get(node);
    if (!p) cached.set(node, (p = nodePrediction(node, 1)));
    return p;
  });
  return {
    ...(numeric ? { numeric } : {}),
    evaluate(row): Prediction {
      const w = walk(row);
      if ('weighted' in w) return weightedPrediction(w.weighted, strategy === 'aggregateNodes', ctx);
      const { node } = w;
      if (!node) return NULL_PREDICTION;
      if (w.penalties === 0) {
        let p = cached.get(node);
        if (!p) cached.set(node, (p = nodePrediction(node, 1)));
        return p;
      }
      return nodePrediction(node, Math.pow(penalty, w.penalties));
    },
  };

  /** A node's prediction (computed once per node when no missing-value penalty applies). */
  function nodePrediction(node: TreeNode, factor: number): Prediction {
    let confidences = node.confidences ?? (classification ? node.probabilities : undefined);
    if (confidences && factor !== 1) confidences = new Map([...confidences].map(([k, v]) => [k, v * factor]));
    return {
      value: node.score,
      ...(node.probabilities ? { probabilities: node.probabilities } : {}),
      ...(confidences ? { confidences } : {}),
      ...(node.id !== undefined ? { entityId: node.id } : {}),
    };
  }
};


/** The missing-value modes of `BinaryTree.mode` (defined with the ensemble walk, which exported packages carry alone). */
export { TREE_MODES };

/**
 * TreeModel: nodes compiled into objects with predicate closures, walked per row with the
 * model's missingValueStrategy (none, lastPrediction, nullPrediction, defaultChild,
 * weightedConfidence, aggregateNodes) and noTrueChildStrategy.
 */
import type { BinaryTree, CompileContext, KernelCompiler, NumericKernel, Prediction, Row, Value } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { isNumeric, looksNumeric, parseNumber } from '../values.js';
import { MODEL_ELEMENTS } from '../model-elements.js';
import { TREE_MODES } from './ensemble-run.js';

interface TreeNode {
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
const OPS: Readonly<Record<string, number>> = { lessThan: 1, lessOrEqual: 2, greaterThan: 3, greaterOrEqual: 4, equal: 5, notEqual: 6 };
const TRUE_OP = 0;
const FALSE_OP = 7;

function simpleOf(el: XmlElement, ctx: CompileContext): TreeNode['simple'] {
  if (el.name === 'True') return { field: '', op: TRUE_OP, value: 0 };
  if (el.name === 'False') return { field: '', op: FALSE_OP, value: 0 };
  if (el.name !== 'SimplePredicate') return undefined;
  const field = attr(el, 'field');
  const op = OPS[attr(el, 'operator') ?? ''];
  const text = attr(el, 'value');
  if (field === undefined || op === undefined || text === undefined) return undefined;
  const info = ctx.field(field);
  if (!info || !isNumeric(info.dataType)) return undefined;
  const value = ctx.parse(field, text);
  return typeof value === 'number' && !Number.isNaN(value) ? { field, op, value } : undefined;
}

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
    simple: simpleOf(predicateEl, ctx),
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

  /** Weighted confidences of the subtree under `node` (weightedConfidence / aggregateNodes). */
  const distribution = (node: TreeNode, row: Row): Map<string, number> => {
    const live = node.children.filter((c) => c.test(row) !== false);
    const known = live.find((c) => c.test(row) === true);
    if (node.children.length === 0 || live.length === 0) {
      const src = strategy === 'aggregateNodes' ? node.counts : node.confidences ?? node.probabilities;
      return new Map(src ?? (node.score === null ? [] : [[String(node.score), 1]]));
    }
    if (known && !live.some((c) => c.test(row) === null)) return distribution(known, row);
    const out = new Map<string, number>();
    for (const c of live) {
      const w = strategy === 'aggregateNodes' ? 1 : node.recordCount > 0 ? c.recordCount / node.recordCount : 0;
      for (const [k, v] of distribution(c, row)) out.set(k, (out.get(k) ?? 0) + w * v);
    }
    return out;
  };

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
              return { weighted: distribution(node, row) };
            default: continue; // none: unknown counts as false
          }
          break;
        }
      }
      if (!next) return returnLast ? { node, penalties } : { node: null };
      node = next;
    }
  };

  const numeric = arrayForm(root, strategy, returnLast, penalty, (node) => {
    let p = cached.get(node);
    if (!p) cached.set(node, (p = nodePrediction(node, 1)));
    return p;
  });
  return {
    ...(numeric ? { numeric } : {}),
    evaluate(row): Prediction {
      const w = walk(row);
      if ('weighted' in w) {
        let total = 0;
        for (const v of w.weighted.values()) total += v;
        let best: string | undefined;
        let bestV = -Infinity;
        for (const [k, v] of w.weighted) if (v > bestV) { bestV = v; best = k; }
        const value = best === undefined ? null : ctx.target ? ctx.parse(ctx.target.name, best) : best;
        const probabilities = strategy === 'aggregateNodes' && total > 0 ? new Map([...w.weighted].map(([k, v]) => [k, v / total])) : w.weighted;
        return { value, probabilities, confidences: w.weighted };
      }
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

const NULL_PREDICTION: Prediction = { value: null };

/**
 * The tree as flat arrays, when every predicate compares a numeric field with a number (or is
 * True/False) and the strategy needs no per-row distributions: the same walk as `walk`, over
 * typed arrays, reading field values from an array (NaN = missing).
 */
const { NONE, LAST, NULL, DEFAULT } = TREE_MODES;
/** The missing-value modes of `BinaryTree.mode` (defined with the ensemble walk, which exported packages carry alone). */
export { TREE_MODES };

/**
 * The common shape — every inner node has two children, `x <= t` (or `x < t`) then its complement
 * or True — as one comparison per node. Undefined when the tree has another shape.
 */
function binaryForm(count: number, op: Uint8Array, field: Int32Array, value: Float64Array, first: Int32Array, kids: Int32Array, childList: Int32Array,
  dflt: Int32Array, mode: number, returnLast: boolean, cover: Float64Array): { walk: (x: Float64Array, slots: Int32Array) => number; binary: BinaryTree } | undefined {
  const slot = new Int32Array(count);
  const thr = new Float64Array(count);
  const strict = new Uint8Array(count);
  const left = new Int32Array(count).fill(-1);
  const right = new Int32Array(count).fill(-1);
  const rightAlways = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    if (kids[i] === 0) continue;
    if (kids[i] !== 2) return undefined;
    const a = childList[first[i]!]!;
    const b = childList[first[i]! + 1]!;
    const oa = op[a]!;
    if (oa !== 1 && oa !== 2) return undefined;
    const ob = op[b]!;
    const complement = (oa === 2 && ob === 3) || (oa === 1 && ob === 4);
    if (ob !== TRUE_OP && !(complement && field[b] === field[a] && value[b] === value[a])) return undefined;
    slot[i] = field[a]!;
    thr[i] = value[a]!;
    strict[i] = oa === 1 ? 1 : 0;
    left[i] = a;
    right[i] = b;
    rightAlways[i] = ob === TRUE_OP ? 1 : 0;
  }
  const binary: BinaryTree = { slot, thr, strict, left, right, rightAlways, dflt, mode, returnLast, cover };
  const walk = (x: Float64Array, slots: Int32Array): number => {
    let node = 0;
    for (;;) {
      const l = left[node]!;
      if (l < 0) return node;
      const v = x[slots[slot[node]!]!]!;
      if (v !== v) {
        // Missing: the first child's predicate is unknown.
        if (mode === LAST) return node;
        if (mode === NULL) return -1;
        if (mode === DEFAULT) {
          const d = dflt[node]!;
          if (d < 0) return node;
          node = d;
          continue;
        }
        if (rightAlways[node] === 1) { node = right[node]!; continue; }
        return returnLast ? node : -1;
      }
      const t = thr[node]!;
      node = (strict[node] === 1 ? v < t : v <= t) ? l : right[node]!;
    }
  };
  return { walk, binary };
}

function arrayForm(root: TreeNode, strategy: string, returnLast: boolean, penalty: number, predictionOf: (n: TreeNode) => Prediction): NumericKernel | undefined {
  if (!['none', 'lastPrediction', 'nullPrediction', 'defaultChild'].includes(strategy)) return undefined;
  if (strategy === 'defaultChild' && penalty !== 1) return undefined;
  const nodes: TreeNode[] = [];
  const visit = (n: TreeNode): boolean => {
    if (!n.simple) return false;
    nodes.push(n);
    return n.children.every(visit);
  };
  if (!visit(root) || root.simple?.op !== TRUE_OP) return undefined;
  const index = new Map(nodes.map((n, i) => [n, i]));
  const fields = [...new Set(nodes.map((n) => n.simple!.field).filter((f) => f !== ''))];
  const fieldIndex = new Map(fields.map((f, i) => [f, i]));
  const count = nodes.length;
  const op = new Uint8Array(count);
  const field = new Int32Array(count);
  const value = new Float64Array(count);
  const first = new Int32Array(count);
  const kids = new Int32Array(count);
  const dflt = new Int32Array(count).fill(-1);
  const order: number[] = [];
  nodes.forEach((n, i) => {
    op[i] = n.simple!.op;
    field[i] = fieldIndex.get(n.simple!.field) ?? 0;
    value[i] = n.simple!.value;
    first[i] = order.length;
    kids[i] = n.children.length;
    for (const c of n.children) order.push(index.get(c)!);
    if (n.defaultChild) dflt[i] = index.get(n.defaultChild)!;
  });
  const childList = Int32Array.from(order);
  const predictions = nodes.map(predictionOf);
  const mode = strategy === 'lastPrediction' ? LAST : strategy === 'nullPrediction' ? NULL : strategy === 'defaultChild' ? DEFAULT : NONE;
  /** 1 true, 0 false, 2 unknown. */
  const test = (i: number, x: Float64Array, slots: Int32Array): number => {
    const o = op[i]!;
    if (o === TRUE_OP) return 1;
    if (o === FALSE_OP) return 0;
    const v = x[slots[field[i]!]!]!;
    if (Number.isNaN(v)) return 2;
    const t = value[i]!;
    switch (o) {
      case 1: return v < t ? 1 : 0;
      case 2: return v <= t ? 1 : 0;
      case 3: return v > t ? 1 : 0;
      case 4: return v >= t ? 1 : 0;
      case 5: return v === t ? 1 : 0;
      default: return v !== t ? 1 : 0;
    }
  };
  const cover = Float64Array.from(nodes, (n) => (Number.isFinite(n.recordCount) ? n.recordCount : 0));
  const bin = binaryForm(count, op, field, value, first, kids, childList, dflt, mode, returnLast, cover);
  const leaf = bin?.walk ?? ((x: Float64Array, slots: Int32Array): number => {
    let node = 0;
    for (;;) {
      const n = kids[node]!;
      if (n === 0) return node;
      let next = -1;
      const start = first[node]!;
      for (let j = 0; j < n; j++) {
        const c = childList[start + j]!;
        const t = test(c, x, slots);
        if (t === 1) { next = c; break; }
        if (t === 2) {
          if (mode === LAST) return node;
          if (mode === NULL) return -1;
          if (mode === DEFAULT) {
            if (dflt[node]! < 0) return node;
            next = dflt[node]!;
            break;
          }
        }
      }
      if (next < 0) return returnLast ? node : -1;
      node = next;
    }
  });
  return {
    fields,
    leaf,
    outcomes: predictions,
    ...(bin ? { binary: bin.binary } : {}),
    evaluate: (x, slots) => {
      const i = leaf(x, slots);
      return i < 0 ? NULL_PREDICTION : predictions[i]!;
    },
  };
}

/**
 * A TreeModel as flat typed arrays (its `NumericKernel`): what tree ensembles are scored with, a
 * row at a time (MiningModel's fast path) or a batch at a time (ensemble.ts).
 */
import type { BinaryTree, CompileContext, NumericKernel, Prediction } from '../types.js';
import { isNumeric } from '../values.js';
import { attr, type XmlElement } from '../xml.js';
import { TREE_MODES } from './ensemble-run.js';
import { FALSE_OP, NULL_PREDICTION, OPS, TRUE_OP, type TreeNode } from './tree-ops.js';

/**
 * The tree as flat arrays, when every predicate compares a numeric field with a number (or is
 * True/False) and the strategy needs no per-row distributions: the same walk as `walk`, over
 * typed arrays, reading field values from an array (NaN = missing).
 */
const { NONE, LAST, NULL, DEFAULT } = TREE_MODES;

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

interface Simple {
  readonly field: string;
  readonly op: number;
  readonly value: number;
}

/** A predicate as a numeric comparison (True and False as operators of their own), when it is one. */
function simpleOf(el: XmlElement, ctx: CompileContext): Simple | undefined {
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

export function arrayForm(root: TreeNode, ctx: CompileContext, strategy: string, returnLast: boolean, penalty: number, predictionOf: (n: TreeNode) => Prediction): NumericKernel | undefined {
  if (!['none', 'lastPrediction', 'nullPrediction', 'defaultChild'].includes(strategy)) return undefined;
  if (strategy === 'defaultChild' && penalty !== 1) return undefined;
  const nodes: TreeNode[] = [];
  const simples = new Map<TreeNode, Simple>();
  const visit = (n: TreeNode): boolean => {
    const simple = simpleOf(n.predicate, ctx);
    if (!simple) return false;
    simples.set(n, simple);
    nodes.push(n);
    return n.children.every(visit);
  };
  if (!visit(root) || simples.get(root)!.op !== TRUE_OP) return undefined;
  const index = new Map(nodes.map((n, i) => [n, i]));
  const fields = [...new Set(nodes.map((n) => simples.get(n)!.field).filter((f) => f !== ''))];
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
    op[i] = simples.get(n)!.op;
    field[i] = fieldIndex.get(simples.get(n)!.field) ?? 0;
    value[i] = simples.get(n)!.value;
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

/**
 * A PMML tree ensemble (ensemble.ts's flat layout) in the neutral form of model-structure.ts, for
 * TreeSHAP. Covers are the Nodes' recordCount. Where a missing value stops a tree at an inner node
 * (lastPrediction, returnLastPrediction, a defaultChild-less node), the split becomes two nodes:
 * "is the value missing?" — yes: a leaf holding the inner node's own score, with cover 0 — then
 * the comparison. The tree scores every row exactly as before, and the feature's repeated split is
 * what path-dependent TreeSHAP already handles. Classification ensembles (probability vectors)
 * become one copy of each tree per category. Undefined — no exact explanation — when a tree can
 * give no prediction (nullPrediction, a node without a score), for votes, or without recordCounts.
 */
import type { TreeStructure } from '../../model-structure.js';
import { treeDepth } from '../../model-structure.js';
import type { EnsembleLayout } from '../types.js';
import { TREE_MODES } from './tree.js';

/** The batch kernel's layout (types.ts `EnsembleLayout`), with what TreeSHAP also needs: groups, covers, margins. */
export interface EnsembleArrays extends Omit<EnsembleLayout, 'classification' | 'vote' | 'categories'> {
  /** Categories (probability vectors), else 1. */
  readonly groups: number;
  readonly cover: Float64Array;
  readonly margins: (x: Float64Array, rows: number) => Float64Array;
}

/** How a node of the structure decides. */
const COMPARE = 0;
const IS_MISSING = 1;

export function ensembleStructure(e: EnsembleArrays): TreeStructure | undefined {
  const T = e.root.length;
  const G = e.groups;
  const { LAST, NULL, DEFAULT } = TREE_MODES;
  if (e.kind.some((k) => k === 0)) return undefined;
  for (let t = 0; t < T; t++) if (e.mode[t] === NULL) return undefined;
  if (!e.cover.some((c) => c > 0)) return undefined;
  const weightSum = e.weight.reduce((a, b) => a + b, 0);
  const treeScale = (t: number): number => {
    switch (e.method) {
      case 'average': return 1 / T;
      case 'weightedAverage': return e.weight[t]! / weightSum;
      case 'weightedSum': return e.weight[t]!;
      default: return 1;
    }
  };
  const feature: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const cover: number[] = [];
  const how: number[] = [];
  const thr: number[] = [];
  const strict: number[] = [];
  const missingLeft: number[] = [];
  const add = (f: number, c: number, v: number): number => {
    feature.push(f); left.push(0); right.push(0); value.push(v); cover.push(c);
    how.push(COMPARE); thr.push(0); strict.push(0); missingLeft.push(0);
    return feature.length - 1;
  };
  let ok = true;
  const emit = (n: number, t: number, g: number): number => {
    const own = G === 1 ? e.leafValue[n]! : e.leafVector[n * G + g]!;
    const l = e.left[n]!;
    if (l < 0) return add(-1, e.cover[n]!, own);
    const r = e.right[n]!;
    // Where a missing value goes: a child, or nowhere (the tree stops here with the node's score).
    const m = e.mode[t]!;
    let to: number; // the child index, or −1: stop
    if (m === LAST) to = -1;
    else if (m === DEFAULT) to = e.dflt[n]!;
    else if (e.rightAlways[n] === 1) to = r;
    else if (e.returnLast[t] === 1) to = -1;
    else {
      ok = false; // no prediction for a missing value
      return add(-1, 0, 0);
    }
    const f = e.feature[n]!;
    const c = e.cover[n]!;
    let top = -1;
    if (to < 0) {
      top = add(f, c, 0);
      how[top] = IS_MISSING;
      left[top] = add(-1, 0, own);
    }
    const split = add(f, c, 0);
    thr[split] = e.thr[n]!;
    strict[split] = e.strict[n]!;
    missingLeft[split] = to === l ? 1 : 0;
    if (top >= 0) right[top] = split;
    left[split] = emit(l, t, g);
    right[split] = emit(r, t, g);
    return top >= 0 ? top : split;
  };
  const roots: number[] = [];
  const groups: number[] = [];
  const scale: number[] = [];
  for (let g = 0; g < G; g++) {
    for (let t = 0; t < T; t++) {
      roots.push(emit(e.root[t]!, t, g));
      groups.push(g);
      scale.push(treeScale(t));
    }
  }
  if (!ok) return undefined;
  const F = new Int32Array(feature);
  const L = new Int32Array(left);
  const R = new Int32Array(right);
  const H = Uint8Array.from(how);
  const TH = Float64Array.from(thr);
  const S = Uint8Array.from(strict);
  const ML = Uint8Array.from(missingLeft);
  const rootArray = Int32Array.from(roots);
  const nodes = F.length;
  return {
    kind: 'trees',
    numFeature: e.fields.length,
    numGroup: G,
    inputs: e.fields,
    base: new Float64Array(G),
    link: G === 1 ? { kind: 'identity' } : { kind: 'probability' },
    roots: rootArray,
    groups: Int32Array.from(groups),
    scale: Float64Array.from(scale),
    feature: F,
    left: L,
    right: R,
    value: Float64Array.from(value),
    cover: Float64Array.from(cover),
    maxDepth: treeDepth(rootArray, F, L, R),
    route(x: Float64Array, offset: number, goesLeft: Uint8Array): void {
      for (let n = 0; n < nodes; n++) {
        const f = F[n]!;
        if (f < 0) continue;
        const v = x[offset + f]!;
        if (H[n] === IS_MISSING) goesLeft[n] = v !== v ? 1 : 0;
        else if (v !== v) goesLeft[n] = ML[n]!;
        else goesLeft[n] = (S[n] === 1 ? v < TH[n]! : v <= TH[n]!) ? 1 : 0;
      }
    },
    margins: e.margins,
  };
}

/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee, "Consistent Individualized Feature
 * Attribution for Tree Ensembles", Algorithm 2) in float64 over a TreeStructure: for every leaf,
 * the weight each feature on the root-to-leaf path gets across all feature subsets, kept as a
 * path of (feature, zero fraction, one fraction, weight) extended per split and unwound when a
 * feature repeats. Time O(trees · leaves · depth²) per row; the path lives in preallocated
 * typed arrays (one segment per depth), so nothing is allocated per row or per tree.
 *
 * Subsets not containing a split's feature follow both children weighted by cover, which is
 * why the expected value (the base value) is the cover-weighted mean of the leaves.
 *
 * Trees whose per-leaf tables fit (leaf-tables.ts: 2^distinct features per leaf, within a budget
 * per model) are explained from those tables in O(leaves · depth) per row; the rest (deep trees,
 * whose tables would grow as 2^depth) by the path algorithm here. Both give the same values.
 */
import type { TreeStructure } from '../runtimes/model-structure.js';
import { LeafTables, TABLE_BUDGET } from './leaf-tables.js';

export class TreeShap {
  readonly #s: TreeStructure;
  /** Per node: its cover as a share of its parent's (1 at roots; 0 under a parent without cover). */
  readonly #share: Float64Array;
  /** Per output: the base value (the model's expected margin over its training cover). */
  readonly expected: Float64Array;
  readonly #goesLeft: Uint8Array;
  /** Trees explained from leaf tables, and the indexes of those explained by the path algorithm. */
  readonly #tables: LeafTables | undefined;
  readonly #pathTrees: Int32Array;
  readonly #pf: Int32Array;
  readonly #pz: Float64Array;
  readonly #po: Float64Array;
  readonly #pw: Float64Array;
  /**
   * Ratios of the weight updates by (depth d, position i), row d of width W: up (i+1)/(d+1),
   * down (d−i)/(d+1) and their reciprocals — multiplications instead of divisions in the inner loops.
   */
  readonly #w: number;
  readonly #up: Float64Array;
  readonly #down: Float64Array;
  readonly #upInv: Float64Array;
  readonly #downInv: Float64Array;
  /** The row's attributions being filled, and where the current output's start. */
  #phi: Float64Array = new Float64Array(0);
  #at = 0;
  #leafScale = 1;

  /** `tableBudget`: leaf-table entries allowed (default TABLE_BUDGET; 0 explains every tree by paths). */
  constructor(structure: TreeStructure, tableBudget = TABLE_BUDGET) {
    this.#s = structure;
    const { roots, feature, left, right, cover, groups, scale, value, base } = structure;
    const share = new Float64Array(feature.length);
    for (let n = 0; n < feature.length; n++) {
      if (feature[n]! < 0) continue;
      const c = cover[n]!;
      share[left[n]!] = c > 0 ? cover[left[n]!]! / c : 0;
      share[right[n]!] = c > 0 ? cover[right[n]!]! / c : 0;
    }
    for (const r of roots) share[r] = 1;
    this.#share = share;
    // Each subtree's cover-weighted mean leaf: the expectation when no feature is known.
    const mean = (n: number): number => (feature[n]! < 0 ? value[n]! : share[left[n]!]! * mean(left[n]!) + share[right[n]!]! * mean(right[n]!));
    const expected = Float64Array.from(base);
    for (let t = 0; t < roots.length; t++) expected[groups[t]!] = expected[groups[t]!]! + scale[t]! * mean(roots[t]!);
    this.expected = expected;
    this.#goesLeft = new Uint8Array(feature.length);
    const tabled: number[] = [];
    const path: number[] = [];
    let budget = tableBudget;
    for (let t = 0; t < roots.length; t++) {
      const cost = LeafTables.cost(structure, share, roots[t]!);
      if (cost >= 0 && cost <= budget) {
        tabled.push(t);
        budget -= cost;
      } else {
        path.push(t);
      }
    }
    this.#tables = tabled.length > 0 ? LeafTables.build(structure, share, tabled) : undefined;
    this.#pathTrees = Int32Array.from(path);
    const d = structure.maxDepth + 2;
    const size = ((d + 1) * (d + 2)) / 2 + 2;
    this.#pf = new Int32Array(size);
    this.#pz = new Float64Array(size);
    this.#po = new Float64Array(size);
    this.#pw = new Float64Array(size);
    const W = d + 1;
    this.#w = W;
    this.#up = new Float64Array(W * W);
    this.#down = new Float64Array(W * W);
    this.#upInv = new Float64Array(W * W);
    this.#downInv = new Float64Array(W * W);
    for (let depth = 0; depth < W; depth++) {
      for (let i = 0; i <= depth; i++) {
        this.#up[depth * W + i] = (i + 1) / (depth + 1);
        this.#down[depth * W + i] = (depth - i) / (depth + 1);
        this.#upInv[depth * W + i] = (depth + 1) / (i + 1);
        this.#downInv[depth * W + i] = depth - i === 0 ? 0 : (depth + 1) / (depth - i);
      }
    }
  }

  /**
   * Attributions of rows × numFeature values (NaN = missing): out[(r · numGroup + g) · numFeature + j]
   * (added to: pass zeros).
   */
  explain(x: Float64Array, rows: number, out: Float64Array): void {
    const s = this.#s;
    const F = s.numFeature;
    const G = s.numGroup;
    const { roots, groups, scale } = s;
    this.#phi = out;
    const tables = this.#tables;
    const pathTrees = this.#pathTrees;
    for (let r = 0; r < rows; r++) {
      s.route(x, r * F, this.#goesLeft);
      tables?.explainRow(this.#goesLeft, out, r * G * F, F);
      for (const t of pathTrees) {
        this.#at = (r * G + groups[t]!) * F;
        this.#leafScale = scale[t]!;
        this.#recurse(roots[t]!, 0, 0, 1, 1, -1);
      }
    }
    this.#phi = new Float64Array(0);
  }

  #recurse(n: number, depth: number, parent: number, zero: number, one: number, feat: number): void {
    const pf = this.#pf;
    const pz = this.#pz;
    const po = this.#po;
    const pw = this.#pw;
    const off = parent + depth + 1;
    for (let i = 0; i < depth; i++) {
      pf[off + i] = pf[parent + i]!;
      pz[off + i] = pz[parent + i]!;
      po[off + i] = po[parent + i]!;
      pw[off + i] = pw[parent + i]!;
    }
    // Extend the path with this node's (zero, one) fractions.
    pf[off + depth] = feat;
    pz[off + depth] = zero;
    po[off + depth] = one;
    pw[off + depth] = depth === 0 ? 1 : 0;
    const W = this.#w;
    const row = depth * W;
    const up = this.#up;
    const down = this.#down;
    for (let i = depth - 1; i >= 0; i--) {
      pw[off + i + 1] = pw[off + i + 1]! + one * pw[off + i]! * up[row + i]!;
      pw[off + i] = zero * pw[off + i]! * down[row + i]!;
    }
    const s = this.#s;
    const split = s.feature[n]!;
    if (split < 0) {
      const v = s.value[n]! * this.#leafScale;
      const phi = this.#phi;
      for (let i = 1; i <= depth; i++) {
        const w = unwoundSum(pw, off, depth, pz[off + i]!, po[off + i]!, row, this.#upInv, down, this.#downInv);
        const k = this.#at + pf[off + i]!;
        phi[k] = phi[k]! + w * (po[off + i]! - pz[off + i]!) * v;
      }
      return;
    }
    const goLeft = this.#goesLeft[n] === 1;
    const hot = goLeft ? s.left[n]! : s.right[n]!;
    const cold = goLeft ? s.right[n]! : s.left[n]!;
    let inZero = 1;
    let inOne = 1;
    let d = depth;
    // A feature already on the path: undo its earlier split and redo it here, combined.
    let k = 1;
    while (k <= d && pf[off + k] !== split) k++;
    if (k <= d) {
      inZero = pz[off + k]!;
      inOne = po[off + k]!;
      unwind(pf, pz, po, pw, off, d, k, d * W, this.#upInv, down, this.#downInv);
      d--;
    }
    const share = this.#share;
    const hz = share[hot]! * inZero;
    if (hz !== 0 || inOne !== 0) this.#recurse(hot, d + 1, off, hz, inOne, split);
    const cz = share[cold]! * inZero;
    if (cz !== 0) this.#recurse(cold, d + 1, off, cz, 0, split);
  }
}

/** The total weight of the path with element k taken out (without changing the path). */
function unwoundSum(pw: Float64Array, off: number, depth: number, zero: number, one: number, row: number, upInv: Float64Array, down: Float64Array, downInv: Float64Array): number {
  let next = pw[off + depth]!;
  let total = 0;
  if (one !== 0) {
    const oneInv = 1 / one;
    for (let i = depth - 1; i >= 0; i--) {
      const tmp = next * upInv[row + i]! * oneInv;
      total += tmp;
      next = pw[off + i]! - tmp * zero * down[row + i]!;
    }
  } else if (zero !== 0) {
    const zeroInv = 1 / zero;
    for (let i = depth - 1; i >= 0; i--) total += pw[off + i]! * downInv[row + i]! * zeroInv;
  }
  return total;
}

/** Take element k out of the path (its weights undone), shifting the later elements down. */
function unwind(pf: Int32Array, pz: Float64Array, po: Float64Array, pw: Float64Array, off: number, depth: number, k: number,
  row: number, upInv: Float64Array, down: Float64Array, downInv: Float64Array): void {
  const one = po[off + k]!;
  const zero = pz[off + k]!;
  let next = pw[off + depth]!;
  if (one !== 0) {
    const oneInv = 1 / one;
    for (let i = depth - 1; i >= 0; i--) {
      const tmp = pw[off + i]!;
      pw[off + i] = next * upInv[row + i]! * oneInv;
      next = tmp - pw[off + i]! * zero * down[row + i]!;
    }
  } else {
    const zeroInv = 1 / zero;
    for (let i = depth - 1; i >= 0; i--) pw[off + i] = pw[off + i]! * downInv[row + i]! * zeroInv;
  }
  for (let i = k; i < depth; i++) {
    pf[off + i] = pf[off + i + 1]!;
    pz[off + i] = pz[off + i + 1]!;
    po[off + i] = po[off + i + 1]!;
  }
}

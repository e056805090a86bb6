/**
 * Path-dependent TreeSHAP in O(leaves · depth) per row instead of O(leaves · depth²): the
 * precomputation of "Fast TreeSHAP v2" (Yang, 2021), exact like Algorithm 2 in tree-shap.ts.
 *
 * For a leaf of value v whose path splits on the distinct features D (|D| = d), let z_j be the
 * product of the cover shares along the path of the splits on j, and H ⊆ D the features on which
 * the row follows the path at every split (the "hot" set). The path-dependent expectation of the
 * leaf given a subset S is v · Π_{j∈D∖S} z_j when S ⊆ H and 0 otherwise, so the Shapley values
 * over D, with w(s) = s!(d−s−1)!/d! and G(H) = v · Σ_{S⊆H} w(|S|) · Π_{j∈D∖S} z_j, are
 *
 *   φ_i = −G(H)                               for i ∉ H
 *   φ_i = (1 − z_i)/z_i · G(H ∖ {i})          for i ∈ H (G(H∖{i}) carries the factor z_i)
 *
 * G depends on the row only through H, so it is tabulated per leaf for all 2^d subsets when the
 * model is loaded; a row then costs one mask per node and d + 1 look-ups per leaf. A feature
 * with z_i = 0 (a child without cover) gets its own table of v · Σ_{S⊆H'} w(|S|) · Π_{j∈D∖S∖{i}} z_j
 * instead of the division. Tables grow as 2^depth, so trees past MAX_DISTINCT distinct features on
 * a path, or past the model's table budget, stay with Algorithm 2 (tree-shap.ts decides).
 */
import type { TreeStructure } from '../runtimes/model-structure.js';

/** Distinct features on one root-to-leaf path above which a tree keeps the O(depth²) algorithm. */
export const MAX_DISTINCT = 10;
/** Table entries (float64) per model: 2^21 entries = 16 MiB. */
export const TABLE_BUDGET = 1 << 21;

/** The leaves of a tree, before their tables are filled. */
interface LeafPath {
  readonly node: number;
  readonly value: number;
  readonly features: number[];
  readonly zeros: number[];
}

/** Compiled leaf tables of the trees given to `build`, evaluated for all of them per row. */
export class LeafTables {
  /** Nodes in parent-before-child order; per position: its parent's position and node, which child it is, and the bit its parent's split clears. */
  readonly #parentPos: Int32Array;
  readonly #parentNode: Int32Array;
  readonly #isLeft: Uint8Array;
  readonly #clear: Int32Array;
  /** Per leaf: its position, output, table offset, number of distinct features and where its feature slots start. */
  readonly #leafPos: Int32Array;
  readonly #leafGroup: Int32Array;
  readonly #leafTable: Int32Array;
  readonly #leafDim: Int32Array;
  readonly #leafSlot: Int32Array;
  /** Per feature slot: the input feature, its coefficient and the table it reads (at H ∖ {i}). */
  readonly #slotFeature: Int32Array;
  readonly #slotCoef: Float64Array;
  readonly #slotTable: Int32Array;
  readonly #table: Float64Array;
  readonly #mask: Int32Array;

  private constructor(positions: number[][], leaves: { pos: number; group: number; table: number; path: LeafPath }[],
    slots: { feature: number; coef: number; table: number }[], table: Float64Array) {
    const n = positions.length;
    this.#parentPos = Int32Array.from(positions, (p) => p[1]!);
    this.#parentNode = Int32Array.from(positions, (p) => p[2]!);
    this.#isLeft = Uint8Array.from(positions, (p) => p[3]!);
    this.#clear = Int32Array.from(positions, (p) => p[4]!);
    this.#mask = new Int32Array(n);
    this.#leafPos = Int32Array.from(leaves, (l) => l.pos);
    this.#leafGroup = Int32Array.from(leaves, (l) => l.group);
    this.#leafTable = Int32Array.from(leaves, (l) => l.table);
    this.#leafDim = Int32Array.from(leaves, (l) => l.path.features.length);
    let slot = 0;
    this.#leafSlot = Int32Array.from(leaves, (l) => {
      const at = slot;
      slot += l.path.features.length;
      return at;
    });
    this.#slotFeature = Int32Array.from(slots, (s) => s.feature);
    this.#slotCoef = Float64Array.from(slots, (s) => s.coef);
    this.#slotTable = Int32Array.from(slots, (s) => s.table);
    this.#table = table;
  }

  /** Number of table entries the tree at `root` would take, or −1 past MAX_DISTINCT. */
  static cost(s: TreeStructure, share: Float64Array, root: number): number {
    let total = 0;
    for (const leaf of leafPaths(s, share, root, 1)) {
      const d = leaf.features.length;
      if (d > MAX_DISTINCT) return -1;
      total += (1 << d) * (1 + leaf.zeros.filter((z) => z === 0).length);
    }
    return total;
  }

  /** Compiles the given trees (indexes into s.roots). `share[n]`: node n's cover over its parent's. */
  static build(s: TreeStructure, share: Float64Array, trees: readonly number[]): LeafTables {
    const positions: number[][] = [];
    const leaves: { pos: number; group: number; table: number; path: LeafPath }[] = [];
    const slots: { feature: number; coef: number; table: number }[] = [];
    const chunks: Float64Array[] = [];
    let size = 0;
    const posOf = new Map<number, number>();
    for (const t of trees) {
      const root = s.roots[t]!;
      // Parent-before-child order; each child knows the bit its parent's feature has on the path.
      const stack: { n: number; parentPos: number; parentNode: number; left: number; clear: number; path: number[] }[] =
        [{ n: root, parentPos: -1, parentNode: -1, left: 0, clear: -1, path: [] }];
      while (stack.length > 0) {
        const e = stack.pop()!;
        posOf.set(e.n, positions.length);
        positions.push([e.n, e.parentPos, e.parentNode, e.left, e.clear]);
        const f = s.feature[e.n]!;
        if (f < 0) continue;
        let k = e.path.indexOf(f);
        const path = k < 0 ? [...e.path, f] : e.path;
        if (k < 0) k = e.path.length;
        const pos = positions.length - 1;
        stack.push({ n: s.right[e.n]!, parentPos: pos, parentNode: e.n, left: 0, clear: ~(1 << k), path });
        stack.push({ n: s.left[e.n]!, parentPos: pos, parentNode: e.n, left: 1, clear: ~(1 << k), path });
      }
      for (const leaf of leafPaths(s, share, root, s.scale[t]!)) {
        const d = leaf.features.length;
        const g = fillTable(leaf.value, leaf.zeros, -1, d);
        const own = size;
        chunks.push(g);
        size += g.length;
        leaves.push({ pos: posOf.get(leaf.node)!, group: s.groups[t]!, table: own, path: leaf });
        for (let i = 0; i < d; i++) {
          const z = leaf.zeros[i]!;
          if (z !== 0) {
            slots.push({ feature: leaf.features[i]!, coef: (1 - z) / z, table: own });
          } else {
            const tab = fillTable(leaf.value, leaf.zeros, i, d);
            slots.push({ feature: leaf.features[i]!, coef: 1, table: size });
            chunks.push(tab);
            size += tab.length;
          }
        }
      }
    }
    const table = new Float64Array(size);
    let at = 0;
    for (const c of chunks) {
      table.set(c, at);
      at += c.length;
    }
    return new LeafTables(positions, leaves, slots, table);
  }

  /**
   * Adds the attributions of one row to phi (phi[base + g · numFeature + j]); goesLeft holds the
   * row's decisions at every split node.
   */
  explainRow(goesLeft: Uint8Array, phi: Float64Array, base: number, numFeature: number): void {
    const mask = this.#mask;
    const parentPos = this.#parentPos;
    const parentNode = this.#parentNode;
    const isLeft = this.#isLeft;
    const clear = this.#clear;
    const n = mask.length;
    for (let p = 0; p < n; p++) {
      const pp = parentPos[p]!;
      if (pp < 0) {
        mask[p] = -1;
        continue;
      }
      mask[p] = goesLeft[parentNode[p]!] === isLeft[p] ? mask[pp]! : mask[pp]! & clear[p]!;
    }
    const table = this.#table;
    const leafPos = this.#leafPos;
    const leafGroup = this.#leafGroup;
    const leafTable = this.#leafTable;
    const leafDim = this.#leafDim;
    const leafSlot = this.#leafSlot;
    const slotFeature = this.#slotFeature;
    const slotCoef = this.#slotCoef;
    const slotTable = this.#slotTable;
    const leaves = leafPos.length;
    for (let l = 0; l < leaves; l++) {
      const d = leafDim[l]!;
      const h = mask[leafPos[l]!]! & ((1 << d) - 1);
      const cold = table[leafTable[l]! + h]!;
      const at = base + leafGroup[l]! * numFeature;
      const first = leafSlot[l]!;
      for (let i = 0; i < d; i++) {
        const k = at + slotFeature[first + i]!;
        const bit = 1 << i;
        if ((h & bit) === 0) phi[k] = phi[k]! - cold;
        else phi[k] = phi[k]! + slotCoef[first + i]! * table[slotTable[first + i]! + (h ^ bit)]!;
      }
    }
  }
}

/** Every leaf under root with its distinct path features (first appearance order) and their zero fractions. */
function leafPaths(s: TreeStructure, share: Float64Array, root: number, scale: number): LeafPath[] {
  const out: LeafPath[] = [];
  const walk = (n: number, features: number[], zeros: number[]): void => {
    const f = s.feature[n]!;
    if (f < 0) {
      out.push({ node: n, value: s.value[n]! * scale, features, zeros });
      return;
    }
    const k = features.indexOf(f);
    for (const c of [s.left[n]!, s.right[n]!]) {
      if (k < 0) walk(c, [...features, f], [...zeros, share[c]!]);
      else walk(c, features, zeros.map((z, i) => (i === k ? z * share[c]! : z)));
    }
  };
  walk(root, [], []);
  return out;
}

/**
 * v · Σ_{S⊆H} w(|S|) · Π_{j∈D∖S, j≠skip} z_j for every H ⊆ D (H never holding `skip`; entries whose
 * H holds it are 0), w(s) = s!(d−s−1)!/d!, d = |D|. Computed per H from the elementary symmetric
 * polynomials of z over H: Σ_{S⊆H} w(|S|) Π_{H∖S} z = Σ_s w(s) · e_{|H|−s}(z_H).
 */
function fillTable(v: number, zeros: readonly number[], skip: number, d: number): Float64Array {
  const size = 1 << d;
  const out = new Float64Array(size);
  const w = new Float64Array(d);
  for (let s = 0; s < d; s++) w[s] = 1 / (d * binomial(d - 1, s));
  const e = new Float64Array(d + 1);
  for (let h = 0; h < size; h++) {
    if (skip >= 0 && (h & (1 << skip)) !== 0) continue;
    if (h === size - 1) continue; // H = D: no feature outside H, never read
    let outside = v;
    e.fill(0);
    e[0] = 1;
    let m = 0;
    for (let j = 0; j < d; j++) {
      if (j === skip) continue;
      const z = zeros[j]!;
      if ((h & (1 << j)) === 0) {
        outside *= z;
        continue;
      }
      m++;
      for (let k = m; k > 0; k--) e[k] = e[k]! + z * e[k - 1]!;
    }
    let sum = 0;
    // S of size s leaves |H| − s features of H outside S: e_{m−s}.
    for (let s = 0; s <= m && s < d; s++) sum += w[s]! * e[m - s]!;
    out[h] = outside * sum;
  }
  return out;
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

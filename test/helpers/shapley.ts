/**
 * Brute-force exact Shapley values of a tree ensemble's path-dependent value function, for
 * checking TreeSHAP on small models: v(S) = E[f(x) | x_S] where a split on a feature in S follows
 * the row and a split on any other feature averages its children by cover; then
 * φᵢ = Σ_{S ⊆ N∖{i}} |S|! (M − |S| − 1)! / M! · (v(S ∪ {i}) − v(S)), enumerating all 2^M subsets.
 * Shares no code with src/explain/tree-shap.ts.
 */
import assert from 'node:assert/strict';
import type { TreeStructure } from '../../src/runtimes/model-structure.js';

function conditional(s: TreeStructure, n: number, inS: (f: number) => boolean, goesLeft: Uint8Array): number {
  const f = s.feature[n]!;
  if (f < 0) return s.value[n]!;
  const l = s.left[n]!;
  const r = s.right[n]!;
  if (inS(f)) return conditional(s, goesLeft[n] ? l : r, inS, goesLeft);
  const c = s.cover[n]!;
  const wl = c > 0 ? s.cover[l]! / c : 0;
  const wr = c > 0 ? s.cover[r]! / c : 0;
  return wl * conditional(s, l, inS, goesLeft) + wr * conditional(s, r, inS, goesLeft);
}

/** φ for one row: [groups][features], and the base value per group (v(∅)). */
export function bruteForceShapley(s: TreeStructure, x: Float64Array, row: number): { phi: number[][]; base: number[] } {
  const M = s.numFeature;
  if (M > 12) throw new RangeError('brute force is for small models');
  const goesLeft = new Uint8Array(s.feature.length);
  s.route(x, row * M, goesLeft);
  const fact = [1];
  for (let i = 1; i <= M; i++) fact.push(fact[i - 1]! * i);
  const value = (mask: number, g: number): number => {
    let total = s.base[g]!;
    for (let t = 0; t < s.roots.length; t++) {
      if (s.groups[t] !== g) continue;
      total += s.scale[t]! * conditional(s, s.roots[t]!, (f) => ((mask >> f) & 1) === 1, goesLeft);
    }
    return total;
  };
  const phi: number[][] = [];
  const base: number[] = [];
  for (let g = 0; g < s.numGroup; g++) {
    const v = new Float64Array(1 << M);
    for (let mask = 0; mask < 1 << M; mask++) v[mask] = value(mask, g);
    base.push(v[0]!);
    const row: number[] = [];
    for (let i = 0; i < M; i++) {
      let sum = 0;
      for (let mask = 0; mask < 1 << M; mask++) {
        if ((mask >> i) & 1) continue;
        let size = 0;
        for (let m = mask; m; m &= m - 1) size++;
        sum += (fact[size]! * fact[M - size - 1]!) / fact[M]! * (v[mask | (1 << i)]! - v[mask]!);
      }
      row.push(sum);
    }
    phi.push(row);
  }
  return { phi, base };
}

/** TreeSHAP's answer, as the explainers give it. */
interface Attribution {
  readonly base: Float64Array;
  readonly values: Float64Array;
  readonly scores: Float64Array;
  readonly residual: Float64Array;
}

/** Every row's additivity residual within 1e-9 of its largest score. */
export function assertAdditive(s: TreeStructure, a: Attribution, rows: number): void {
  const G = s.numGroup;
  for (let r = 0; r < rows; r++) {
    let scale = 1;
    for (let g = 0; g < G; g++) scale = Math.max(scale, Math.abs(a.scores[r * G + g]!));
    assert.ok(Math.abs(a.residual[r]!) <= 1e-9 * scale, `row ${r}: residual ${a.residual[r]}`);
  }
}

/** The first `rows` rows' base values and contributions equal brute force within 1e-9. */
export function assertBruteForce(s: TreeStructure, a: Attribution, x: Float64Array, rows: number): void {
  const G = s.numGroup;
  const F = s.numFeature;
  for (let r = 0; r < rows; r++) {
    const { phi, base } = bruteForceShapley(s, x, r);
    for (let g = 0; g < G; g++) {
      assert.ok(Math.abs(a.base[g]! - base[g]!) <= 1e-9 * Math.max(1, Math.abs(base[g]!)));
      for (let j = 0; j < F; j++) {
        const want = phi[g]![j]!;
        const got = a.values[(r * G + g) * F + j]!;
        assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `row ${r} class ${g} feature ${j}: ${got} vs ${want}`);
      }
    }
  }
}

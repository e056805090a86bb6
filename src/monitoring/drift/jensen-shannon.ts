import { binShares } from './bins.js';
import { distanceAtLeast, type DriftTest } from './drift-test.js';

/** Jensen–Shannon distance of the two distributions (drift when ≥ threshold): categories, or equal-width bins of numbers. */
export const jensenShannonTest: DriftTest = {
  name: 'jensenshannon',
  defaultThreshold: 0.1,
  numeric: (s) => score(jsNumeric(s.refValues, s.refWeights, s.current)),
  categorical: (s) => score(jensenShannon(s.refShares, s.curShares)),
  drifted: distanceAtLeast,
};

const score = (distance: number) => ({ statistic: distance, distance });

/** Jensen–Shannon distance with natural logarithms (range [0, √ln 2]), as Evidently and SciPy compute it. */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] as number;
    const b = q[i] as number;
    const m = (a + b) / 2;
    if (a > 0) js += 0.5 * a * Math.log(a / m);
    if (b > 0) js += 0.5 * b * Math.log(b / m);
  }
  return Math.sqrt(Math.max(0, js));
}

/** Jensen–Shannon over equal-width bins of ref ∪ cur, ⌈log₂ N⌉ + 1 of them for N values in all (numpy's "sturges", as Evidently bins). */
function jsNumeric(rv: Float64Array, rw: Float64Array, cur: Float64Array): number {
  const lo = Math.min(rv[0] ?? Infinity, cur[0] ?? Infinity);
  const hi = Math.max(rv[rv.length - 1] ?? -Infinity, cur[cur.length - 1] ?? -Infinity);
  const n = rw.reduce((a, b) => a + b, 0) + cur.length;
  const bins = Math.ceil(Math.log2(n)) + 1;
  const width = (hi - lo) / bins || 1;
  const edges = Array.from({ length: bins - 1 }, (_, i) => lo + (i + 1) * width);
  return jensenShannon(binShares(edges, rv, rw), binShares(edges, cur));
}

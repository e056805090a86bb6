import type { NumericColumnProfile } from '../profile.js';
import { KllSketch } from '../sketch.js';
import { binShares } from './bins.js';
import { distanceAtLeast, type DriftTest } from './drift-test.js';

/** Population stability index (drift when ≥ threshold): categories, or the reference deciles of numbers. */
export const psiTest: DriftTest = {
  name: 'psi',
  defaultThreshold: 0.1,
  numeric: (s) => score(psiNumeric(s.ref, s.refValues, s.refWeights, s.current)),
  categorical: (s) => score(psi(s.refShares, s.curShares)),
  drifted: distanceAtLeast,
};

const score = (distance: number) => ({ statistic: distance, distance });

/** Population stability index after Evidently's filling of empty bins. */
export function psi(p: readonly number[], q: readonly number[]): number {
  const fp = fillZeros(p);
  const fq = fillZeros(q);
  let s = 0;
  for (let i = 0; i < fp.length; i++) s += ((fp[i] as number) - (fq[i] as number)) * Math.log((fp[i] as number) / (fq[i] as number));
  return s;
}

function fillZeros(shares: readonly number[]): number[] {
  const nonzero = shares.filter((x) => x > 0);
  const minNonzero = nonzero.length ? Math.min(...nonzero) : 1;
  const eps = minNonzero <= 1e-4 ? minNonzero / 1e6 : 1e-4;
  return shares.map((x) => (x > 0 ? x : eps));
}

/** PSI over the reference deciles. */
function psiNumeric(ref: NumericColumnProfile, rv: Float64Array, rw: Float64Array, cur: Float64Array): number {
  const sketch = KllSketch.fromJSON(ref.sketch);
  const edges = [...new Set([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => sketch.quantile(q)))].sort((a, b) => a - b);
  return psi(binShares(edges, rv, rw), binShares(edges, cur));
}

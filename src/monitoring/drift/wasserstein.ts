import { stdOf } from '../profile.js';
import { distanceAtLeast, type DriftTest } from './drift-test.js';

/** Wasserstein-1 distance over the reference's standard deviation, on numbers (drift when ≥ threshold). */
export const wassersteinTest: DriftTest = {
  name: 'wasserstein',
  defaultThreshold: 0.1,
  numeric: (s) => {
    const distance = wasserstein(s.refValues, s.refWeights, s.current) / Math.max(stdOf(s.ref), 0.001);
    return { statistic: distance, distance };
  },
  drifted: distanceAtLeast,
};

/** Wasserstein-1 distance: the area between the two step CDFs. */
export function wasserstein(rv: Float64Array, rw: Float64Array, cur: Float64Array): number {
  const refTotal = rw.reduce((a, b) => a + b, 0);
  const m = cur.length;
  let i = 0;
  let j = 0;
  let fr = 0;
  let area = 0;
  let prev = Math.min(rv[0] ?? Number.POSITIVE_INFINITY, cur[0] ?? Number.POSITIVE_INFINITY);
  while (i < rv.length || j < m) {
    const x = Math.min(i < rv.length ? (rv[i] as number) : Number.POSITIVE_INFINITY, j < m ? (cur[j] as number) : Number.POSITIVE_INFINITY);
    area += Math.abs(fr / refTotal - j / m) * (x - prev);
    while (i < rv.length && rv[i] === x) fr += rw[i++] as number;
    while (j < m && cur[j] === x) j++;
    prev = x;
  }
  return area;
}

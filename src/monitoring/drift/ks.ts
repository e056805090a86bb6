import { ksTwoSampleP } from '../stats.js';
import type { DriftTest } from './drift-test.js';

/** Two-sample Kolmogorov–Smirnov test on numbers (drift when p ≤ threshold, as Evidently). */
export const ksTest: DriftTest = {
  name: 'ks',
  defaultThreshold: 0.05,
  numeric: (s) => {
    const statistic = ksStatistic(s.refValues, s.refWeights, s.current);
    return { statistic, p: ksTwoSampleP(statistic, s.ref.count, s.current.length) };
  },
  drifted: (score, threshold) => (score.p ?? 1) <= threshold,
};

/** KS statistic sup|F_ref − F_cur| with a weighted reference and sorted current values. */
export function ksStatistic(rv: Float64Array, rw: Float64Array, cur: Float64Array): number {
  const refTotal = rw.reduce((a, b) => a + b, 0);
  const m = cur.length;
  let i = 0;
  let j = 0;
  let fr = 0;
  let d = 0;
  while (i < rv.length || j < m) {
    const x = Math.min(i < rv.length ? (rv[i] as number) : Number.POSITIVE_INFINITY, j < m ? (cur[j] as number) : Number.POSITIVE_INFINITY);
    while (i < rv.length && rv[i] === x) fr += rw[i++] as number;
    while (j < m && cur[j] === x) j++;
    d = Math.max(d, Math.abs(fr / refTotal - j / m));
  }
  return d;
}

import { normalCdf } from '../stats.js';
import { pBelow, type DriftTest } from './drift-test.js';

/** Two-proportion Z-test on two categories (drift when p < threshold). */
export const zTestDrift: DriftTest = {
  name: 'z',
  defaultThreshold: 0.05,
  categorical: (s) => zTest(s.refVector, s.curVector, s.refN, s.curN),
  drifted: pBelow,
};

/** Two-proportion Z-test on the share of the first category (Evidently `z_stat_test`). */
export function zTest(refCounts: readonly number[], curCounts: readonly number[], refN: number, curN: number): { statistic: number; p: number } {
  if (refCounts.length < 2) return { statistic: 0, p: 1 };
  const p1 = (refCounts[0] as number) / refN;
  const p2 = (curCounts[0] as number) / curN;
  const pooled = (p1 * refN + p2 * curN) / (refN + curN);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / refN + 1 / curN));
  if (se === 0) return { statistic: 0, p: 1 };
  const z = (p1 - p2) / se;
  return { statistic: z, p: 2 * (1 - normalCdf(Math.abs(z))) };
}

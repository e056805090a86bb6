/**
 * The batch kernel of a RegressionModel layout (regression-run.ts): rows of a row-major Float64Array
 * scored with the row path's arithmetic. An exported package scoring with the PMML engine carries it
 * only when its document has a batch path (src/edge/narrowing.ts); a package of the batch path
 * alone scores with it directly (package/evaluators/pmml-batch.ts).
 */
import { classProbabilities, inverseLink, regressionLink, tableMargin, type RegressionLayout } from './regression-run.js';

/**
 * The batch scorer of a layout (see `BatchKernel.run`): a row with any predictor's field missing
 * (NaN) has no prediction, as in the per-row path.
 */
export function regressionRun(L: RegressionLayout): (x: Float64Array, rows: number, value: Float64Array, probabilities: Float64Array) => void {
  const F = L.fields.length;
  const k = L.intercept.length;
  const K = L.classification ? k : 0;
  const link = L.classification ? inverseLink(L.method) : regressionLink(L.method);
  const y = new Float64Array(k);
  const p = new Float64Array(k);
  const { slot } = L;
  return (x, rows, value, probabilities) => {
    for (let r = 0, off = 0; r < rows; r++, off += F) {
      let missing = false;
      for (let i = 0; i < slot.length; i++) {
        const v = x[off + slot[i]!]!;
        if (v !== v) { missing = true; break; }
      }
      if (missing) {
        value[r] = Number.NaN;
        if (K > 0) probabilities.fill(Number.NaN, r * K, r * K + K);
        continue;
      }
      if (K === 0) {
        value[r] = link!(tableMargin(L, 0, x, off));
        continue;
      }
      for (let t = 0; t < k; t++) y[t] = tableMargin(L, t, x, off);
      value[r] = classProbabilities(L.method, L.ordinal, link, y, k, p);
      for (let c = 0; c < K; c++) probabilities[r * K + c] = p[c]!;
    }
  };
}

/**
 * The parity check a package ships (check.js): score the parity rows with the package and
 * compare with what the server predicted. Used by the package's test.js in Node and by a page
 * or a Web Worker in a browser.
 */
import type { ParityVectors } from './types.js';

export interface ParityResult {
  readonly rows: number;
  /** Largest |package − server| over every numeric value. */
  readonly maxDiff: number;
  /** Values outside the tolerance (the first few), as `row 3, probabilities[1]: 0.2 vs 0.3`. */
  readonly mismatches: readonly string[];
  readonly ok: boolean;
}

type Predict = (rows: readonly Readonly<Record<string, unknown>>[], options: { keys: readonly string[] }) => Promise<readonly Record<string, unknown>[]>;

/** Compare the package's predictions for the parity rows with the server's. */
export async function checkParity(predict: Predict, vectors: ParityVectors): Promise<ParityResult> {
  const got = await predict(vectors.rows, { keys: vectors.keys });
  const state = { maxDiff: 0, mismatches: [] as string[], count: 0 };
  if (got.length !== vectors.expected.length) state.mismatches.push(`${got.length} predictions for ${vectors.expected.length} rows`);
  vectors.expected.forEach((want, r) => {
    for (const [name, value] of Object.entries(want)) compare(value, got[r]?.[name], `row ${r + 1}, ${name}`, vectors.tolerance, state);
  });
  return { rows: vectors.rows.length, maxDiff: state.maxDiff, mismatches: state.mismatches.slice(0, 10), ok: state.mismatches.length === 0 };
}

function compare(want: unknown, got: unknown, where: string, tol: ParityVectors['tolerance'], state: { maxDiff: number; mismatches: string[] }): void {
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) {
      state.mismatches.push(`${where}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
      return;
    }
    want.forEach((w, i) => compare(w, got[i], `${where}[${i}]`, tol, state));
    return;
  }
  if (typeof want === 'number' && typeof got === 'number') {
    const diff = Math.abs(got - want);
    if (diff > state.maxDiff) state.maxDiff = diff;
    if (!(diff <= tol.abs + tol.rel * Math.abs(want))) state.mismatches.push(`${where}: ${got} vs ${want}`);
    return;
  }
  if (want !== got && !(want === null && got === undefined)) state.mismatches.push(`${where}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
}

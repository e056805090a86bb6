/**
 * Drift tests: a reference profile (profile.ts) against current data, column by column,
 * with the test chosen as Evidently chooses it (legacy `stattests/registry.py`):
 *
 *   reference ≤ 1000 values:  numeric with > 5 distinct → KS (drift if p ≤ 0.05);
 *                             ≤ 5 distinct, or categorical → chi-square if > 2 distinct
 *                             (drift if p < 0.05), else two-proportion Z-test (p < 0.05)
 *   reference > 1000 values:  numeric with > 5 distinct → Wasserstein / std(ref) (≥ 0.1);
 *                             otherwise Jensen–Shannon distance, natural log (≥ 0.1)
 *
 * "distinct" counts the union of reference and current values. PSI (reference deciles for
 * numbers, categories otherwise; ≥ 0.1) and every other test can be asked for by name.
 * Dataset drift: the share of drifted columns ≥ `share` (0.5). The current side is exact (raw
 * values); the reference side is the profile's sketch, exact up to 1023 values.
 */
import { ferry } from '../core/errors.js';
import { categoryKey, isMissing, numericValue, stdOf, type ColumnProfile, type NumericColumnProfile, type Profile } from './profile.js';
import { KllSketch } from './sketch.js';
import { chiSquareSf, ksTwoSampleP, normalCdf, sortFloat64 } from './stats.js';

export const DRIFT_TESTS = ['ks', 'wasserstein', 'chisquare', 'z', 'jensenshannon', 'psi'] as const;
export type DriftTestName = (typeof DRIFT_TESTS)[number];

/** Reference sizes up to this use the p-value tests (Evidently's threshold). */
export const SMALL_REFERENCE = 1000;
/** Numeric columns with at most this many distinct values are tested as categories. */
const FEW_DISTINCT = 5;

export const DEFAULT_THRESHOLDS: Readonly<Record<DriftTestName, number>> = {
  ks: 0.05, chisquare: 0.05, z: 0.05, wasserstein: 0.1, jensenshannon: 0.1, psi: 0.1,
};

const P_VALUE_TESTS: ReadonlySet<DriftTestName> = new Set(['ks', 'chisquare', 'z']);
/** Tests that apply to numeric columns, and to categories (or numbers with few distinct values). */
const NUMERIC_TESTS: ReadonlySet<string> = new Set(['ks', 'wasserstein', 'psi', 'jensenshannon']);
const CATEGORY_TESTS: ReadonlySet<string> = new Set(['chisquare', 'z', 'psi', 'jensenshannon']);

/** The result for one column, shaped as `ferry monitor drift --json` prints it. */
export interface ColumnDrift {
  readonly name: string;
  readonly test: DriftTestName;
  readonly statistic: number;
  readonly p_value?: number;
  readonly distance?: number;
  readonly threshold: number;
  readonly drift: boolean;
}

/** Drift of a set of columns. */
export interface DriftResult {
  readonly dataset_drift: boolean;
  /** Share of tested columns that drifted. */
  readonly share: number;
  readonly features: ColumnDrift[];
}

export interface DriftOptions {
  /** Force one test for every column it applies to (ks and wasserstein: numbers; chisquare and z: categories); other columns keep their default. */
  readonly test?: DriftTestName | undefined;
  /** Threshold of the forced test (p-value level or distance); the default tests keep theirs. Without a forced test, it applies to every column. */
  readonly threshold?: number | undefined;
  /** Share of drifted columns that makes dataset drift (default 0.5). */
  readonly share?: number | undefined;
}

/** Current data: column name → raw values. */
export type CurrentColumns = ReadonlyMap<string, ArrayLike<unknown>>;

/** Test every reference column that the current data has; columns absent from it are an error. */
export function driftOf(reference: Readonly<Record<string, ColumnProfile>>, current: CurrentColumns, options: DriftOptions = {}): DriftResult {
  const names = Object.keys(reference);
  const missing = names.filter((n) => !current.has(n));
  if (names.length > 0 && missing.length === names.length) {
    throw ferry('FERRY_E_DRIFT_NO_DATA', { detail: `the current data has none of the reference columns (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})` });
  }
  const features: ColumnDrift[] = [];
  for (const name of names) {
    const values = current.get(name);
    if (!values) continue;
    const r = columnDrift(name, reference[name] as ColumnProfile, values, options);
    if (r) features.push(r);
  }
  const drifted = features.filter((f) => f.drift).length;
  const share = features.length ? drifted / features.length : 0;
  return { dataset_drift: features.length > 0 && share >= (options.share ?? 0.5), share, features };
}

/** Feature drift and prediction drift of a profile against current inputs and outputs. */
export function profileDrift(profile: Profile, inputs: CurrentColumns, outputs: CurrentColumns, options: DriftOptions = {}): { features: DriftResult; predictions: DriftResult | null } {
  const features = driftOf(profile.features, inputs, options);
  const hasOutputs = Object.keys(profile.outputs).some((n) => outputs.has(n));
  return { features, predictions: hasOutputs ? driftOf(profile.outputs, outputs, options) : null };
}

/** Test one column; undefined when the current data holds no values for it. */
export function columnDrift(name: string, ref: ColumnProfile, values: ArrayLike<unknown>, options: DriftOptions = {}): ColumnDrift | undefined {
  const numeric = ref.kind === 'numeric';
  const cur = numeric ? currentNumbers(values) : undefined;
  const curCounts = numeric && cur ? undefined : categoryCounts(values);
  if (cur ? cur.length === 0 : (curCounts?.total ?? 0) === 0) return undefined;
  if (ref.count === 0) return undefined;

  // Distinct values of ref ∪ cur (only needed up to "more than 5").
  let refCounts: Map<string, number> | undefined;
  let curCategorical = curCounts;
  if (ref.kind === 'categorical') refCounts = new Map(Object.entries(ref.counts));
  else if (ref.distinct && cur) {
    const union = new Set([...Object.keys(ref.distinct), ...distinctUpTo(cur, FEW_DISTINCT + 1)]);
    if (union.size <= FEW_DISTINCT) {
      refCounts = new Map(Object.entries(ref.distinct));
      curCategorical = categoryCounts(Array.from(cur, String));
    }
  }
  const nUnique = refCounts && curCategorical ? new Set([...refCounts.keys(), ...curCategorical.counts.keys()]).size : Number.POSITIVE_INFINITY;
  const small = ref.count <= SMALL_REFERENCE;

  let test: DriftTestName;
  const forced = options.test !== undefined && (refCounts ? CATEGORY_TESTS : NUMERIC_TESTS).has(options.test);
  if (forced) test = options.test;
  else if (refCounts) test = small ? (nUnique > 2 ? 'chisquare' : 'z') : 'jensenshannon';
  else test = small ? 'ks' : 'wasserstein';
  // A forced test that does not apply to this column falls back to the default, with its own threshold.
  const threshold = (options.test === undefined || forced ? options.threshold : undefined) ?? DEFAULT_THRESHOLDS[test];

  let statistic: number;
  let p: number | undefined;
  let distance: number | undefined;
  if (refCounts && curCategorical) {
    const { refShares, curShares, refN, curN, refVector, curVector } = aligned(refCounts, curCategorical.counts);
    switch (test) {
      case 'chisquare': ({ statistic, p } = chiSquareTwoSample(refVector, curVector)); break;
      case 'z': ({ statistic, p } = zTest(refVector, curVector, refN, curN)); break;
      case 'psi': distance = statistic = psi(refShares, curShares); break;
      default: distance = statistic = jensenShannon(refShares, curShares); break;
    }
  } else {
    const refNum = ref as NumericColumnProfile;
    const sorted = sortFloat64(cur as Float64Array);
    const { values: rv, weights: rw } = KllSketch.fromJSON(refNum.sketch).sorted();
    switch (test) {
      case 'ks': {
        statistic = ksStatistic(rv, rw, sorted);
        p = ksTwoSampleP(statistic, refNum.count, sorted.length);
        break;
      }
      case 'psi': distance = statistic = psiNumeric(refNum, rv, rw, sorted); break;
      case 'jensenshannon': distance = statistic = jsNumeric(rv, rw, sorted); break;
      default: distance = statistic = wasserstein(rv, rw, sorted) / Math.max(stdOf(refNum), 0.001); break;
    }
  }
  const drift = P_VALUE_TESTS.has(test)
    ? (test === 'ks' ? (p as number) <= threshold : (p as number) < threshold)
    : (distance as number) >= threshold;
  return { name, test, statistic, ...(p !== undefined ? { p_value: p } : { distance: distance as number }), threshold, drift };
}

/** The numeric values of a column (missing and non-numeric cells left out, as not comparable). */
function currentNumbers(values: ArrayLike<unknown>): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number') {
      if (v === v && v !== Infinity && v !== -Infinity) out[n++] = v;
      continue;
    }
    if (isMissing(v)) continue;
    const x = numericValue(v);
    if (x !== undefined) out[n++] = x;
  }
  return out.subarray(0, n);
}

function categoryCounts(values: ArrayLike<unknown>): { counts: Map<string, number>; total: number } {
  const counts = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isMissing(v)) continue;
    const k = typeof v === 'number' ? String(v) : categoryKey(v);
    counts.set(k, (counts.get(k) ?? 0) + 1);
    total++;
  }
  return { counts, total };
}

function distinctUpTo(values: Float64Array, limit: number): string[] {
  const seen = new Set<string>();
  for (const v of values) {
    seen.add(String(v));
    if (seen.size >= limit) break;
  }
  return [...seen];
}

function aligned(ref: Map<string, number>, cur: Map<string, number>) {
  const keys = [...new Set([...ref.keys(), ...cur.keys()])].sort();
  const refVector = keys.map((k) => ref.get(k) ?? 0);
  const curVector = keys.map((k) => cur.get(k) ?? 0);
  const refN = refVector.reduce((a, b) => a + b, 0);
  const curN = curVector.reduce((a, b) => a + b, 0);
  return { keys, refVector, curVector, refN, curN, refShares: refVector.map((c) => c / refN), curShares: curVector.map((c) => c / curN) };
}

/** Pearson's chi-square of current counts against reference shares (scipy `chisquare(f_obs, f_exp)`). */
export function chiSquare(refCounts: readonly number[], curCounts: readonly number[], refN: number, curN: number): { statistic: number; p: number } {
  let chi = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const expected = ((refCounts[i] as number) * curN) / refN;
    const observed = curCounts[i] as number;
    if (expected === 0) {
      if (observed > 0) return { statistic: Number.POSITIVE_INFINITY, p: 0 };
      continue;
    }
    chi += (observed - expected) ** 2 / expected;
  }
  const df = refCounts.length - 1;
  return { statistic: chi, p: df <= 0 ? 1 : chiSquareSf(chi, df) };
}

/**
 * Pearson's chi-square test of homogeneity on the 2×k table of reference and current counts
 * (scipy `chi2_contingency(correction=False)`, as alibi-detect's ChiSquareDrift). Evidently
 * tests current counts against reference shares taken as exact (`chiSquare` above), which
 * ignores the reference's own sampling error: with 500 reference and 300 current rows its
 * false-alarm rate came out at 0.10 for α = 0.05 in test/drift.test.ts. The two-sample form
 * keeps the promised level; categories seen on one side only are handled without infinities.
 */
export function chiSquareTwoSample(refCounts: readonly number[], curCounts: readonly number[]): { statistic: number; p: number } {
  const refN = refCounts.reduce((a, b) => a + b, 0);
  const curN = curCounts.reduce((a, b) => a + b, 0);
  const total = refN + curN;
  let chi = 0;
  let k = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const col = (refCounts[i] as number) + (curCounts[i] as number);
    if (col === 0) continue;
    k++;
    const eRef = (col * refN) / total;
    const eCur = (col * curN) / total;
    chi += ((refCounts[i] as number) - eRef) ** 2 / eRef + ((curCounts[i] as number) - eCur) ** 2 / eCur;
  }
  return { statistic: chi, p: k <= 1 ? 1 : chiSquareSf(chi, k - 1) };
}

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

/** Shares of sorted values falling in the bins (−∞, e₁], (e₁, e₂], …, (eₖ, ∞). */
function binShares(edges: readonly number[], values: Float64Array, weights?: Float64Array): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let total = 0;
  let b = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    while (b < edges.length && v > (edges[b] as number)) b++;
    const w = weights ? (weights[i] as number) : 1;
    counts[b] = (counts[b] ?? 0) + w;
    total += w;
  }
  return counts.map((c) => c / (total || 1));
}

/** PSI over the reference deciles. */
function psiNumeric(ref: NumericColumnProfile, rv: Float64Array, rw: Float64Array, cur: Float64Array): number {
  const sketch = KllSketch.fromJSON(ref.sketch);
  const edges = [...new Set([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => sketch.quantile(q)))].sort((a, b) => a - b);
  return psi(binShares(edges, rv, rw), binShares(edges, cur));
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

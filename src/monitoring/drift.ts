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
import type { CategorySample, DriftScore, DriftTest } from './drift/drift-test.js';
import { DRIFT_TEST_TABLE, type DriftTestName } from './drift/tests.js';
import { categoryKey, isMissing, numericValue, type ColumnProfile, type NumericColumnProfile, type Profile } from './profile.js';
import { KllSketch } from './sketch.js';
import { sortFloat64 } from './stats.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

export { DRIFT_TESTS, type DriftTestName } from './drift/tests.js';

/** Reference sizes up to this use the p-value tests (Evidently's threshold). */
export const SMALL_REFERENCE = 1000;
/** Numeric columns with at most this many distinct values are tested as categories. */
const FEW_DISTINCT = 5;

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
  const features: ColumnDrift[] = [];
  for (const r of columnDrifts(reference, current, options)) if (r) features.push(r);
  return summary(features, options);
}

/** `driftOf` with an event-loop turn after each column (a server answering a monitoring request). */
export async function driftOfYielding(reference: Readonly<Record<string, ColumnProfile>>, current: CurrentColumns, options: DriftOptions = {}): Promise<DriftResult> {
  const features: ColumnDrift[] = [];
  for (const r of columnDrifts(reference, current, options)) {
    if (r) features.push(r);
    await nextTurn();
  }
  return summary(features, options);
}

/** Each reference column's test, in reference order (undefined for a column without current values). */
function* columnDrifts(reference: Readonly<Record<string, ColumnProfile>>, current: CurrentColumns, options: DriftOptions): Generator<ColumnDrift | undefined> {
  const names = Object.keys(reference);
  const missing = names.filter((n) => !current.has(n));
  if (names.length > 0 && missing.length === names.length) {
    throw ferry('FERRY_E_DRIFT_NO_DATA', { detail: `the current data has none of the reference columns (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})` });
  }
  for (const name of names) {
    const values = current.get(name);
    if (values) yield columnDrift(name, reference[name] as ColumnProfile, values, options);
  }
}

function summary(features: ColumnDrift[], options: DriftOptions): DriftResult {
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

/** `profileDrift` with an event-loop turn after each column. */
export async function profileDriftYielding(profile: Profile, inputs: CurrentColumns, outputs: CurrentColumns, options: DriftOptions = {}): Promise<{ features: DriftResult; predictions: DriftResult | null }> {
  const features = await driftOfYielding(profile.features, inputs, options);
  const hasOutputs = Object.keys(profile.outputs).some((n) => outputs.has(n));
  return { features, predictions: hasOutputs ? await driftOfYielding(profile.outputs, outputs, options) : null };
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
  const forcedTest = options.test === undefined ? undefined : DRIFT_TEST_TABLE[options.test];
  const forced = forcedTest !== undefined && (refCounts ? forcedTest.categorical : forcedTest.numeric) !== undefined;
  if (forced && options.test !== undefined) test = options.test;
  else if (refCounts) test = small ? (nUnique > 2 ? 'chisquare' : 'z') : 'jensenshannon';
  else test = small ? 'ks' : 'wasserstein';
  // A forced test that does not apply to this column falls back to the default, with its own threshold.
  const chosen: DriftTest = DRIFT_TEST_TABLE[test];
  const threshold = (options.test === undefined || forced ? options.threshold : undefined) ?? chosen.defaultThreshold;

  let score: DriftScore | undefined;
  if (refCounts && curCategorical) score = chosen.categorical?.(aligned(refCounts, curCategorical.counts));
  else {
    const { values: refValues, weights: refWeights } = KllSketch.fromJSON((ref as NumericColumnProfile).sketch).sorted();
    score = chosen.numeric?.({ ref: ref as NumericColumnProfile, refValues, refWeights, current: sortFloat64(cur as Float64Array) });
  }
  // The test was chosen among those that apply to this kind of column.
  if (score === undefined) throw ferry('FERRY_E_INTERNAL', { detail: `drift test ${test} does not apply to column "${name}"` });
  const drift = chosen.drifted(score, threshold);
  const { statistic, p, distance } = score;
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

function aligned(ref: Map<string, number>, cur: Map<string, number>): CategorySample {
  const keys = [...new Set([...ref.keys(), ...cur.keys()])].sort();
  const refVector = keys.map((k) => ref.get(k) ?? 0);
  const curVector = keys.map((k) => cur.get(k) ?? 0);
  const refN = refVector.reduce((a, b) => a + b, 0);
  const curN = curVector.reduce((a, b) => a + b, 0);
  return { refVector, curVector, refN, curN, refShares: refVector.map((c) => c / refN), curShares: curVector.map((c) => c / curN) };
}

import type { NumericColumnProfile } from '../profile.js';

/** What a test found for one column: a statistic and either a p-value or a distance. */
export interface DriftScore {
  readonly statistic: number;
  readonly p?: number;
  readonly distance?: number;
}

/** A numeric column: the reference profile, its sketch's sorted values and weights, and the current values sorted. */
export interface NumericSample {
  readonly ref: NumericColumnProfile;
  readonly refValues: Float64Array;
  readonly refWeights: Float64Array;
  readonly current: Float64Array;
}

/** A categorical column (or numbers with few distinct values): counts and shares over the union of categories, in one order. */
export interface CategorySample {
  readonly refVector: readonly number[];
  readonly curVector: readonly number[];
  readonly refN: number;
  readonly curN: number;
  readonly refShares: readonly number[];
  readonly curShares: readonly number[];
}

/**
 * One drift test. A test applies to numeric columns when it has `numeric`, to categories when
 * it has `categorical`; `drifted` judges its score against a threshold (a p-value level or a
 * distance). Adding a test means one file in this folder and one line in `tests.ts`; the shared
 * checks in test/drift-tests.test.ts run it.
 */
export interface DriftTest {
  /** The name users give (`--test`, `drift.test` in ferry.yaml). */
  readonly name: string;
  readonly defaultThreshold: number;
  readonly numeric?: (sample: NumericSample) => DriftScore;
  readonly categorical?: (sample: CategorySample) => DriftScore;
  readonly drifted: (score: DriftScore, threshold: number) => boolean;
}

/** A p-value test drifts when p falls below the threshold. */
export const pBelow = (score: DriftScore, threshold: number): boolean => (score.p ?? 1) < threshold;
/** A distance test drifts when the distance reaches the threshold. */
export const distanceAtLeast = (score: DriftScore, threshold: number): boolean => (score.distance ?? 0) >= threshold;

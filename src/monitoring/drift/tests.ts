import { chiSquareTest } from './chi-square.js';
import type { DriftTest } from './drift-test.js';
import { jensenShannonTest } from './jensen-shannon.js';
import { ksTest } from './ks.js';
import { psiTest } from './psi.js';
import { wassersteinTest } from './wasserstein.js';
import { zTestDrift } from './z.js';

/** The table of drift tests, by the name users give. Adding a test means its file and one line here. */
export const DRIFT_TEST_TABLE = {
  ks: ksTest,
  wasserstein: wassersteinTest,
  chisquare: chiSquareTest,
  z: zTestDrift,
  jensenshannon: jensenShannonTest,
  psi: psiTest,
} as const satisfies Record<string, DriftTest>;

export type DriftTestName = keyof typeof DRIFT_TEST_TABLE;

/** Test names in the order help and errors list them. */
export const DRIFT_TESTS = Object.keys(DRIFT_TEST_TABLE) as readonly DriftTestName[];

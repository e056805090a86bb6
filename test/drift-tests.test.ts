/**
 * The shared checks every drift test in the table (src/monitoring/drift/tests.ts) passes, on
 * each kind of column it applies to: a sample from the reference's own population does not
 * drift, a shifted one does, the score carries a p-value or a distance, and forcing the test
 * by name reports it. A new test added to the table is run here without a line of its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columnDrift } from '../src/monitoring/drift.js';
import { DRIFT_TEST_TABLE, DRIFT_TESTS } from '../src/monitoring/drift/tests.js';
import { profileColumn } from '../src/monitoring/profile.js';
import { rng } from './helpers/random.js';

function numbers(seed: number, n: number, mean: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.round(r.normal(mean, 2) * 1000) / 1000);
}

/** `a` then `b` in the given counts (the order does not matter to the tests). */
function categories(a: number, b: number): string[] {
  return [...Array<string>(a).fill('a'), ...Array<string>(b).fill('b')];
}

const KINDS = {
  numeric: { reference: profileColumn(numbers(1, 800, 10)), same: numbers(2, 400, 10), shifted: numbers(3, 400, 13) },
  categorical: { reference: profileColumn(categories(480, 320)), same: categories(235, 165), shifted: categories(80, 320) },
} as const;

describe('every drift test in the table', () => {
  it('lists each test under its own name', () => {
    for (const name of DRIFT_TESTS) assert.equal(DRIFT_TEST_TABLE[name].name, name);
  });

  for (const name of DRIFT_TESTS) {
    const test = DRIFT_TEST_TABLE[name];
    for (const kind of ['numeric', 'categorical'] as const) {
      if (!test[kind]) continue;
      const { reference, same, shifted } = KINDS[kind];
      it(`${name} on a ${kind} column: no drift on the same population, drift on a shifted one`, () => {
        const calm = columnDrift('x', reference, same, { test: name });
        const moved = columnDrift('x', reference, shifted, { test: name });
        assert.ok(calm && moved);
        assert.equal(calm.test, name);
        assert.equal(moved.test, name);
        assert.equal(calm.threshold, test.defaultThreshold);
        assert.equal(calm.drift, false, `${name}: ${JSON.stringify(calm)}`);
        assert.equal(moved.drift, true, `${name}: ${JSON.stringify(moved)}`);
        assert.ok(Number.isFinite(moved.statistic));
        assert.ok((calm.p_value !== undefined) !== (calm.distance !== undefined), 'either a p-value or a distance');
      });
    }
  }
});

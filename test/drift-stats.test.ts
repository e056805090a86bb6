/** The drift statistics against SciPy values computed once (scripts/monitoring/drift_reference.py). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chiSquare, chiSquareTwoSample } from '../src/monitoring/drift/chi-square.js';
import { jensenShannon } from '../src/monitoring/drift/jensen-shannon.js';
import { ksStatistic } from '../src/monitoring/drift/ks.js';
import { wasserstein } from '../src/monitoring/drift/wasserstein.js';
import { zTest } from '../src/monitoring/drift/z.js';
import * as stats from '../src/monitoring/stats.js';
import { chiSquareSf, gammaQ, kolmogorovSf, ksTwoSampleP, normalCdf } from '../src/monitoring/stats.js';
import { ROOT } from './helpers/env.js';

interface Ref {
  chi2_sf: [number, number, number][];
  norm_cdf: [number, number][];
  kolmogorov: [number, number][];
  gammaincc: [number, number, number][];
  ks: { a: number[]; b: number[]; statistic: number; p_exact: number; p_asymp: number; wasserstein: number; std_a: number }[];
  chisquare: { ref: number[]; cur: number[]; statistic: number; p: number; contingency_statistic: number; contingency_p: number }[];
  jensenshannon: { p: number[]; q: number[]; distance: number }[];
  ztest: { n1: number; k1: number; n2: number; k2: number; z: number; p: number }[];
}
const ref = JSON.parse(readFileSync(join(ROOT, 'fixtures/monitoring/drift-stats.json'), 'utf8')) as Ref;

/** Relative closeness, with an absolute floor for values near 0. */
function close(got: number, want: number, rel: number, abs = 1e-300, what = ''): void {
  assert.ok(Math.abs(got - want) <= Math.max(abs, rel * Math.abs(want)), `${what}: got ${got}, SciPy ${want}`);
}

test('chi-square survival matches scipy.stats.chi2.sf', () => {
  for (const [x, df, want] of ref.chi2_sf) close(chiSquareSf(x, df), want, 1e-9, 1e-300, `chi2.sf(${x}, ${df})`);
});

test('regularised upper incomplete gamma matches scipy.special.gammaincc', () => {
  for (const [a, x, want] of ref.gammaincc) close(gammaQ(a, x), want, 1e-9, 1e-300, `gammaincc(${a}, ${x})`);
});

test('normal CDF matches scipy.stats.norm.cdf, tails included', () => {
  for (const [x, want] of ref.norm_cdf) close(normalCdf(x), want, 1e-9, 1e-300, `norm.cdf(${x})`);
});

test('Kolmogorov distribution matches scipy.special.kolmogorov', () => {
  for (const [x, want] of ref.kolmogorov) close(kolmogorovSf(x), want, 1e-9, 1e-15, `kolmogorov(${x})`);
});

test('two-sample KS: statistic exact, p-value close to scipy ks_2samp, Wasserstein exact', () => {
  for (const c of ref.ks) {
    const a = Float64Array.from(c.a).sort();
    const b = Float64Array.from(c.b).sort();
    const d = ksStatistic(a, new Float64Array(a.length).fill(1), b);
    close(d, c.statistic, 1e-12, 1e-15, `D n=${a.length} m=${b.length}`);
    const p = ksTwoSampleP(d, a.length, b.length);
    // Stephens' corrected asymptotic form versus SciPy's exact p: within 15 % (or 0.005 absolute).
    close(p, c.p_exact, 0.15, 0.005, `KS p n=${a.length} m=${b.length}`);
    close(wasserstein(a, new Float64Array(a.length).fill(1), b), c.wasserstein, 1e-9, 1e-12, 'wasserstein');
  }
});

test('chi-square: goodness of fit matches scipy.stats.chisquare, the two-sample form scipy.stats.chi2_contingency', () => {
  for (const c of ref.chisquare) {
    const n = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    const r = chiSquare(c.ref, c.cur, n(c.ref), n(c.cur));
    close(r.statistic, c.statistic, 1e-9, 1e-12, 'chi2 statistic');
    close(r.p, c.p, 1e-9, 1e-300, 'chi2 p');
    const t = chiSquareTwoSample(c.ref, c.cur);
    close(t.statistic, c.contingency_statistic, 1e-9, 1e-12, 'chi2_contingency statistic');
    close(t.p, c.contingency_p, 1e-9, 1e-300, 'chi2_contingency p');
  }
  assert.deepEqual(chiSquare([10, 0], [5, 3], 10, 8), { statistic: Number.POSITIVE_INFINITY, p: 0 }, 'a category unseen in the reference is drift');
});

test('Jensen–Shannon distance matches scipy.spatial.distance.jensenshannon (natural log)', () => {
  for (const c of ref.jensenshannon) close(jensenShannon(c.p, c.q), c.distance, 1e-9, 1e-12, `js(${c.p.join()}; ${c.q.join()})`);
});

test('two-proportion Z-test', () => {
  for (const c of ref.ztest) {
    const r = zTest([c.k1, c.n1 - c.k1], [c.k2, c.n2 - c.k2], c.n1, c.n2);
    close(r.statistic, c.z, 1e-9, 1e-12, 'z');
    close(r.p, c.p, 1e-9, 1e-300, 'z p');
  }
});

test('sortFloat64 (radix) sorts like TypedArray#sort: negatives, zeros, infinities, subnormals', () => {
  const { sortFloat64 } = stats;
  let seed = 1;
  const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const a = Float64Array.from({ length: 5000 }, () => (r() - 0.5) * 10 ** Math.floor(r() * 12 - 6));
  a.set([-0, 0, -Infinity, Infinity, 5e-324, -5e-324, 1, 1, -1], 0);
  assert.deepEqual([...sortFloat64(a)], [...Float64Array.from(a).sort()]);
  assert.deepEqual([...sortFloat64(Float64Array.from([3, -1, 2]))], [-1, 2, 3]);
});

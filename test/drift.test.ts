/**
 * Drift detection validated on data held back from the reference: re-samples from the same
 * population raise false alarms no more often than the significance level allows (200 seeded
 * re-samples, α + 3 binomial standard errors), and shifted data is flagged (power).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnDrift, driftOf, type DriftTestName } from '../src/monitoring/drift.js';
import { buildProfile, type ColumnProfile } from '../src/monitoring/profile.js';
import { rng } from './helpers/random.js';

type Row = { num: number; skew: number; cat: string; bin: string };
interface Shift { num?: number; skew?: number; cat?: number; bin?: number }

function population(seed: number, n: number, shift: Shift = {}): Row[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => ({
    num: Math.round(r.normal(10 + (shift.num ?? 0) * 2, 2) * 1000) / 1000,
    skew: Math.exp(r.normal(shift.skew ?? 0, 0.5)),
    cat: r.pick(['a', 'b', 'c', 'd'], [40 - (shift.cat ?? 0), 30, 20, 10 + (shift.cat ?? 0)]),
    bin: r.uniform() < 0.3 + (shift.bin ?? 0) ? 'yes' : 'no',
  }));
}

function profileOf(rows: readonly Row[]): Record<string, ColumnProfile> {
  const cols = new Map<string, unknown[]>((['num', 'skew', 'cat', 'bin'] as const).map((k) => [k, rows.map((r) => r[k])]));
  return buildProfile(cols, new Map(), rows.length).features;
}

function columns(rows: readonly Row[]): Map<string, unknown[]> {
  return new Map((['num', 'skew', 'cat', 'bin'] as const).map((k) => [k, rows.map((r) => r[k])]));
}

/** n rows drawn without replacement from a pool, by a seeded shuffle of indexes. */
function sample<T>(pool: readonly T[], n: number, seed: number): T[] {
  const r = rng(seed);
  const idx = Array.from({ length: pool.length }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(r.uniform() * (idx.length - i));
    [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
  }
  return idx.slice(0, n).map((i) => pool[i] as T);
}

const SMALL = profileOf(population(11, 500));
const LARGE = profileOf(population(12, 5000));
const HELD_OUT = population(13, 60_000);
const RUNS = 200;
const ALPHA = 0.05;
const MARGIN = 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / RUNS);

function alarmRates(reference: Record<string, ColumnProfile>, pool: readonly Row[], runs: number, size: number, seed: number): Map<string, { test: DriftTestName; rate: number }> {
  const hits = new Map<string, { test: DriftTestName; n: number }>();
  for (let run = 0; run < runs; run++) {
    const cur = columns(sample(pool, size, seed + run));
    for (const name of Object.keys(reference)) {
      const r = columnDrift(name, reference[name] as ColumnProfile, cur.get(name) ?? []);
      assert.ok(r);
      const h = hits.get(name) ?? { test: r.test, n: 0 };
      if (r.drift) h.n++;
      hits.set(name, h);
    }
  }
  return new Map([...hits].map(([k, v]) => [k, { test: v.test, rate: v.n / runs }]));
}

test('tests are chosen as Evidently chooses them', () => {
  const cur = columns(HELD_OUT.slice(0, 300));
  const pick = (ref: Record<string, ColumnProfile>) => Object.fromEntries(driftOf(ref, cur).features.map((f) => [f.name, f.test]));
  assert.deepEqual(pick(SMALL), { num: 'ks', skew: 'ks', cat: 'chisquare', bin: 'z' });
  assert.deepEqual(pick(LARGE), { num: 'wasserstein', skew: 'wasserstein', cat: 'jensenshannon', bin: 'jensenshannon' });
  const few = buildProfile(new Map([['k', [1, 2, 3, 1, 2, 3, 1]]]), new Map(), 7).features;
  assert.equal(driftOf(few, new Map([['k', [1, 2, 2, 3]]])).features[0]?.test, 'chisquare', 'a numeric column with ≤ 5 distinct values is tested as categories');
  assert.equal(driftOf(SMALL, cur, { test: 'psi' }).features.every((f) => f.test === 'psi'), true);
  const forced = Object.fromEntries(driftOf(SMALL, cur, { test: 'chisquare', threshold: 0.01 }).features.map((f) => [f.name, [f.test, f.threshold]]));
  assert.deepEqual(forced, { num: ['ks', 0.05], skew: ['ks', 0.05], cat: ['chisquare', 0.01], bin: ['chisquare', 0.01] }, 'a forced test applies where it can; the other columns keep their default test and threshold');
  assert.equal(driftOf(SMALL, cur, { test: 'ks' }).features.find((f) => f.name === 'cat')?.test, 'chisquare');
});

test(`false alarms on held-back data stay within α = ${ALPHA} (+${MARGIN.toFixed(3)}) for KS, chi-square and Z (${RUNS} re-samples)`, () => {
  const rates = alarmRates(SMALL, HELD_OUT, RUNS, 300, 1000);
  for (const [name, { test: t, rate }] of rates) {
    assert.ok(rate <= ALPHA + MARGIN, `${name} (${t}): false-alarm rate ${rate}`);
  }
});

test('re-samples of the reference itself (bootstrap) raise false alarms within α too', () => {
  const reference = population(11, 500);
  const r = rng(4242);
  const hits = new Map<string, number>();
  for (let run = 0; run < RUNS; run++) {
    const boot = Array.from({ length: 300 }, () => reference[Math.floor(r.uniform() * reference.length)] as Row);
    for (const f of driftOf(SMALL, columns(boot)).features) hits.set(`${f.name} (${f.test})`, (hits.get(`${f.name} (${f.test})`) ?? 0) + (f.drift ? 1 : 0));
  }
  for (const [name, n] of hits) assert.ok(n / RUNS <= ALPHA + MARGIN, `${name}: false-alarm rate ${n / RUNS}`);
});

test('distance tests (Wasserstein, Jensen–Shannon) with a large reference do not fire on held-back data', () => {
  const rates = alarmRates(LARGE, HELD_OUT, RUNS, 1000, 5000);
  for (const [name, { test: t, rate }] of rates) assert.ok(rate <= ALPHA, `${name} (${t}): false-alarm rate ${rate}`);
});

test('shifted data is flagged: power ≥ 0.9 per test', () => {
  const shifted = population(14, 30_000, { num: 0.5, skew: 0.3, cat: 10, bin: 0.2 });
  for (const [ref, size] of [[SMALL, 300], [LARGE, 1000]] as const) {
    const rates = alarmRates(ref, shifted, 100, size, 9000);
    for (const [name, { test: t, rate }] of rates) assert.ok(rate >= 0.9, `${name} (${t}): power ${rate}`);
  }
});

test('dataset drift: flagged when the drifted share reaches 0.5, not on held-back data', () => {
  const shifted = population(15, 2000, { num: 0.5, cat: 12 });
  const d = driftOf(SMALL, columns(sample(shifted, 300, 1)));
  assert.deepEqual(d.features.filter((f) => f.drift).map((f) => f.name), ['num', 'cat'], JSON.stringify(d.features));
  assert.equal(d.share, 0.5);
  assert.equal(d.dataset_drift, true);
  assert.equal(driftOf(SMALL, columns(sample(shifted, 300, 1)), { share: 0.75 }).dataset_drift, false);
  let alarms = 0;
  for (let i = 0; i < 50; i++) if (driftOf(SMALL, columns(sample(HELD_OUT, 300, 77 + i))).dataset_drift) alarms++;
  assert.ok(alarms <= 1, `dataset drift on ${alarms} of 50 held-back samples`);
});

test('the JSON shape: name, test, statistic, p_value or distance, threshold, drift', () => {
  const d = driftOf(SMALL, columns(HELD_OUT.slice(0, 300)));
  assert.deepEqual(Object.keys(d), ['dataset_drift', 'share', 'features']);
  const ks = d.features.find((f) => f.test === 'ks');
  assert.deepEqual(Object.keys(ks ?? {}), ['name', 'test', 'statistic', 'p_value', 'threshold', 'drift']);
  const w = driftOf(LARGE, columns(HELD_OUT.slice(0, 300))).features.find((f) => f.test === 'wasserstein');
  assert.deepEqual(Object.keys(w ?? {}), ['name', 'test', 'statistic', 'distance', 'threshold', 'drift']);
});

/** Reference profiles: the sketch's accuracy, and merge(a, b) ≈ profile(a ∪ b). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeProfiles, profileColumn, stdOf, summariseColumn, buildProfile, type NumericColumnProfile, type CategoricalColumnProfile } from '../src/monitoring/profile.js';
import { KllSketch } from '../src/monitoring/sketch.js';
import { rng } from './helpers/random.js';

function rankOf(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}

test('the KLL sketch is exact up to 1000 values', () => {
  const r = rng(1);
  const xs = Array.from({ length: 1000 }, () => r.normal());
  const s = new KllSketch();
  xs.forEach((x) => s.update(x));
  assert.ok(s.exact);
  const sorted = [...xs].sort((a, b) => a - b);
  assert.equal(s.quantile(0.5), sorted[499]);
  assert.equal(s.retained, 1000);
});

test('the KLL sketch keeps rank error under 1 % over 200 000 values, in bounded memory', () => {
  const r = rng(2);
  const xs = Array.from({ length: 200_000 }, () => Math.exp(r.normal()));
  const s = new KllSketch();
  xs.forEach((x) => s.update(x));
  const sorted = [...xs].sort((a, b) => a - b);
  assert.ok(s.retained < 4000, `retained ${s.retained}`);
  assert.equal(s.n, 200_000);
  for (const q of [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) {
    const err = Math.abs(rankOf(sorted, s.quantile(q)) - q);
    assert.ok(err < 0.01, `q=${q}: rank error ${err}`);
  }
  assert.equal(s.min, sorted[0]);
  assert.equal(s.max, sorted[sorted.length - 1]);
  // quantiles() sorts once and answers exactly what quantile() answers, ends and ties included.
  const qs = [-1, 0, 1e-9, ...Array.from({ length: 64 }, (_, i) => (i + 0.5) / 64), 0.999999, 1, 2];
  assert.deepEqual([...s.quantiles(qs)], qs.map((q) => s.quantile(q)));
  const ties = new KllSketch();
  [3, 1, 2, 2, 2, 5].forEach((x) => ties.update(x));
  assert.deepEqual([...ties.quantiles([0.1, 0.3, 0.5, 0.7, 0.9])], [0.1, 0.3, 0.5, 0.7, 0.9].map((q) => ties.quantile(q)));
  assert.ok(Number.isNaN(new KllSketch().quantiles([0.5])[0]));
});

test('merge(profile(a), profile(b)) ≈ profile(a ∪ b): counts, mean, std exact; quantiles within the sketch error; categories exact', () => {
  const r = rng(3);
  const make = (n: number, shift: number) => ({
    x: Array.from({ length: n }, (_, i) => (i % 97 === 0 ? null : r.normal(shift, 2))),
    c: Array.from({ length: n }, () => r.pick(['a', 'b', 'c', 'd'], [4, 3, 2, 1])),
    y: Array.from({ length: n }, () => r.uniform()),
  });
  const a = make(30_000, 0);
  const b = make(20_000, 1);
  const profileOf = (d: typeof a) => buildProfile(new Map<string, unknown[]>([['x', d.x], ['c', d.c]]), new Map([['y', d.y]]), d.x.length);
  const merged = mergeProfiles(profileOf(a), profileOf(b));
  const union = buildProfile(new Map<string, unknown[]>([['x', [...a.x, ...b.x]], ['c', [...a.c, ...b.c]]]), new Map([['y', [...a.y, ...b.y]]]), 50_000);
  assert.equal(merged.rows, union.rows);
  const mx = merged.features.x as NumericColumnProfile;
  const ux = union.features.x as NumericColumnProfile;
  assert.equal(mx.count, ux.count);
  assert.equal(mx.missing, ux.missing);
  assert.ok(Math.abs(mx.mean - ux.mean) < 1e-9);
  assert.ok(Math.abs(stdOf(mx) - stdOf(ux)) < 1e-9);
  assert.equal(mx.min, ux.min);
  assert.equal(mx.max, ux.max);
  const all = [...a.x, ...b.x].filter((v): v is number => v !== null).sort((p, q) => p - q);
  const ms = KllSketch.fromJSON(mx.sketch);
  for (const q of [0.05, 0.25, 0.5, 0.75, 0.95]) {
    assert.ok(Math.abs(rankOf(all, ms.quantile(q)) - q) < 0.01, `merged q=${q}`);
  }
  assert.deepEqual((merged.features.c as CategoricalColumnProfile).counts, (union.features.c as CategoricalColumnProfile).counts);
  assert.equal((merged.outputs.y as NumericColumnProfile).count, 50_000);
  const summary = summariseColumn(mx);
  assert.equal(summary.kind, 'numeric');
  assert.ok(Math.abs((summary.missing_share as number) - mx.missing / 50_000) < 1e-12);
});

test('columns are typed: numbers and numeric text are numeric, the rest categorical; few distinct values are counted exactly', () => {
  const p = profileColumn([1, '2', 3, '', null, 2]) as NumericColumnProfile;
  assert.equal(p.kind, 'numeric');
  assert.equal(p.count, 4);
  assert.equal(p.missing, 2);
  assert.deepEqual(p.distinct, { 1: 1, 2: 2, 3: 1 });
  assert.equal(profileColumn(['x', 1, true]).kind, 'categorical');
  assert.equal((profileColumn(Array.from({ length: 100 }, (_, i) => i)) as NumericColumnProfile).distinct, null);
});

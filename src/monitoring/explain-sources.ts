/**
 * What explanations take from a version's reference profile: each numeric column's mean and each
 * categorical column's category shares (the expectations linear attributions subtract) and
 * background rows for the sampling fallback,
 * drawn from each column's quantile sketch — 64 rows at evenly spaced ranks, each column's order
 * shuffled on its own with a fixed seed (the profile keeps no joint distribution, so the
 * background treats features as independent; docs/explain.md says so).
 */
import type { ExplainSources } from '../explain/explainers.js';
import type { StoredProfile } from './profile-store.js';
import { KllSketch } from './sketch.js';

const BACKGROUND_ROWS = 64;

function shuffle(values: Float64Array, seed: number): Float64Array {
  let s = seed >>> 0;
  for (let i = values.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
  return values;
}

/** Means and background columns from a stored profile (nothing when there is none). */
export function explainSourcesOf(stored: StoredProfile | undefined): ExplainSources {
  if (!stored) return {};
  const means = new Map<string, number>();
  const shares = new Map<string, ReadonlyMap<string, number>>();
  const background = new Map<string, Float64Array>();
  let seed = 0x9e3779b9;
  for (const [name, column] of Object.entries(stored.profile.features)) {
    seed = (seed + 0x6d2b79f5) >>> 0;
    if (column.kind === 'categorical' && column.count > 0) {
      shares.set(name, new Map(Object.entries(column.counts).map(([k, n]) => [k, n / column.count])));
      continue;
    }
    if (column.kind !== 'numeric' || column.count === 0) continue;
    means.set(name, column.mean);
    const sketch = KllSketch.fromJSON(column.sketch);
    const values = sketch.quantiles(Array.from({ length: BACKGROUND_ROWS }, (_, i) => (i + 0.5) / BACKGROUND_ROWS));
    background.set(name, shuffle(values, seed));
  }
  return { means, shares, background, columns: stored.inputs };
}

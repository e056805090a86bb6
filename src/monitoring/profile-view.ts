/**
 * A stored reference profile as people read it (per column: missing, mean, spread, quantiles or
 * top values), and synthetic reference rows drawn from it: the dashboard's example rows and the
 * data of `compare` when no file is given.
 */
import { explainSourcesOf } from './explain-sources.js';
import type { ColumnProfile } from './profile.js';
import type { StoredProfile } from './profile-store.js';
import { KllSketch } from './sketch.js';

export interface ColumnSummary {
  readonly name: string;
  readonly role: 'feature' | 'output';
  readonly kind: ColumnProfile['kind'];
  readonly count: number;
  readonly missing: number;
  readonly mean: number | null;
  readonly std: number | null;
  readonly min: number | null;
  readonly p50: number | null;
  readonly max: number | null;
  /** The most frequent values (categorical columns), at most 5. */
  readonly top: readonly (readonly [string, number])[];
}

export interface ProfileSummary {
  readonly model: string;
  readonly version: number;
  readonly source: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly rows: number;
  readonly columns: readonly ColumnSummary[];
}

function summarise(name: string, role: ColumnSummary['role'], c: ColumnProfile): ColumnSummary {
  if (c.kind === 'categorical') {
    const top = Object.entries(c.counts).sort((a, b) => b[1] - a[1]).slice(0, 5);
    return { name, role, kind: c.kind, count: c.count, missing: c.missing, mean: null, std: null, min: null, p50: null, max: null, top };
  }
  const sketch = KllSketch.fromJSON(c.sketch);
  const std = c.count > 1 ? Math.sqrt(c.m2 / (c.count - 1)) : null;
  return { name, role, kind: c.kind, count: c.count, missing: c.missing, mean: c.count ? c.mean : null, std, min: c.min, p50: sketch.n ? sketch.quantile(0.5) : null, max: c.max, top: [] };
}

export function profileSummary(stored: StoredProfile): ProfileSummary {
  const { profile } = stored;
  return {
    model: stored.model, version: stored.version, source: stored.source, createdBy: stored.createdBy, createdAt: stored.createdAt, rows: profile.rows,
    columns: [
      ...Object.entries(profile.features).map(([n, c]) => summarise(n, 'feature', c)),
      ...Object.entries(profile.outputs).map(([n, c]) => summarise(n, 'output', c)),
    ],
  };
}

/**
 * `n` (≤ 64) rows of the reference's features: numbers from each column's quantile sketch at
 * evenly spaced ranks (shuffled per column, as explanations' background rows), categories in
 * proportion to their counts. Columns are drawn independently: rows that look like the data,
 * not rows of it.
 */
export function referenceRows(stored: StoredProfile, n: number): Record<string, string | number | null>[] {
  const { background = new Map<string, Float64Array>() } = explainSourcesOf(stored);
  const count = Math.max(1, Math.min(64, Math.floor(n)));
  const rows: Record<string, string | number | null>[] = Array.from({ length: count }, () => ({}));
  for (const [name, c] of Object.entries(stored.profile.features)) {
    const values = background.get(name);
    const cats = c.kind === 'categorical' ? Object.entries(c.counts).sort((a, b) => b[1] - a[1]) : [];
    const catTotal = cats.reduce((s, [, k]) => s + k, 0);
    rows.forEach((row, i) => {
      if (values) row[name] = values[i % values.length] ?? null;
      else if (cats.length) {
        // The category at rank (i + 0.5) / count of the cumulative counts.
        let target = ((i + 0.5) / count) * catTotal;
        const hit = cats.find(([, k]) => (target -= k) < 0) ?? cats[0]!;
        row[name] = hit[0];
      } else row[name] = null;
    });
  }
  return rows;
}

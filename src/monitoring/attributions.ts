/**
 * Attribution monitoring: over a window of the prediction log, the mean absolute contribution of
 * each input column among the explained rows (those logged with their explanation), and its share
 * of the total. Several classes count as the sum of |contribution| over the classes. A change of
 * these shares between two windows (total variation distance, ½ Σ |share now − share before|) is
 * what the `attribution-drift` alert rule watches.
 */
import type { RegistryDb } from '../registry/registry-db.js';
import { readPredictionChunks, type PredictionQuery } from './prediction-log-store.js';

export interface FeatureAttribution {
  readonly feature: string;
  /** Mean |contribution| over the explained rows (summed over classes). */
  readonly mean_abs: number;
  /** mean_abs over the sum of all features' mean_abs (0 when all are 0). */
  readonly share: number;
}

export interface AttributionSummary {
  readonly model: string;
  readonly version: number | null;
  /** The window (ISO times; since null = from the first logged row). */
  readonly since: string | null;
  readonly until: string;
  /** Explained rows in the window. */
  readonly rows: number;
  /** The output space of those rows ("mixed" when several). */
  readonly space: string | null;
  /** Largest mean |contribution| first. */
  readonly features: readonly FeatureAttribution[];
}

/** The attribution summary of a window of the log (`last`: the newest N explained rows of it). */
export async function attributionSummary(db: RegistryDb, q: PredictionQuery, now = Date.now()): Promise<AttributionSummary> {
  const until = q.until === undefined ? now : typeof q.until === 'number' ? q.until : q.until.getTime();
  const sums = new Map<string, number>();
  const spaces = new Set<string>();
  let rows = 0;
  const query: PredictionQuery = { ...q, until, explained: true };
  for await (const chunk of readPredictionChunks(db, query, { inputs: false, outputs: false, attributions: true })) {
    for (const p of chunk) {
      const a = p.attributions;
      if (!a) continue;
      rows++;
      spaces.add(a.space);
      for (const feature in a.contributions) {
        const v = a.contributions[feature];
        let abs = 0;
        if (typeof v === 'number') abs = Math.abs(v);
        else if (Array.isArray(v)) for (const c of v) abs += typeof c === 'number' ? Math.abs(c) : 0;
        sums.set(feature, (sums.get(feature) ?? 0) + abs);
      }
    }
  }
  let total = 0;
  for (const s of sums.values()) total += s;
  const features = [...sums].map(([feature, s]) => ({ feature, mean_abs: rows > 0 ? s / rows : 0, share: total > 0 ? s / total : 0 }));
  features.sort((a, b) => b.mean_abs - a.mean_abs || a.feature.localeCompare(b.feature));
  return {
    model: q.model, version: q.version ?? null, since: q.since === undefined ? null : new Date(q.since).toISOString(), until: new Date(until).toISOString(), rows,
    space: spaces.size === 0 ? null : spaces.size === 1 ? [...spaces][0]! : 'mixed', features,
  };
}

/** How far the attribution shares moved from `before` to `now`: total variation distance (0–1) and the column that moved most. */
export function attributionShift(before: AttributionSummary, now: AttributionSummary): { distance: number; feature: string | null; from: number; to: number } {
  const a = new Map(before.features.map((f) => [f.feature, f.share]));
  const b = new Map(now.features.map((f) => [f.feature, f.share]));
  let distance = 0;
  let top: { feature: string | null; from: number; to: number; d: number } = { feature: null, from: 0, to: 0, d: -1 };
  for (const feature of new Set([...a.keys(), ...b.keys()])) {
    const from = a.get(feature) ?? 0;
    const to = b.get(feature) ?? 0;
    const d = Math.abs(to - from);
    distance += d;
    if (d > top.d) top = { feature, from, to, d };
  }
  return { distance: distance / 2, feature: top.feature, from: top.from, to: top.to };
}

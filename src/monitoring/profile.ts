/**
 * Reference profiles: per-column statistics of a data set and of the model's outputs on it,
 * small enough to store in the registry and mergeable, so that profiles of time windows roll
 * up into longer windows without the raw rows.
 *
 * A numeric column keeps count, missing, mean and M2 (merged with Chan's formula), min, max,
 * a KLL quantile sketch (sketch.ts) and, while it has few distinct values (≤ 32), their
 * exact counts (the drift tests treat such a column as categorical, as Evidently does). A
 * categorical column keeps exact category counts up to 1000 categories; rarer ones beyond
 * that are counted together as "other". Histograms are derived from the sketch on demand.
 */
import { ferry } from '../core/errors.js';
import type { OutputColumn, OutputValue } from '../scoring/outputs.js';
import { KllSketch } from './sketch.js';

export const PROFILE_FORMAT = 'ferry-profile/1';
/** Distinct values a numeric column tracks exactly. */
export const MAX_TRACKED_DISTINCT = 32;
/** Categories a categorical column counts exactly. */
export const MAX_CATEGORIES = 1000;
/** Width of a vector output profiled element by element (`probabilities[0]`, …). */
const MAX_OUTPUT_WIDTH = 32;

export interface NumericColumnProfile {
  readonly kind: 'numeric';
  /** Non-missing values. */
  readonly count: number;
  readonly missing: number;
  readonly mean: number;
  /** Sum of squared deviations from the mean (variance × count). */
  readonly m2: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly sketch: ReturnType<KllSketch['toJSON']>;
  /** Exact counts per distinct value while there are at most 32; null beyond. */
  readonly distinct: Readonly<Record<string, number>> | null;
}

export interface CategoricalColumnProfile {
  readonly kind: 'categorical';
  readonly count: number;
  readonly missing: number;
  readonly counts: Readonly<Record<string, number>>;
  /** Values of categories beyond the first 1000. */
  readonly other: number;
}

export type ColumnProfile = NumericColumnProfile | CategoricalColumnProfile;

/** Statistics of a data set: its model-input columns and the model's outputs on it. */
export interface Profile {
  readonly format: typeof PROFILE_FORMAT;
  readonly rows: number;
  readonly features: Readonly<Record<string, ColumnProfile>>;
  readonly outputs: Readonly<Record<string, ColumnProfile>>;
}

/** Whether a cell counts as missing: null, empty text or NaN. */
export function isMissing(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v));
}

/** A cell as a number, or undefined when it is not numeric (booleans are categorical). */
export function numericValue(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A column is numeric when every non-missing cell is a number (or numeric text). */
export function isNumericColumn(values: readonly unknown[]): boolean {
  let any = false;
  for (const v of values) {
    if (isMissing(v)) continue;
    if (numericValue(v) === undefined) return false;
    any = true;
  }
  return any;
}

/** Profile one column. */
export function profileColumn(values: readonly unknown[], kind?: ColumnProfile['kind']): ColumnProfile {
  const numeric = kind ? kind === 'numeric' : isNumericColumn(values);
  return numeric ? profileNumeric(values) : profileCategorical(values);
}

function profileNumeric(values: readonly unknown[]): NumericColumnProfile {
  const sketch = new KllSketch();
  let count = 0;
  let missing = 0;
  let mean = 0;
  let m2 = 0;
  let distinct: Map<number, number> | null = new Map();
  for (const v of values) {
    const x = isMissing(v) ? undefined : numericValue(v);
    if (x === undefined) {
      missing++;
      continue;
    }
    count++;
    const delta = x - mean;
    mean += delta / count;
    m2 += delta * (x - mean);
    sketch.update(x);
    if (distinct) {
      distinct.set(x, (distinct.get(x) ?? 0) + 1);
      if (distinct.size > MAX_TRACKED_DISTINCT) distinct = null;
    }
  }
  return {
    kind: 'numeric', count, missing, mean: count ? mean : 0, m2,
    min: count ? sketch.min : null, max: count ? sketch.max : null,
    sketch: sketch.toJSON(),
    distinct: distinct ? Object.fromEntries([...distinct].map(([k, n]) => [String(k), n])) : null,
  };
}

function profileCategorical(values: readonly unknown[]): CategoricalColumnProfile {
  const counts = new Map<string, number>();
  let count = 0;
  let missing = 0;
  let other = 0;
  for (const v of values) {
    if (isMissing(v)) {
      missing++;
      continue;
    }
    count++;
    const key = categoryKey(v);
    const n = counts.get(key);
    if (n !== undefined) counts.set(key, n + 1);
    else if (counts.size < MAX_CATEGORIES) counts.set(key, 1);
    else other++;
  }
  return { kind: 'categorical', count, missing, counts: Object.fromEntries(counts), other };
}

/** The text a categorical value is counted under. */
export function categoryKey(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** Merge two profiles of the same columns (e.g. two time windows). */
export function mergeProfiles(a: Profile, b: Profile): Profile {
  return {
    format: PROFILE_FORMAT,
    rows: a.rows + b.rows,
    features: mergeColumns(a.features, b.features),
    outputs: mergeColumns(a.outputs, b.outputs),
  };
}

function mergeColumns(a: Readonly<Record<string, ColumnProfile>>, b: Readonly<Record<string, ColumnProfile>>): Record<string, ColumnProfile> {
  const out: Record<string, ColumnProfile> = { ...a };
  for (const [name, col] of Object.entries(b)) {
    const mine = out[name];
    out[name] = mine ? mergeColumn(name, mine, col) : col;
  }
  return out;
}

/** Merge two profiles of one column. A numeric and a categorical profile do not merge. */
export function mergeColumn(name: string, a: ColumnProfile, b: ColumnProfile): ColumnProfile {
  // A column with no values at all takes the other side's kind.
  if (a.count === 0 && a.kind !== b.kind) return { ...b, missing: b.missing + a.missing };
  if (b.count === 0 && a.kind !== b.kind) return { ...a, missing: a.missing + b.missing };
  if (a.kind === 'numeric' && b.kind === 'numeric') {
    const count = a.count + b.count;
    const delta = b.mean - a.mean;
    const mean = count ? a.mean + (delta * b.count) / count : 0;
    const m2 = a.m2 + b.m2 + (count ? (delta * delta * a.count * b.count) / count : 0);
    const sketch = KllSketch.fromJSON(a.sketch).merge(KllSketch.fromJSON(b.sketch));
    let distinct: Record<string, number> | null = null;
    if (a.distinct && b.distinct) {
      distinct = { ...a.distinct };
      for (const [k, n] of Object.entries(b.distinct)) distinct[k] = (distinct[k] ?? 0) + n;
      if (Object.keys(distinct).length > MAX_TRACKED_DISTINCT) distinct = null;
    }
    return {
      kind: 'numeric', count, missing: a.missing + b.missing, mean, m2,
      min: count ? sketch.min : null, max: count ? sketch.max : null, sketch: sketch.toJSON(), distinct,
    };
  }
  if (a.kind === 'categorical' && b.kind === 'categorical') {
    const counts: Record<string, number> = { ...a.counts };
    let other = a.other + b.other;
    for (const [k, n] of Object.entries(b.counts)) {
      if (counts[k] !== undefined || Object.keys(counts).length < MAX_CATEGORIES) counts[k] = (counts[k] ?? 0) + n;
      else other += n;
    }
    return { kind: 'categorical', count: a.count + b.count, missing: a.missing + b.missing, counts, other };
  }
  throw ferry('FERRY_E_PROFILE_MISMATCH', { column: name, detail: `it is ${a.kind} in one profile and ${b.kind} in the other` });
}

/** Population standard deviation of a numeric column. */
export function stdOf(col: NumericColumnProfile): number {
  return col.count ? Math.sqrt(col.m2 / col.count) : 0;
}

/** Equal-width histogram of a numeric column, derived from its sketch. */
export function histogram(col: NumericColumnProfile, bins = 10): { edges: number[]; counts: number[] } {
  if (col.min === null || col.max === null) return { edges: [], counts: [] };
  const { values, weights } = KllSketch.fromJSON(col.sketch).sorted();
  const lo = col.min;
  const width = (col.max - lo) / bins || 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const counts = new Array<number>(bins).fill(0);
  values.forEach((v, i) => {
    const b = Math.min(bins - 1, Math.floor((v - lo) / width));
    counts[b] = (counts[b] ?? 0) + (weights[i] as number);
  });
  return { edges, counts };
}

/** A one-line-per-column summary for people and JSON (quantiles, histogram, top categories). */
export function summariseColumn(col: ColumnProfile): Record<string, unknown> {
  const total = col.count + col.missing;
  const base = { kind: col.kind, count: col.count, missing_share: total ? col.missing / total : 0 };
  if (col.kind === 'categorical') {
    const top = Object.entries(col.counts).sort((x, y) => y[1] - x[1]).slice(0, 10);
    return { ...base, categories: Object.keys(col.counts).length + (col.other ? 1 : 0), top: Object.fromEntries(top) };
  }
  const sketch = KllSketch.fromJSON(col.sketch);
  return {
    ...base, mean: col.mean, std: stdOf(col), min: col.min, max: col.max,
    quantiles: Object.fromEntries([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99].map((q) => [`q${Math.round(q * 100)}`, sketch.quantile(q)])),
    histogram: histogram(col),
  };
}

/** Columns of outputs as profile columns: scalars by name, short vectors element by element. */
export function outputColumns(outputs: readonly OutputColumn[]): Map<string, OutputValue[]> {
  const out = new Map<string, OutputValue[]>();
  for (const o of outputs) {
    if (o.rowShape.length === 0) out.set(o.name, o.values);
    else if (o.rowShape.length === 1 && (o.rowShape[0] ?? 0) <= MAX_OUTPUT_WIDTH) {
      const width = o.rowShape[0] ?? 0;
      for (let j = 0; j < width; j++) out.set(`${o.name}[${j}]`, o.values.map((v) => (Array.isArray(v) ? (v[j] ?? null) : null)));
    }
  }
  return out;
}

/** Build a profile from columns of features and of outputs (aligned rows). */
export function buildProfile(features: ReadonlyMap<string, readonly unknown[]>, outputs: ReadonlyMap<string, readonly unknown[]>, rows: number): Profile {
  const profileAll = (cols: ReadonlyMap<string, readonly unknown[]>) => Object.fromEntries([...cols].map(([name, values]) => [name, profileColumn(values)]));
  return { format: PROFILE_FORMAT, rows, features: profileAll(features), outputs: profileAll(outputs) };
}

/**
 * Drift for the dashboard: a timeline (each time window of the prediction log tested against
 * the reference profile — the feature × window heatmap), and one feature's reference vs current
 * histogram. Rows read are capped and the event loop is yielded between windows.
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import type { ModelVersion } from '../registry/types.js';
import { profileDriftYielding, type DriftOptions } from './drift.js';
import { logColumns, logColumnsYielding, type LoggedRow } from './log-columns.js';
import type { MonitoringParts } from './parts.js';
import { scanLog, type StoredRow } from './log-scan.js';
import type { ColumnProfile } from './profile.js';
import { requireProfile } from './profile-store.js';
import { KllSketch } from './sketch.js';

/** Logged rows read for one timeline or histogram at most (the newest ones). */
export const MAX_TIMELINE_ROWS = 5000;
export const MAX_WINDOWS = 24;
const BINS = 20;

export interface DriftWindow {
  readonly from: number;
  readonly to: number;
  readonly rows: number;
  /** Null when the window has no logged rows. */
  readonly share: number | null;
  readonly datasetDrift: boolean | null;
  /** Per feature: drifted?, the test and its statistic. */
  readonly features: Readonly<Record<string, { readonly drift: boolean; readonly test: string; readonly statistic: number }>>;
}

export interface DriftTimeline {
  readonly model: string;
  readonly version: number;
  readonly referenceRows: number;
  /** Rows read (≤ MAX_TIMELINE_ROWS: the newest when the span holds more). */
  readonly rows: number;
  readonly capped: boolean;
  readonly features: readonly string[];
  readonly windows: readonly DriftWindow[];
}

interface TimedRow extends LoggedRow { readonly at: number }

async function readTimed(app: Pick<MonitoringParts, 'database'>, version: ModelVersion, sinceMs: number, untilMs: number): Promise<TimedRow[]> {
  const rows: StoredRow[] = [];
  for await (const page of scanLog(app.database, { model: version.model, version: version.version, since: sinceMs, until: untilMs }, 'desc', { pageSize: MAX_TIMELINE_ROWS + 1, texts: true })) {
    rows.push(...page.slice(0, MAX_TIMELINE_ROWS + 1 - rows.length));
    if (rows.length > MAX_TIMELINE_ROWS) break;
  }
  return rows.map((r) => ({ at: Number(r.at), inputs: JSON.parse(r.inputs) as Record<string, unknown>, outputs: JSON.parse(r.outputs) as Record<string, unknown> }));
}

/** Split [since, until) into `windows` equal windows and test each against the reference profile. */
export async function driftTimeline(app: MonitoringParts, version: ModelVersion, span: { sinceMs: number; untilMs: number; windows: number }, options: DriftOptions = {}): Promise<DriftTimeline> {
  const stored = await requireProfile(app.database, version);
  const n = Math.max(1, Math.min(MAX_WINDOWS, Math.floor(span.windows)));
  const rows = await readTimed(app, version, span.sinceMs, span.untilMs);
  const capped = rows.length > MAX_TIMELINE_ROWS;
  if (capped) rows.length = MAX_TIMELINE_ROWS;
  const width = (span.untilMs - span.sinceMs) / n;
  const buckets: TimedRow[][] = Array.from({ length: n }, () => []);
  for (const r of rows) buckets[Math.min(n - 1, Math.floor((r.at - span.sinceMs) / width))]?.push(r);
  const windows: DriftWindow[] = [];
  for (let i = 0; i < n; i++) {
    const bucket = buckets[i] ?? [];
    const from = Math.round(span.sinceMs + i * width);
    const to = Math.round(span.sinceMs + (i + 1) * width);
    if (bucket.length === 0) {
      windows.push({ from, to, rows: 0, share: null, datasetDrift: null, features: {} });
      continue;
    }
    const { inputs, outputs } = await logColumnsYielding(bucket, stored.inputs);
    const { features } = await profileDriftYielding(stored.profile, inputs, outputs, options);
    windows.push({
      from, to, rows: bucket.length, share: features.share, datasetDrift: features.dataset_drift,
      features: Object.fromEntries(features.features.map((f) => [f.name, { drift: f.drift, test: f.test, statistic: f.statistic }])),
    });
    await yieldLoop();
  }
  return { model: version.model, version: version.version, referenceRows: stored.profile.rows, rows: rows.length, capped, features: Object.keys(stored.profile.features), windows };
}

export interface Histogram {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  /** Bin labels: `[lo, hi)` as numbers for numeric features, category names otherwise. */
  readonly bins: readonly (readonly [number, number] | string)[];
  /** Share of rows per bin (sums to ≤ 1: missing values are left out). */
  readonly reference: readonly number[];
  readonly current: readonly number[];
  readonly currentRows: number;
}

/** One feature's reference distribution (from the profile's sketch or counts) against logged traffic since `sinceMs`. */
export async function featureHistogram(app: MonitoringParts, version: ModelVersion, feature: string, sinceMs: number, untilMs: number): Promise<Histogram | undefined> {
  const stored = await requireProfile(app.database, version);
  const ref = stored.profile.features[feature];
  if (!ref) return undefined;
  const rows = (await readTimed(app, version, sinceMs, untilMs)).slice(0, MAX_TIMELINE_ROWS);
  const values = rows.length ? Array.from(logColumns(rows, stored.inputs).inputs.get(feature) ?? []) : [];
  return histogramOf(feature, ref, values);
}

/** Bins for a column profile and the shares of the reference and of `values` in each. */
export function histogramOf(feature: string, ref: ColumnProfile, values: readonly unknown[]): Histogram {
  if (ref.kind === 'categorical') {
    const top = Object.entries(ref.counts).sort((a, b) => b[1] - a[1]).slice(0, BINS).map(([k]) => k);
    const refTotal = Math.max(1, ref.count);
    const cur = new Map<string, number>();
    let n = 0;
    for (const v of values) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
      if (v === '') continue;
      n++;
      const key = String(v);
      cur.set(key, (cur.get(key) ?? 0) + 1);
    }
    return { feature, kind: 'categorical', bins: top, reference: top.map((k) => (ref.counts[k] ?? 0) / refTotal), current: top.map((k) => (cur.get(k) ?? 0) / Math.max(1, n)), currentRows: n };
  }
  const nums = values.map(Number).filter((x) => Number.isFinite(x));
  // The reference's range, widened to take in the current values.
  let min = ref.min ?? nums[0] ?? 0;
  let max = ref.max ?? min;
  for (const x of nums) { if (x < min) min = x; if (x > max) max = x; }
  if (max === min) max = min + 1;
  const step = (max - min) / BINS;
  const bins = Array.from({ length: BINS }, (_, i) => [min + i * step, min + (i + 1) * step] as const);
  const sketch = KllSketch.fromJSON(ref.sketch);
  const cdf = (x: number) => (sketch.n === 0 ? 0 : sketch.cdf(x));
  const reference = bins.map(([a, b], i) => Math.max(0, (i === BINS - 1 ? 1 : cdf(b)) - (i === 0 ? 0 : cdf(a))));
  const counts = new Array<number>(BINS).fill(0);
  for (const x of nums) counts[Math.min(BINS - 1, Math.floor((x - min) / step))]! += 1;
  return { feature, kind: 'numeric', bins, reference, current: counts.map((c) => c / Math.max(1, nums.length)), currentRows: nums.length };
}

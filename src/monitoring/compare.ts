/**
 * Model equivalence: two versions scored on the same rows through the one scoring core,
 * output by output — largest absolute and relative difference, the share of rows that agree
 * within a tolerance, and the rows that differ most. The server's shadow pairs
 * (table shadow_results) are summarised the same way.
 */
import type { MonitoringParts } from './parts.js';
import type { Frame } from '../core/frame.js';
import type { ModelVersion } from '../registry/types.js';
import type { ShadowResult } from './shadow-store.js';
import type { OutputValue } from '../scoring/outputs.js';

export interface RowDifference {
  /** Row number in the data (1-based), or the request id for shadow pairs. */
  readonly row: number | string;
  readonly maxAbsDiff: number;
  readonly a: Record<string, unknown>;
  readonly b: Record<string, unknown>;
}

export interface Comparison {
  readonly a: string;
  readonly b: string;
  readonly rows: number;
  readonly tolerance: number;
  readonly equivalent: boolean;
  /** Share of rows whose every compared output agrees within the tolerance (labels exactly). */
  readonly agreement: number;
  readonly maxAbsDiff: number;
  readonly maxRelDiff: number;
  /** Per output: largest differences and agreement. */
  readonly outputs: Readonly<Record<string, { maxAbsDiff: number; maxRelDiff: number; agreement: number }>>;
  /** Outputs only one side has. */
  readonly unmatched: readonly string[];
  readonly worst: readonly RowDifference[];
  /** Rows only one side could score (validation rejects). */
  readonly rejected: { a: number; b: number };
  /** Shadow pairs that failed on the shadow side (compare --shadow). */
  readonly errors?: number;
}

/** Largest absolute and relative difference between two output values (NaN-safe; text/labels 0 or ∞). */
export function valueDiff(x: unknown, y: unknown): { abs: number; rel: number } {
  if (Array.isArray(x) && Array.isArray(y)) {
    if (x.length !== y.length) return { abs: Number.POSITIVE_INFINITY, rel: Number.POSITIVE_INFINITY };
    let abs = 0;
    let rel = 0;
    for (let i = 0; i < x.length; i++) {
      const d = valueDiff(x[i], y[i]);
      abs = Math.max(abs, d.abs);
      rel = Math.max(rel, d.rel);
    }
    return { abs, rel };
  }
  if (typeof x === 'number' && typeof y === 'number') {
    if (Number.isNaN(x) && Number.isNaN(y)) return { abs: 0, rel: 0 };
    const abs = Math.abs(x - y);
    const scale = Math.max(Math.abs(x), Math.abs(y));
    return { abs, rel: scale === 0 ? 0 : abs / scale };
  }
  return x === y || JSON.stringify(x) === JSON.stringify(y) ? { abs: 0, rel: 0 } : { abs: Number.POSITIVE_INFINITY, rel: Number.POSITIVE_INFINITY };
}

/** Compare aligned rows of outputs (name → value per row). */
export function compareRows(a: string, b: string, pairs: readonly { row: number | string; a: Record<string, unknown>; b: Record<string, unknown> }[], tolerance: number, top = 5): Omit<Comparison, 'rejected'> {
  const names = new Set<string>();
  const unmatched = new Set<string>();
  for (const p of pairs.slice(0, 1)) {
    for (const n of Object.keys(p.a)) (n in p.b ? names : unmatched).add(n);
    for (const n of Object.keys(p.b)) if (!(n in p.a)) unmatched.add(n);
  }
  const per: Record<string, { maxAbsDiff: number; maxRelDiff: number; agree: number }> = {};
  for (const n of names) per[n] = { maxAbsDiff: 0, maxRelDiff: 0, agree: 0 };
  let agree = 0;
  const diffs: RowDifference[] = [];
  for (const p of pairs) {
    let rowMax = 0;
    for (const n of names) {
      const d = valueDiff(p.a[n], p.b[n]);
      const s = per[n] as { maxAbsDiff: number; maxRelDiff: number; agree: number };
      s.maxAbsDiff = Math.max(s.maxAbsDiff, d.abs);
      s.maxRelDiff = Math.max(s.maxRelDiff, d.rel);
      if (d.abs <= tolerance) s.agree++;
      rowMax = Math.max(rowMax, d.abs);
    }
    if (rowMax <= tolerance) agree++;
    diffs.push({ row: p.row, maxAbsDiff: rowMax, a: p.a, b: p.b });
  }
  const worst = diffs.filter((d) => d.maxAbsDiff > 0).sort((x, y) => y.maxAbsDiff - x.maxAbsDiff).slice(0, top);
  const outputs = Object.fromEntries(Object.entries(per).map(([n, s]) => [n, { maxAbsDiff: s.maxAbsDiff, maxRelDiff: s.maxRelDiff, agreement: pairs.length ? s.agree / pairs.length : 1 }]));
  const maxAbsDiff = Math.max(0, ...Object.values(per).map((s) => s.maxAbsDiff));
  const maxRelDiff = Math.max(0, ...Object.values(per).map((s) => s.maxRelDiff));
  return {
    a, b, rows: pairs.length, tolerance, equivalent: pairs.length > 0 && agree === pairs.length && unmatched.size === 0,
    agreement: pairs.length ? agree / pairs.length : 0, maxAbsDiff, maxRelDiff, outputs, unmatched: [...unmatched], worst,
  };
}

/** Score the same rows with two versions and compare their outputs. */
export async function compareVersions(app: MonitoringParts, va: ModelVersion, vb: ModelVersion, frame: Frame, tolerance: number, ignore: readonly string[] = []): Promise<Comparison> {
  const [ra, rb] = await Promise.all([va, vb].map(async (v) => (await app.pipeline.run({ model: { version: v }, input: { kind: 'frame', frame, plan: { ignore } }, source: 'compare' })).result));
  const byRow = (r: NonNullable<typeof ra>) => {
    const m = new Map<number, Record<string, OutputValue>>();
    r.rows.forEach((row, i) => m.set(row, Object.fromEntries(r.outputs.map((o) => [o.name, o.values[i] as OutputValue]))));
    return m;
  };
  const ma = byRow(ra as NonNullable<typeof ra>);
  const mb = byRow(rb as NonNullable<typeof rb>);
  const pairs = [...ma].filter(([row]) => mb.has(row)).map(([row, a]) => ({ row: row + 1, a, b: mb.get(row) as Record<string, unknown> }));
  const label = (v: ModelVersion) => `${v.model}:${v.version}`;
  return { ...compareRows(label(va), label(vb), pairs, tolerance), rejected: { a: ra?.rejects.length ?? 0, b: rb?.rejects.length ?? 0 } };
}

/** Summarise shadow pairs per (primary, shadow) version pair. */
export function compareShadow(model: string, records: readonly ShadowResult[], tolerance: number): Comparison[] {
  const groups = new Map<string, ShadowResult[]>();
  for (const r of records) {
    const key = `${r.primaryVersion}\u0000${r.shadowVersion}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as ShadowResult;
    const ok = group.filter((r) => r.error === null && r.shadowOutput !== null);
    const asRecord = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : { output: v });
    const pairs = ok.map((r) => ({ row: r.requestId, a: asRecord(r.primaryOutput), b: asRecord(r.shadowOutput) }));
    const c = compareRows(`${model}:${first.primaryVersion}`, `${model}:${first.shadowVersion}`, pairs, tolerance);
    const errors = group.length - ok.length;
    return { ...c, equivalent: c.equivalent && errors === 0, rejected: { a: 0, b: 0 }, errors };
  });
}

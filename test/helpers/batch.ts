/** Batch test plumbing: generated inputs, and reading every kind of output back. */
import { mulberry32 } from '../../src/core/random.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { FIXTURES } from './env.js';

const BREAST = join(FIXTURES, 'breast_mlp', 'input.csv');

/** The breast_mlp fixture's rows, cycled to `n` rows with ids `first`, `first + 1`, … */
export function breastCsv(n: number, first = 0): string {
  const [header, ...rows] = readFileSync(BREAST, 'utf8').trim().split('\n');
  const out = [header];
  for (let i = 0; i < n; i++) {
    const row = rows[i % rows.length]!;
    out.push(`${first + i}${row.slice(row.indexOf(','))}`);
  }
  return `${out.join('\n')}\n`;
}

/** JSON values as plain numbers/strings/arrays (DuckDB gives bigints and dates as objects). */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** Rows of Parquet/CSV/JSONL files (DuckDB reads them; several files in name order). */
export async function readRows(paths: readonly string[]): Promise<Record<string, unknown>[]> {
  if (paths.length === 0) return [];
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    const out: Record<string, unknown>[] = [];
    for (const p of paths) {
      if (p.endsWith('.jsonl')) {
        out.push(...readFileSync(p, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>));
        continue;
      }
      const reader = p.endsWith('.parquet') ? `read_parquet('${p}')` : `read_csv('${p}', header=true)`;
      const result = await c.runAndReadAll(`select * from ${reader}`);
      for (const row of result.getRowObjectsJS()) out.push(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)])));
    }
    return out;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** Data files (not hidden) in a folder, sorted. */
export function filesIn(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isFile()).sort().map((n) => join(dir, n));
}

/** Write CSV text as Parquet through DuckDB. */
export async function csvToParquet(csv: string, parquet: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`copy (select * from read_csv('${csv}', header=true)) to '${parquet}' (format parquet)`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** A seeded pseudo-random generator (mulberry32), so "random" tests repeat exactly. */
export const seeded = mulberry32;

/** Key and outputs only (drop run metadata), for comparing outputs between ways of scoring. */
export function strip(row: Record<string, unknown>): Record<string, unknown> {
  const { model: _m, model_version: _v, run_id: _r, scored_at: _s, ...rest } = row;
  return rest;
}

/**
 * The SQL export's parity test, run by `ferry export` before it finishes: the parity rows go
 * into a table of an in-memory DuckDB, the written query scores them, and every output
 * column is compared with the server's prediction. (The PostgreSQL dialect differs only in
 * type names DuckDB also reads; the tests run both dialects in their real databases.)
 */
import { DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { readFile } from 'node:fs/promises';
import type { ExportModel, ExportOptions, ParityCheck } from '../export-target.js';
import { ident, tableName } from './sql-ast.js';
import { sqlColumns } from './columns.js';

/** `{ probabilities: [a, b] }` → `{ probabilities_0: a, probabilities_1: b }`, as CSV columns are named. */
function flatten(name: string, value: unknown, out: Record<string, unknown>): void {
  if (Array.isArray(value)) value.forEach((v, i) => flatten(`${name}_${i}`, v, out));
  else out[name] = value;
}

function cellText(cell: unknown): string {
  if (cell === null || cell === undefined) return '';
  return typeof cell === 'string' ? cell : JSON.stringify(cell);
}

function number(cell: unknown): number | null {
  if (cell === null || cell === undefined || (typeof cell === 'string' && cell.trim() === '')) return null;
  const n = Number(cell);
  return Number.isNaN(n) ? null : n;
}

export async function checkSqlInDuckDb(queryFile: string, model: ExportModel, options: ExportOptions): Promise<ParityCheck> {
  const query = await readFile(queryFile, 'utf8');
  const { rows, expected, keys, tolerance } = model.parity;
  const columns = sqlColumns(model.version.signature) ?? [];
  const table = options.table ?? 'ferry_rows';
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    const parts = table.split('.');
    if (parts.length > 1) await c.run(`CREATE SCHEMA IF NOT EXISTS ${parts.slice(0, -1).map(ident).join('.')}`);
    const keyType = (k: string): string => (rows.every((r) => number(r[k]) !== null) ? 'DOUBLE' : 'VARCHAR');
    await c.run(`CREATE TABLE ${tableName(table)} (${[...keys.map((k) => `${ident(k)} ${keyType(k)}`), ...columns.map((col) => `${ident(col)} DOUBLE`)].join(', ')})`);
    const insert = `INSERT INTO ${tableName(table)} VALUES (${[...keys, ...columns].map((_, i) => `$${i + 1}`).join(', ')})`;
    for (const row of rows) {
      const values: DuckDBValue[] = [...keys.map((k) => (keyType(k) === 'DOUBLE' ? number(row[k]) : cellText(row[k]))), ...columns.map((col) => number(row[col]))];
      await c.run(insert, values);
    }
    const got = (await c.runAndReadAll(query)).getRowObjectsJS();
    const state = { maxDiff: 0, mismatches: [] as string[] };
    if (got.length !== expected.length) state.mismatches.push(`${got.length} rows from the query for ${expected.length} sample rows`);
    expected.forEach((want, r) => {
      const flat: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(want)) if (!keys.includes(name)) flatten(name, value, flat);
      const row = got[r] ?? {};
      for (const [name, w] of Object.entries(flat)) {
        const g = row[name];
        const gn = typeof g === 'bigint' ? Number(g) : g;
        if (typeof w === 'number' && typeof gn === 'number') {
          const diff = Math.abs(gn - w);
          state.maxDiff = Math.max(state.maxDiff, diff);
          if (!(diff <= tolerance.abs + tolerance.rel * Math.abs(w))) state.mismatches.push(`row ${r + 1}, ${name}: ${gn} vs ${w}`);
        } else if (gn !== w && !(w === null && gn === undefined)) {
          state.mismatches.push(`row ${r + 1}, ${name}: ${JSON.stringify(gn)} vs ${JSON.stringify(w)}`);
        }
      }
    });
    return { ok: state.mismatches.length === 0, rows: rows.length, maxDiff: state.maxDiff, mismatches: state.mismatches.slice(0, 10) };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

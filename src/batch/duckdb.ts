import { DuckDBInstance, DuckDBArrayValue, DuckDBDecimalValue, DuckDBListValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { Cell } from '../core/frame.js';

/** One in-memory DuckDB per run: it reads and writes files; nothing is stored in it. */
export interface DuckDb {
  /** A connection of its own for each reader and writer (a streaming result owns its connection). */
  connect(): Promise<DuckDBConnection>;
  close(): void;
}

export async function openDuckDb(): Promise<DuckDb> {
  const instance = await DuckDBInstance.create(':memory:');
  const connections: DuckDBConnection[] = [];
  return {
    async connect() {
      const c = await instance.connect();
      connections.push(c);
      return c;
    },
    close() {
      for (const c of connections) c.closeSync();
      instance.closeSync();
    },
  };
}

/** A DuckDB value as a Frame cell: numbers, text, booleans and lists as they are; other types as text. */
export function duckCell(value: DuckDBValue): Cell {
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) return value.items.map(duckCell);
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  return value.toString();
}

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

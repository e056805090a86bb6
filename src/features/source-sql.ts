import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlIdent, sqlString } from '../batch/duckdb.js';
import { ferry } from '../core/errors.js';
import type { EntityDecl, ViewDecl } from './declarations.js';
import { entityKeySql, type EntityKeyType } from './entity-key.js';
import { loadPgView } from './pg-view-source.js';

/** DuckDB's reader for a file or glob, by extension (types detected: numbers stay numbers). */
export function fileReader(path: string, what: string): string {
  const p = sqlString(path);
  const lower = path.toLowerCase();
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return `read_parquet(${p})`;
  if (lower.endsWith('.csv')) return `read_csv(${p}, header=true)`;
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return `read_json(${p}, format='newline_delimited')`;
  if (lower.endsWith('.json')) return `read_json(${p})`;
  throw ferry('FERRY_E_DATA_FORMAT_UNKNOWN', { path, extensions: '.parquet, .csv, .jsonl or .json', how: `a feature view's ${what} is read by its extension` });
}

/** The DuckDB type of one column of a relation. */
export async function columnType(conn: DuckDBConnection, relation: string, column: string): Promise<string> {
  const described = await conn.runAndReadAll(`describe select ${sqlIdent(column)} from ${relation}`);
  return String(described.getRows()[0]?.[1] ?? 'VARCHAR');
}

/** A key column of a relation as its canonical text (see entity-key.ts). */
export async function keySql(conn: DuckDBConnection, relation: string, column: string, type: EntityKeyType): Promise<string> {
  return entityKeySql(column, await columnType(conn, relation, column), type);
}

/** Event times (ms since the epoch) a read may be limited to: `after < t ≤ upTo`. */
export interface TimeRange {
  readonly after?: number | undefined;
  readonly upTo?: number | undefined;
}

/**
 * A view's source as a DuckDB relation with its entity key as canonical text (`k`), its event
 * time in ms since the epoch (`t`) and its feature columns: what materialisation and training
 * sets read. Files are read where they are; a PostgreSQL source is first copied (only the
 * columns and the time range needed) into a temporary DuckDB table, so both paths share one
 * join and one key rule.
 */
export async function viewRelation(conn: DuckDBConnection, view: ViewDecl, entity: EntityDecl, range: TimeRange = {}): Promise<string> {
  const features = view.features.map((f) => sqlIdent(f)).join(', ');
  if ('postgres' in view.source) {
    const table = await loadPgView(conn, view, entity.key, range);
    const k = await keySql(conn, table, '__key', entity.type);
    return `(select * from (select ${k} as k, __t as t, ${features} from ${table}) where k is not null)`;
  }
  const from = fileReader(view.source.path, `view "${view.name}" source`);
  const k = await keySql(conn, from, entity.key, entity.type);
  return `(select * from (select ${k} as k, epoch_ms(cast(${sqlIdent(view.timestamp)} as timestamp)) as t, ${features} from ${from} where ${sqlIdent(view.timestamp)} is not null) where k is not null)`;
}

import { sqlIdent, sqlString } from '../batch/duckdb.js';
import { ferry } from '../core/errors.js';
import type { ViewDecl } from './declarations.js';

/** DuckDB's reader for a file or glob, by extension (types detected: numbers stay numbers). */
export function fileReader(path: string, what: string): string {
  const p = sqlString(path);
  const lower = path.toLowerCase();
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return `read_parquet(${p})`;
  if (lower.endsWith('.csv')) return `read_csv(${p}, header=true)`;
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return `read_json(${p}, format='newline_delimited')`;
  if (lower.endsWith('.json')) return `read_json(${p})`;
  throw ferry('FERRY_E_USAGE', { detail: `${what} "${path}": Ferry reads .parquet, .csv, .jsonl and .json files here` });
}

/**
 * A view's source as a DuckDB relation with its entity key as text (`k`), its event time in
 * ms since the epoch (`t`) and its feature columns: what materialisation and training sets read.
 */
export function viewRelation(view: ViewDecl, key: string): string {
  const features = view.features.map((f) => sqlIdent(f)).join(', ');
  return `(select cast(${sqlIdent(key)} as varchar) as k, epoch_ms(cast(${sqlIdent(view.timestamp)} as timestamp)) as t, ${features} from ${fileReader(view.source.path, `view "${view.name}" source`)} where ${sqlIdent(key)} is not null and ${sqlIdent(view.timestamp)} is not null)`;
}

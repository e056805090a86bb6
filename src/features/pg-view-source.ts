import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { sqlIdent } from '../batch/duckdb.js';
import { redact } from '../batch/locations.js';
import { connectPg, pgIdent, pgTypeName } from '../batch/pg.js';
import { ferry } from '../core/errors.js';
import type { ViewDecl } from './declarations.js';
import type { TimeRange } from './source-sql.js';

/** Rows fetched from the PostgreSQL cursor at a time. */
const FETCH_ROWS = 20_000;

type Append = (appender: DuckDBAppender, value: unknown) => void;

/** A DuckDB column type and how to append a pg value to it (numbers, booleans; anything else as text). */
function columnOf(oid: number): { type: string; append: Append } {
  const name = pgTypeName(oid);
  if (name === 'BIGINT') return { type: 'BIGINT', append: (a, v) => a.appendBigInt(BigInt(Math.trunc(Number(v)))) };
  if (name === 'DOUBLE') return { type: 'DOUBLE', append: (a, v) => a.appendDouble(Number(v)) };
  if (name === 'BOOLEAN') return { type: 'BOOLEAN', append: (a, v) => a.appendBoolean(v === true) };
  return { type: 'VARCHAR', append: (a, v) => a.appendVarchar(typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : JSON.stringify(v)) };
}

let tables = 0;

/**
 * Copy a view's PostgreSQL source (its table or query) into a temporary DuckDB table: the entity
 * key as `__key`, the event time as ms since the epoch `__t` (computed by PostgreSQL, so
 * `timestamp`, `timestamptz` and `date` all work), and the feature columns. The time range is
 * pushed into PostgreSQL, so an incremental materialisation copies only its window. Rows come
 * through a server-side cursor, a page at a time. Returns the table's name.
 */
export async function loadPgView(conn: DuckDBConnection, view: ViewDecl, key: string, range: TimeRange): Promise<string> {
  if (!('postgres' in view.source)) throw ferry('FERRY_E_INTERNAL', { detail: `view ${view.name} has no PostgreSQL source` });
  const source = view.source;
  const from = source.query !== undefined ? `(${source.query}) as ferry_q` : source.table.split('.').map(pgIdent).join('.');
  const t = `(extract(epoch from ${pgIdent(view.timestamp)}) * 1000)::int8`;
  const where = [`${pgIdent(key)} is not null`, `${pgIdent(view.timestamp)} is not null`];
  const params: number[] = [];
  if (range.after !== undefined && Number.isFinite(range.after)) where.push(`${t} > $${params.push(range.after)}`);
  if (range.upTo !== undefined && Number.isFinite(range.upTo)) where.push(`${t} <= $${params.push(range.upTo)}`);
  const select = `select ${pgIdent(key)} as __key, ${t} as __t, ${view.features.map(pgIdent).join(', ')} from ${from} where ${where.join(' and ')}`;
  const failed = (err: unknown) => ferry('FERRY_E_FEATURE_SOURCE', { view: view.name, detail: `${redact(source.postgres)}: ${err instanceof Error ? err.message : String(err)}` }, err);
  let client;
  try {
    client = await connectPg(source.postgres, 'source');
  } catch (err) {
    throw failed(err);
  }
  const table = `__ferry_pg_${++tables}`;
  try {
    await client.query('begin read only');
    await client.query(`declare ferry_view no scroll cursor for ${select}`, params);
    let appender: DuckDBAppender | undefined;
    let appends: Append[] = [];
    for (;;) {
      const page = await client.query<Record<string, unknown>>(`fetch ${FETCH_ROWS} from ferry_view`);
      if (!appender) {
        const columns = page.fields.map((f) => ({ name: f.name, ...(f.name === '__t' ? { type: 'BIGINT', append: columnOf(20).append } : columnOf(f.dataTypeID)) }));
        await conn.run(`create temp table ${table} (${columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', ')})`);
        appender = await conn.createAppender(table);
        appends = columns.map((c) => c.append);
      }
      const names = page.fields.map((f) => f.name);
      for (const row of page.rows) {
        for (let j = 0; j < names.length; j++) {
          const v = row[names[j] as string];
          if (v === null || v === undefined) appender.appendNull();
          else (appends[j] as Append)(appender, v);
        }
        appender.endRow();
      }
      if (page.rows.length < FETCH_ROWS) break;
    }
    appender?.flushSync();
    appender?.closeSync();
    await client.query('commit');
  } catch (err) {
    throw failed(err);
  } finally {
    await client.end().catch(() => undefined);
  }
  return table;
}

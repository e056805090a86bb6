import { openDuckDb, sqlIdent, sqlString } from '../batch/duckdb.js';
import { ferry } from '../core/errors.js';
import type { ResolvedService } from './declarations.js';
import { expressionSql } from './expression.js';
import { fileReader, keySql, viewRelation } from './source-sql.js';

export interface TrainingSetOptions {
  /** Rows with the entity key(s) and a timestamp (Parquet, CSV, JSON Lines): labels and anything else are carried. */
  readonly entities: string;
  /** The timestamp column of `entities`: features are taken as of this time. */
  readonly timestamp: string;
  /** Where to write it (.parquet, .csv, .jsonl). */
  readonly output: string;
}

/** DuckDB COPY options for an output file, by extension. */
export function copyFormat(path: string): string {
  const lower = path.toLowerCase();
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return '(format parquet)';
  if (lower.endsWith('.csv')) return '(format csv, header true)';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson') || lower.endsWith('.json')) return '(format json)';
  throw ferry('FERRY_E_DATA_FORMAT_UNKNOWN', { path, extensions: '.parquet, .csv or .jsonl', how: 'a training set is written by the extension of --output' });
}

/**
 * The point-in-time training set of a service, computed inside DuckDB: for each entity row,
 * each view's latest source row with event time ≤ the row's timestamp (`ASOF LEFT JOIN`), its
 * values kept only within the view's ttl; then defaults and request-time transforms in SQL.
 * Entity rows keep their order and every column they had.
 */
export async function trainingSet(service: ResolvedService, options: TrainingSetOptions): Promise<{ rows: number; columns: string[] }> {
  const duck = await openDuckDb();
  try {
    const conn = await duck.connect();
    await conn.run("set TimeZone='UTC'");
    const keyOf = new Map(service.entities.map((e, i) => [e.name, `__k${i}`]));
    const ts = sqlIdent(options.timestamp);
    const reader = fileReader(options.entities, '--entities');
    // Keys by the entity's key rule, as in the online store: 42, 42.0 and "42" join the same rows.
    const keys = await run(Promise.all(service.entities.map(async (e, i) => `${await keySql(conn, reader, e.key, e.type)} as __k${i}`)), 'the entities file');
    await run(conn.run(`create temp table e as select *, ${keys.join(', ')}, epoch_ms(cast(${ts} as timestamp)) as __t, row_number() over () as __row from ${reader}`), 'the entities file');
    // Nothing after the last entity row's time can be joined: a PostgreSQL source copies only up to it.
    const upTo = Number((await conn.runAndReadAll('select max(__t) from e')).getRows()[0]?.[0] ?? 0);
    // One narrow ASOF join per view (row number, key, time → that view's features), then the
    // per-view results joined back by row number: each ASOF sort carries three columns instead of
    // the entity rows and every feature joined before it (1 M rows × 3 views: ~30% faster).
    const parts: string[] = [];
    for (const [i, view] of service.views.entries()) {
      const entity = service.entities.find((e) => e.name === view.entity);
      if (!entity) throw ferry('FERRY_E_INTERNAL', { detail: `view ${view.name} has no entity` });
      const selects = service.features.filter((f) => f.view === view).map((f) => {
        const raw = `v.${sqlIdent(f.feature)}`;
        const fresh = view.ttlMs === undefined ? raw : `case when e.__t - v.t <= ${view.ttlMs} then ${raw} end`;
        return `${f.missing.kind === 'default' ? `coalesce(${fresh}, ${literal(f.missing.value)})` : fresh} as ${sqlIdent(f.column)}`;
      });
      const key = keyOf.get(entity.name) ?? '';
      const relation = await viewRelation(conn, view, entity, { upTo });
      await run(conn.run(`create temp table j${i} as select e.__row, ${selects.join(', ')} from (select __row, ${key} as k, __t from e) e asof left join ${relation} v on e.k = v.k and e.__t >= v.t`), `view "${view.name}"`);
      parts.push(`j${i}`);
    }
    const selected = [`e.* exclude (${[...keyOf.values(), '__t'].join(', ')})`, ...parts.map((j) => `${j}.* exclude (__row)`)];
    const inner = `select ${selected.join(', ')} from e ${parts.map((j) => `join ${j} using (__row)`).join(' ')}`;
    const transforms = service.transforms.map((t) => {
      const sql = expressionSql(t.expression, (name) => sqlIdent(name));
      return `${t.missing.kind === 'default' ? `coalesce(${sql}, ${literal(t.missing.value)})` : sql} as ${sqlIdent(t.column)}`;
    });
    const select = `select * exclude (__row)${transforms.length ? `, ${transforms.join(', ')}` : ''} from (${inner}) order by __row`;
    const copied = await run(conn.runAndReadAll(`copy (${select}) to ${sqlString(options.output)} ${copyFormat(options.output)}`), 'the join');
    const columns = (await conn.runAndReadAll(`describe ${select}`)).getRows().map((r) => String(r[0]));
    return { rows: Number(copied.getRows()[0]?.[0] ?? 0), columns };
  } finally {
    duck.close();
  }
}

function literal(v: number | string | boolean): string {
  return typeof v === 'string' ? sqlString(v) : String(v);
}

async function run<T>(p: Promise<T>, what: string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw ferry('FERRY_E_BATCH_SOURCE', { source: what, detail: err instanceof Error ? err.message : String(err) }, err);
  }
}

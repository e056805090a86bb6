import type pg from 'pg';
import { ferry } from '../core/errors.js';
import { ColumnFrame, type Cell } from '../core/frame.js';
import { connectPg, pgError, pgIdent, pgTypeName } from './pg.js';
import { parsePgLocation, redact } from './locations.js';
import { pgShardSql } from './shard.js';
import type { BatchSource, ColumnTypes, SourceChunk } from './source.js';
import type { SourcePosition, WatermarkValue } from './types.js';

export interface PgSourceOptions {
  readonly location: string;
  readonly query: string | undefined;
  /** Rows are read in key order, one page at a time (keyset pagination): resuming starts after the last key. */
  readonly key: readonly string[];
  /** Only rows whose watermark column is beyond this value (pushed into the query). */
  readonly watermark: { readonly column: string; readonly after: WatermarkValue | null } | undefined;
  /** Only the rows of this shard (hash 2 of the key, pushed into the query). */
  readonly shard?: { readonly index: number; readonly count: number } | undefined;
}

/** A PostgreSQL table (`?table=`) or query (`--query`), paged by key. */
export class PgSource implements BatchSource {
  readonly description: string;
  readonly #options: PgSourceOptions;
  readonly #from: string;
  readonly #url: string;
  readonly #types = new Map<string, string>();
  #client: pg.Client | undefined;
  /** The shard filter, built once the key columns' types are known. */
  #shardSql: string | undefined;

  constructor(options: PgSourceOptions) {
    this.#options = options;
    const location = parsePgLocation(options.location);
    this.#url = location.url;
    if (options.key.length === 0) throw ferry('FERRY_E_BATCH_LOCATION_INVALID', { location: redact(options.location), detail: 'a PostgreSQL input is read in key order: name its key column(s) (--key).' });
    if (options.query !== undefined) this.#from = `(${options.query}) as ferry_q`;
    else if (location.table) this.#from = location.table.schema ? `${pgIdent(location.table.schema)}.${pgIdent(location.table.name)}` : pgIdent(location.table.name);
    else throw ferry('FERRY_E_BATCH_LOCATION_INVALID', { location: redact(options.location), detail: `name the table to read (${redact(options.location)}?table=name) or give a query (--query).` });
    this.description = options.query !== undefined ? `query on ${redact(location.url)}` : redact(options.location);
  }

  columnTypes(): ColumnTypes {
    return this.#types;
  }

  async count(): Promise<number | undefined> {
    const { where, params } = this.#where(null, false);
    const res = await this.#query<{ n: number }>(`select count(*)::int8 as n from ${this.#from} ${where}`, params);
    return Number(res.rows[0]?.n ?? 0);
  }

  async *read(from: SourcePosition | undefined, chunkSize: number): AsyncIterable<SourceChunk> {
    let after = from?.kind === 'postgres' ? from.after : null;
    let rows = from?.kind === 'postgres' ? from.rows : 0;
    const keys = this.#options.key.map(pgIdent).join(', ');
    await this.#prepareShard();
    for (;;) {
      const { where, params } = this.#where(after);
      const res = await this.#query<Record<string, unknown>>(`select * from ${this.#from} ${where} order by ${keys} limit ${chunkSize}`, params);
      for (const f of res.fields) if (!this.#types.has(f.name)) this.#types.set(f.name, pgTypeName(f.dataTypeID));
      if (res.rows.length === 0) return;
      const frame = ColumnFrame.fromRows(res.rows);
      const last = res.rows[res.rows.length - 1] ?? {};
      after = this.#options.key.map((k) => keyValue(last[k]));
      const positions = res.rows.map((r) => ({ source: this.description, row: JSON.stringify(this.#options.key.map((k) => keyValue(r[k]))) }));
      rows += res.rows.length;
      yield { frame, unreadable: [], position: (i) => positions[i] ?? { source: this.description, row: '?' }, end: { kind: 'postgres', after, rows }, sharded: this.#options.shard !== undefined };
      if (res.rows.length < chunkSize) return;
    }
  }

  /** `sharded`: keep only the shard's rows (the count is the whole input's: other shards' rows count as skipped). */
  #where(after: readonly Cell[] | null, sharded = true): { where: string; params: unknown[] } {
    const params: unknown[] = [];
    const clauses: string[] = [];
    const shard = this.#options.shard;
    if (shard && sharded && this.#shardSql) clauses.push(this.#shardSql);
    const wm = this.#options.watermark;
    if (wm && wm.after !== null) {
      params.push(String(wm.after));
      clauses.push(`${pgIdent(wm.column)} > $${params.length}`);
    }
    if (after) {
      const placeholders = after.map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      clauses.push(`(${this.#options.key.map(pgIdent).join(', ')}) > (${placeholders.join(', ')})`);
    }
    return { where: clauses.length > 0 ? `where ${clauses.join(' and ')}` : '', params };
  }

  /** Floats hash as JavaScript prints them (7, not 7.0): the filter needs the key columns' types. */
  async #prepareShard(): Promise<void> {
    const shard = this.#options.shard;
    if (!shard || this.#shardSql) return;
    const res = await this.#query(`select * from ${this.#from} limit 0`, []);
    const floats = new Set(res.fields.filter((f) => f.dataTypeID === 700 || f.dataTypeID === 701).map((f) => f.name));
    this.#shardSql = pgShardSql(this.#options.key.map((k) => ({ sql: pgIdent(k), float: floats.has(k) })), shard);
  }

  async #query<R extends Record<string, unknown>>(text: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    this.#client ??= await connectPg(this.#url, 'source');
    try {
      return await this.#client.query<R>(text, params);
    } catch (err) {
      throw pgError('source', this.#options.location, err);
    }
  }

  async close(): Promise<void> {
    await this.#client?.end().catch(() => undefined);
    this.#client = undefined;
  }
}

function keyValue(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
}

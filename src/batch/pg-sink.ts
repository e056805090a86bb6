import type pg from 'pg';
import { ferry } from '../core/errors.js';
import { parsePgLocation, redact } from './locations.js';
import { connectPg, pgError, pgIdent } from './pg.js';
import { tableRecords, type OutputTable, type OutputColumnSpec } from '../data/output-table.js';
import type { BatchSink } from './sink.js';
import type { SinkState } from './types.js';

/** Parameters per INSERT statement stay under PostgreSQL's limit of 65535. */
const MAX_PARAMS = 60_000;

/**
 * A PostgreSQL table (created when missing). Each chunk is one transaction of multi-row
 * INSERTs; the table has a unique constraint on (run_id, key…) and rows that are already there
 * are skipped (`on conflict do nothing`), so a chunk replayed after a crash adds nothing.
 */
export class PgSink implements BatchSink {
  readonly description: string;
  readonly #location: string;
  readonly #url: string;
  readonly #table: string;
  readonly #key: readonly string[];
  #client: pg.Client | undefined;
  #ready = false;

  constructor(location: string, key: readonly string[]) {
    const parsed = parsePgLocation(location);
    if (!parsed.table) throw ferry('FERRY_E_BATCH_LOCATION_INVALID', { location: redact(location), detail: `name the output table: ${redact(location)}?table=name` });
    if (key.length === 0) throw ferry('FERRY_E_BATCH_LOCATION_INVALID', { location: redact(location), detail: 'a PostgreSQL output is unique on (run_id, key): name the key column(s) (--key).' });
    this.#location = location;
    this.#url = parsed.url;
    this.#table = parsed.table.schema ? `${pgIdent(parsed.table.schema)}.${pgIdent(parsed.table.name)}` : pgIdent(parsed.table.name);
    this.#key = key;
    this.description = redact(location);
  }

  async open(_state: SinkState | null): Promise<void> {
    this.#client = await connectPg(this.#url, 'sink');
  }

  /** Each chunk is committed by its own transaction in `write`. */
  sync(): Promise<void> { return Promise.resolve(); }

  async write(seq: number, table: OutputTable): Promise<SinkState> {
    const columns: readonly OutputColumnSpec[] = table.columns;
    // The driver takes rows: this is the one sink that builds an object per row.
    const records = tableRecords(table);
    const client = this.#client;
    if (!client) throw ferry('FERRY_E_INTERNAL', { detail: 'PgSink.write before open' });
    try {
      if (!this.#ready) await this.#create(client, columns);
      await client.query('begin');
      const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
      for (let start = 0; start < records.length; start += perStatement) {
        const rows = records.slice(start, start + perStatement);
        const params: unknown[] = [];
        const values = rows.map((r) => `(${columns.map((c) => {
          params.push(pgValue(r[c.name], c.type));
          return `$${params.length}`;
        }).join(', ')})`);
        await client.query(`insert into ${this.#table} (${columns.map((c) => pgIdent(c.name)).join(', ')}) values ${values.join(', ')} on conflict do nothing`, params);
      }
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw pgError('sink', this.#location, err);
    }
    return { seq };
  }

  async #create(client: pg.Client, columns: readonly OutputColumnSpec[]): Promise<void> {
    const defs = columns.map((c) => `${pgIdent(c.name)} ${pgType(c.type)}`);
    const unique = ['run_id', ...this.#key].map(pgIdent).join(', ');
    await client.query(`create table if not exists ${this.#table} (${defs.join(', ')}, unique (${unique}))`);
    this.#ready = true;
  }

  finish(): Promise<void> { return Promise.resolve(); }
  cleanup(): Promise<void> { return Promise.resolve(); }

  async close(): Promise<void> {
    await this.#client?.end().catch(() => undefined);
    this.#client = undefined;
  }
}

function pgType(duckType: string): string {
  if (duckType.endsWith('[]') || duckType === 'JSON') return 'jsonb';
  switch (duckType) {
    case 'BIGINT': case 'INTEGER': return 'bigint';
    case 'DOUBLE': case 'FLOAT': return 'double precision';
    case 'BOOLEAN': return 'boolean';
    case 'TIMESTAMPTZ': return 'timestamptz';
    case 'TIMESTAMP': return 'timestamp';
    case 'DATE': return 'date';
    default: return 'text';
  }
}

function pgValue(v: unknown, duckType: string): unknown {
  if (v === undefined || v === null) return null;
  if (duckType.endsWith('[]') || duckType === 'JSON') return JSON.stringify(v);
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}

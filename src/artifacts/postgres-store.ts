import pg from 'pg';
import { ferry, FerryError } from '../core/errors.js';
import { isDigest, sha256Digest, type ArtifactStore, type PutResult } from './artifact-store.js';

/** Options for artifacts kept in PostgreSQL. */
export interface PostgresArtifactStoreOptions {
  /** `postgres://user@host:port/db`; an optional `?schema=name` keeps the tables in that schema. */
  readonly url: string;
  /** Bytes per stored chunk: a blob is never one giant `bytea` value in either direction. */
  readonly chunkBytes?: number;
  readonly maxConnections?: number;
}

const DEFAULT_CHUNK = 1 << 20;

/**
 * Artifacts in PostgreSQL, so a registry on PostgreSQL is the only shared state replicas need.
 * A blob is split into `chunkBytes` rows of `ferry_artifact_chunks`, written in one transaction
 * with its header row in `ferry_artifacts`; a reader sees a blob whole or not at all. Reads fetch
 * the chunks in bounded pages and verify the digest, like the local store: a damaged blob is
 * refused, never returned.
 */
export class PostgresArtifactStore implements ArtifactStore {
  readonly location: string;
  readonly #pool: pg.Pool;
  readonly #chunk: number;
  readonly #schema: string | undefined;
  #ready: Promise<void> | undefined;

  constructor(options: PostgresArtifactStoreOptions) {
    const { connectionString, schema, location } = parsePostgresUrl(options.url);
    this.location = location;
    this.#schema = schema;
    this.#chunk = options.chunkBytes ?? DEFAULT_CHUNK;
    this.#pool = new pg.Pool({
      connectionString,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: 10_000,
      ...(schema ? { options: `-c search_path="${schema}"` } : {}),
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    // A client checked out between two queries (inside a transaction) has no listener of the pool's:
    // its lost connection fails the next query instead of throwing an uncaught 'error' event.
    this.#pool.on('error', () => undefined);
    this.#pool.on('connect', (client) => { client.on('error', () => undefined); });
  }

  async put(bytes: Uint8Array): Promise<PutResult> {
    await this.#migrate();
    const digest = sha256Digest(bytes);
    if (await this.has(digest)) return { digest, size: bytes.byteLength, created: false };
    const client = await this.#connect();
    try {
      await client.query('begin');
      // Two writers of the same bytes: the second waits on the header row's key, then finds it.
      const inserted = await client.query(
        'insert into ferry_artifacts (digest, size, chunks, stored_at) values ($1, $2, $3, now()) on conflict (digest) do nothing',
        [digest, bytes.byteLength, Math.ceil(bytes.byteLength / this.#chunk)],
      );
      if (inserted.rowCount === 0) {
        await client.query('rollback');
        return { digest, size: bytes.byteLength, created: false };
      }
      for (let seq = 0, at = 0; at < bytes.byteLength || seq === 0; seq++, at += this.#chunk) {
        const part = Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(this.#chunk, bytes.byteLength - at));
        await client.query('insert into ferry_artifact_chunks (digest, seq, data) values ($1, $2, $3)', [digest, seq, part]);
        if (bytes.byteLength === 0) break;
      }
      await client.query('commit');
      return { digest, size: bytes.byteLength, created: true };
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw this.#error(err, `artifact ${digest}`);
    } finally {
      client.release();
    }
  }

  async get(digest: string, label: string): Promise<Uint8Array> {
    checkDigest(digest);
    await this.#migrate();
    let out: Buffer;
    try {
      const head = await this.#pool.query<{ size: string; chunks: number }>('select size, chunks from ferry_artifacts where digest = $1', [digest]);
      const row = head.rows[0];
      if (!row) throw ferry('FERRY_E_ARTIFACT_MISSING', { digest, model: label, location: this.location });
      out = Buffer.allocUnsafe(Number(row.size));
      let at = 0;
      // Bounded pages of chunks: memory is the blob plus one page, whatever the blob's size.
      const page = Math.max(1, Math.floor((16 << 20) / this.#chunk));
      for (let from = 0; from < row.chunks; from += page) {
        const res = await this.#pool.query<{ data: Buffer }>(
          'select data from ferry_artifact_chunks where digest = $1 and seq >= $2 and seq < $3 order by seq', [digest, from, from + page]);
        for (const { data } of res.rows) {
          if (at + data.byteLength > out.byteLength) throw ferry('FERRY_E_ARTIFACT_INTEGRITY', { model: label, expected: digest, actual: 'more bytes than recorded', size: at + data.byteLength });
          data.copy(out, at);
          at += data.byteLength;
        }
      }
      if (at !== out.byteLength) out = out.subarray(0, at);
    } catch (err) {
      throw this.#error(err, `artifact ${digest}`);
    }
    const actual = sha256Digest(out);
    if (actual !== digest) throw ferry('FERRY_E_ARTIFACT_INTEGRITY', { model: label, expected: digest, actual, size: out.byteLength });
    return out;
  }

  async has(digest: string): Promise<boolean> {
    checkDigest(digest);
    await this.#migrate();
    try {
      const res = await this.#pool.query('select 1 from ferry_artifacts where digest = $1', [digest]);
      return (res.rowCount ?? 0) > 0;
    } catch (err) {
      throw this.#error(err, `artifact ${digest}`);
    }
  }

  async delete(digest: string): Promise<void> {
    checkDigest(digest);
    await this.#migrate();
    const client = await this.#connect();
    try {
      await client.query('begin');
      await client.query('delete from ferry_artifact_chunks where digest = $1', [digest]);
      await client.query('delete from ferry_artifacts where digest = $1', [digest]);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw this.#error(err, `artifact ${digest}`);
    } finally {
      client.release();
    }
  }

  async list(): Promise<string[]> {
    await this.#migrate();
    const res = await this.#pool.query<{ digest: string }>('select digest from ferry_artifacts order by digest');
    return res.rows.map((r) => r.digest);
  }

  async storedAt(digest: string): Promise<Date | undefined> {
    checkDigest(digest);
    await this.#migrate();
    const res = await this.#pool.query<{ stored_at: Date }>('select stored_at from ferry_artifacts where digest = $1', [digest]);
    return res.rows[0]?.stored_at;
  }

  /** Writes are transactions: nothing half-written survives a crash, so there is nothing to sweep. */
  sweepIncomplete(_olderThanMs: number): Promise<number> {
    return Promise.resolve(0);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  #migrate(): Promise<void> {
    this.#ready ??= this.#createTables().catch((err: unknown) => {
      this.#ready = undefined;
      throw this.#error(err, 'artifact tables');
    });
    return this.#ready;
  }

  async #createTables(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      // One creator at a time across processes; `if not exists` alone races on the catalog.
      await client.query('select pg_advisory_lock(hashtext($1))', [`ferry_artifacts:${this.#schema ?? ''}`]);
      try {
        if (this.#schema) await client.query(`create schema if not exists "${this.#schema}"`);
        await client.query(`create table if not exists ferry_artifacts (
          digest text primary key, size bigint not null, chunks integer not null, stored_at timestamptz not null)`);
        await client.query(`create table if not exists ferry_artifact_chunks (
          digest text not null, seq integer not null, data bytea not null, primary key (digest, seq))`);
      } finally {
        await client.query('select pg_advisory_unlock(hashtext($1))', [`ferry_artifacts:${this.#schema ?? ''}`]);
      }
    } finally {
      client.release();
    }
  }

  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.#pool.connect();
    } catch (err) {
      throw this.#error(err, 'a connection');
    }
  }

  #error(err: unknown, what: string): FerryError {
    if (err instanceof FerryError) return err;
    const code = (err as { code?: string }).code;
    if (code === '53100') return ferry('FERRY_E_STORAGE_FULL', { what, location: this.location }, err);
    const detail = err instanceof Error ? err.message : String(err);
    return ferry('FERRY_E_STORAGE_IO', { what, location: this.location, detail }, err);
  }
}

/** Split `postgres://…?schema=x` into a connection string, the schema and a printable location (no password). */
export function parsePostgresUrl(url: string): { connectionString: string; schema: string | undefined; location: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw ferry('FERRY_E_CONFIG_INVALID', { detail: `"${url}" is not a PostgreSQL URL (postgres://user@host:port/db)` }, err);
  }
  const schema = parsed.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw ferry('FERRY_E_CONFIG_INVALID', { detail: `schema "${schema}" must be lower-case letters, digits and _ (at most 63), starting with a letter or _` });
  }
  parsed.searchParams.delete('schema');
  const connectionString = parsed.toString();
  parsed.password = '';
  return { connectionString, schema, location: parsed.toString() };
}

function checkDigest(digest: string): void {
  if (!isDigest(digest)) throw ferry('FERRY_E_INTERNAL', { detail: `malformed artifact digest "${digest}"` });
}

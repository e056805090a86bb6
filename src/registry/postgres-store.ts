import pg from 'pg';
import { Kysely, PostgresDialect, sql, type DatabaseIntrospector, type DatabaseMetadata, type PostgresDialectConfig, type SchemaMetadata, type TableMetadata } from '../vendor/kysely.js';
import { ferry, type FerryError } from '../core/errors.js';
import { KyselyRegistryStore, type DialectHooks } from './kysely-store.js';
import type { AreaMigrations, SqlCapabilities } from './registry-db.js';
import { REGISTRY_CHANNEL, RegistryChangeListener } from './postgres-notify.js';
import type { RegistryDatabase } from './schema.js';

/** Options for the PostgreSQL registry. */
export interface PostgresStoreOptions {
  /** `postgres://user@host:port/db`; an optional `?schema=name` keeps Ferry's tables in that schema. */
  readonly url: string;
  /** How long a statement waits for a row lock before FERRY_E_REGISTRY_BUSY. */
  readonly busyTimeoutMs: number;
  readonly maxConnections?: number;
  /** Other areas' migrations, applied with the registry's (the composition root lists them). */
  readonly migrations?: readonly AreaMigrations[];
  /** Push changes to watchers with LISTEN/NOTIFY (default true). */
  readonly listen?: boolean;
}

/** What PostgreSQL can do, for code that writes SQL for either database. */
export const POSTGRES_CAPABILITIES: SqlCapabilities = {
  autoIncrement: sql`bigserial`,
  rowLocks: true,
  parameter: (n) => `$${n}`,
  valuesTable: (rows, alias, columns) => sql`(values ${sql.join(rows)}) as ${sql.table(alias)}(${sql.join(columns.map((c) => sql.ref(c)))})`,
};

/**
 * The registry in PostgreSQL, for more than one machine. Version numbers come from an
 * UPDATE of the model's counter row, which takes a row lock: concurrent registrations of
 * one model serialise on it, across processes and machines.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<KyselyRegistryStore> {
  const { connectionString, schema, location } = parseUrl(options.url);
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 5,
    connectionTimeoutMillis: 10_000,
    // Quoted as in `create schema "…"`, so a mixed-case name is the same schema in both places.
    options: `-c lock_timeout=${options.busyTimeoutMs}${schema ? ` -c search_path="${schema}"` : ''}`,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  // A client checked out between two queries (inside a transaction) has no listener of the pool's:
  // its lost connection fails the next query instead of throwing an uncaught 'error' event.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => { client.on('error', () => undefined); });
  const mapError = (err: unknown): FerryError | undefined => mapPgError(err, location, options.busyTimeoutMs);
  let tablesSchema: string | undefined;
  try {
    if (schema) await createSchema(pool, schema, mapError);
    // Name the schema of Ferry's tables explicitly, or the migrator finds another schema's.
    tablesSchema = schema ?? await currentSchema(pool, mapError);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const channelSchema = tablesSchema ?? 'public';
  const hooks: DialectHooks = {
    capabilities: POSTGRES_CAPABILITIES,
    ...(tablesSchema ? { migrationTableSchema: tablesSchema } : {}),
    mapError,
    // Writers always notify (a cheap statement inside their transaction); listening is what a pooler may forbid.
    notifyChange: async (trx, model) => {
      await sql`select pg_notify(${REGISTRY_CHANNEL}, ${JSON.stringify({ schema: channelSchema, model })})`.execute(trx);
    },
    ...(options.listen === false ? {} : {
      watch: async (listener: (model: string | undefined) => void) => {
        const watcher = new RegistryChangeListener(connectionString, channelSchema, listener);
        await watcher.start();
        return watcher;
      },
    }),
  };
  const db = new Kysely<RegistryDatabase>({ dialect: new SchemaScopedPostgresDialect({ pool }, tablesSchema) });
  const store = new KyselyRegistryStore(db, hooks, location);
  try {
    await store.migrate(options.migrations);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** PostgreSQL with an introspector that looks at Ferry's schema only. */
class SchemaScopedPostgresDialect extends PostgresDialect {
  readonly #schema: string | undefined;

  constructor(config: PostgresDialectConfig, schema: string | undefined) {
    super(config);
    this.#schema = schema;
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SchemaScopedIntrospector(db, this.#schema);
  }
}

/**
 * What the migrator asks: which schemas and tables exist. Kysely's own introspector reads
 * every schema of the database through functions that look schemas up by name, so it fails
 * ("schema … does not exist") whenever another session drops a schema meanwhile. This one
 * reads the catalog for Ferry's schema alone (names only; no columns).
 */
class SchemaScopedIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<unknown>;
  readonly #schema: string | undefined;

  constructor(db: Kysely<unknown>, schema: string | undefined) {
    this.#db = db;
    this.#schema = schema;
  }

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace`.execute(this.#db);
    return rows;
  }

  async getTables(): Promise<TableMetadata[]> {
    const schema = this.#schema === undefined ? sql`current_schema()` : sql`${this.#schema}`;
    const { rows } = await sql<{ name: string; schema: string; kind: string }>`
      select c.relname as name, n.nspname as schema, c.relkind as kind
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v') and n.nspname = ${schema}`.execute(this.#db);
    return rows.map((r) => ({ name: r.name, schema: r.schema, isView: r.kind === 'v', columns: [] }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

async function currentSchema(pool: pg.Pool, mapError: (err: unknown) => FerryError | undefined): Promise<string | undefined> {
  try {
    const { rows } = await pool.query<{ schema: string | null }>('select current_schema() as schema');
    return rows[0]?.schema ?? undefined;
  } catch (err) {
    throw mapError(err) ?? err;
  }
}

async function createSchema(pool: pg.Pool, schema: string, mapError: (err: unknown) => FerryError | undefined): Promise<void> {
  try {
    await pool.query(`create schema if not exists "${schema}"`);
  } catch (err) {
    // Two processes creating the schema at once: one wins, the other sees a duplicate — fine.
    if ((err as { code?: unknown }).code !== '23505') throw mapError(err) ?? err;
  }
}

function parseUrl(url: string): { connectionString: string; schema: string | undefined; location: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw ferry('FERRY_E_CONFIG_INVALID', { detail: `schema "${schema}" in FERRY_DATABASE_URL must be a plain identifier` });
  }
  parsed.searchParams.delete('schema');
  const connectionString = parsed.toString();
  parsed.password = parsed.password ? '***' : '';
  return { connectionString, schema, location: parsed.toString() + (schema ? ` (schema ${schema})` : '') };
}

function mapPgError(err: unknown, location: string, busyTimeoutMs: number): FerryError | undefined {
  const code = (err as { code?: unknown }).code;
  if (code === '55P03' || code === '40P01') return ferry('FERRY_E_REGISTRY_BUSY', { timeoutMs: busyTimeoutMs }, err);
  if (code === '53100') return ferry('FERRY_E_STORAGE_FULL', { what: 'registry metadata', location }, err);
  const detail = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P') || code === '3D000' || code === '28000' || code === '28P01' || ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH'].includes(code))) {
    return ferry('FERRY_E_REGISTRY_UNAVAILABLE', { location, detail }, err);
  }
  if (err instanceof Error && /timeout exceeded when trying to connect|Connection terminated/i.test(err.message)) {
    return ferry('FERRY_E_REGISTRY_UNAVAILABLE', { location, detail }, err);
  }
  return undefined;
}

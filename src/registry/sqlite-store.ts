import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { CompiledQuery, Kysely, sql, SqliteAdapter, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type DialectAdapter } from '../vendor/kysely.js';
import { ferry, type FerryError } from '../core/errors.js';
import { KyselyRegistryStore, type DialectHooks } from './kysely-store.js';
import type { AreaMigrations, SqlCapabilities } from './registry-db.js';
import type { RegistryDatabase } from './schema.js';

/** Options for the embedded registry. */
export interface SqliteStoreOptions {
  /** Path of the SQLite file (created with its folder if missing). */
  readonly path: string;
  /** How long a writer waits for another process's lock before FERRY_E_REGISTRY_BUSY. */
  readonly busyTimeoutMs: number;
  /** Other areas' migrations, applied with the registry's (the composition root lists them). */
  readonly migrations?: readonly AreaMigrations[];
}

/** What SQLite can and cannot do, for code that writes SQL for either database. */
export const SQLITE_CAPABILITIES: SqlCapabilities = {
  autoIncrement: sql`integer`,
  rowLocks: false,
  parameter: () => '?',
  // SQLite names VALUES columns column1, column2… and cannot rename them in the alias.
  valuesTable: (rows, alias, columns) => sql`(select ${sql.join(columns.map((c, i) => sql`${sql.ref(`column${i + 1}`)} as ${sql.ref(c)}`))} from (values ${sql.join(rows)})) as ${sql.table(alias)}`,
};

/**
 * The embedded registry: one SQLite file in WAL mode. Every transaction starts with
 * BEGIN IMMEDIATE, so a writer takes the write lock up front and waits (busy timeout) instead
 * of failing halfway when another process writes — two processes registering at once queue.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<KyselyRegistryStore> {
  const { path, busyTimeoutMs } = options;
  let database: Database.Database;
  try {
    // The registry holds key hashes and logged inputs: only its owner may read it (SQLite gives
    // the -wal and -shm files the database file's permissions).
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
    database = new Database(path);
    database.pragma(`busy_timeout = ${busyTimeoutMs}`);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
  } catch (err) {
    throw mapSqliteError(err, path, busyTimeoutMs) ?? ferry('FERRY_E_REGISTRY_UNAVAILABLE', { location: path, detail: String(err) }, err);
  }
  const hooks: DialectHooks = {
    capabilities: { ...SQLITE_CAPABILITIES, file: { path, busyTimeoutMs } },
    mapError: (err) => mapSqliteError(err, path, busyTimeoutMs),
  };
  const db = new Kysely<RegistryDatabase>({ dialect: new ImmediateSqliteDialect({ database }, database) });
  const store = new KyselyRegistryStore(db, hooks, path);
  try {
    await store.migrate(options.migrations);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function mapSqliteError(err: unknown, path: string, busyTimeoutMs: number): FerryError | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return ferry('FERRY_E_REGISTRY_BUSY', { timeoutMs: busyTimeoutMs }, err);
  }
  if (code === 'SQLITE_FULL' || (code.startsWith('SQLITE_IOERR') && diskFull(path))) return ferry('FERRY_E_STORAGE_FULL', { what: 'registry metadata', location: path }, err);
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return ferry('FERRY_E_REGISTRY_UNAVAILABLE', { location: path, detail: (err as Error).message }, err);
  }
  return undefined;
}

/**
 * SQLite reports a disk that cannot hold the WAL or its index as a generic I/O error; when the
 * registry's file system has no block left, that is the disk being full.
 */
function diskFull(path: string): boolean {
  try {
    return statfsSync(dirname(path)).bavail === 0;
  } catch {
    return false;
  }
}

type SqliteConfig = ConstructorParameters<typeof SqliteDriver>[0];

/** Kysely's SQLite dialect with IMMEDIATE transactions and transactional migrations. */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #driverConfig: SqliteConfig;
  readonly #database: Database.Database;

  constructor(config: SqliteConfig, database: Database.Database) {
    super(config);
    this.#driverConfig = config;
    this.#database = database;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#driverConfig, this.#database);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #database: Database.Database;

  constructor(config: SqliteConfig, database: Database.Database) {
    super(config);
    this.#database = database;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  /**
   * SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR…); a
   * second ROLLBACK would fail with "no transaction is active" and hide the error that matters.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.#database.inTransaction) return;
    await super.rollbackTransaction(connection);
  }
}

/** SQLite does run DDL inside transactions; saying so makes Kysely's Migrator use one. */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

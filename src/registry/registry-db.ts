import type { Kysely, Migration, RawBuilder } from '../vendor/kysely.js';
import { asFerryError, FerryError } from '../core/errors.js';
import type { RegistryDatabase } from './schema.js';

/**
 * What differs between the databases Ferry runs on (SQLite, PostgreSQL), as capabilities
 * rather than a dialect name: code asks "can rows be locked?", never "is this PostgreSQL?".
 * Each dialect (sqlite-store.ts, postgres-store.ts) provides one.
 */
export interface SqlCapabilities {
  /** Column type of an auto-increment integer key. */
  readonly autoIncrement: RawBuilder<unknown>;
  /** Whether `SELECT … FOR UPDATE` locks rows; without it (SQLite) the database serialises writers instead. */
  readonly rowLocks: boolean;
  /** The text of the n-th (1-based) bind parameter in SQL written by hand. */
  parameter(n: number): string;
  /**
   * `(values …) as alias` whose columns carry the given names, for joins in UPDATE … FROM.
   * (PostgreSQL names them in the alias; SQLite calls them column1, column2… and renames them.)
   */
  valuesTable(rows: readonly RawBuilder<unknown>[], alias: string, columns: readonly string[]): RawBuilder<unknown>;
  /** The database file and its busy timeout, when the database is one (SQLite): for a second connection of its own. */
  readonly file?: { readonly path: string; readonly busyTimeoutMs: number } | undefined;
}

/**
 * The registry database itself, for areas that keep their own tables in it (batch runs, the
 * prediction log, profiles, alerts, shadow results, API keys). Each area declares its table
 * shapes, uses `kysely.withTables<TheirTables>()` and brings its migrations (`AreaMigrations`),
 * so `schema.ts` and `migrations.ts` stay the registry's own.
 */
export interface RegistryDb {
  readonly kysely: Kysely<RegistryDatabase>;
  readonly capabilities: SqlCapabilities;
  /** Where the database is, for messages. */
  readonly location: string;
  /** Map a driver error to the catalog (busy, unavailable, storage full), or undefined to keep it. */
  mapError(err: unknown): FerryError | undefined;
}

/**
 * One area's schema migrations by name, for a database with these capabilities. Names are
 * numbered across all areas (they share one migration table and run in name order): a new
 * migration takes the next free number. Never edit a migration that has shipped; add the next one.
 */
export type AreaMigrations = (capabilities: SqlCapabilities) => Record<string, Migration>;

/** Run a query on a registry database with driver errors mapped to the catalog (busy, unavailable, storage full). */
export async function guarded<T>(db: RegistryDb, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw db.mapError(err) ?? asFerryError(err);
  }
}

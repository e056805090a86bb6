import type { Kysely } from 'kysely';
import { asFerryError, FerryError } from '../core/errors.js';
import type { Dialect } from './migrations.js';
import type { RegistryDatabase } from './schema.js';

/**
 * The registry database itself, for modules that keep their own tables in it (the prediction
 * log, reference profiles, alerts: `src/monitoring`). They declare their table shapes and use
 * `kysely.withTables<TheirTables>()`, so `schema.ts` stays the registry's own.
 */
export interface RegistryDb {
  readonly kysely: Kysely<RegistryDatabase>;
  readonly dialect: Dialect;
  /** Where the database is, for messages. */
  readonly location: string;
  /** The SQLite file, for a second connection of its own (the prediction log's writer thread). */
  readonly sqlite?: { readonly path: string; readonly busyTimeoutMs: number } | undefined;
  /** Map a driver error to the catalog (busy, unavailable, storage full), or undefined to keep it. */
  mapError(err: unknown): FerryError | undefined;
}

/** Run a query on a registry database with driver errors mapped to the catalog (busy, unavailable, storage full). */
export async function guarded<T>(db: RegistryDb, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw db.mapError(err) ?? asFerryError(err);
  }
}

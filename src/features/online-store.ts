import type { Cell } from '../core/frame.js';
import { ferry } from '../core/errors.js';
import type { RegistryDb } from '../registry/registry-db.js';

/** The latest values of one view for one entity. */
export interface StoredRow {
  readonly key: string;
  /** Event time of the values (ms since the epoch). */
  readonly eventTime: number;
  readonly values: Readonly<Record<string, Cell>>;
}

/**
 * How far a view is materialised. `watermark`: every source row with event time ≤ it is in the
 * store (null = nothing yet). `run`: a materialisation in progress up to `until`, with every
 * entity whose key sorts ≤ `afterKey` written.
 */
export interface Progress {
  readonly watermark: number | null;
  readonly run?: { readonly until: number; readonly afterKey: string | null; readonly rows: number } | undefined;
  /** When the watermark last moved (ms since the epoch). */
  readonly updatedAt?: number | undefined;
  /** The newest event time in the store (ms): what freshness is measured from. */
  readonly newest?: number | undefined;
}

/** A view as a store sees it: its name and the entity its rows are keyed by. */
export interface ViewRef {
  readonly name: string;
  readonly entity: string;
}

/**
 * Latest feature values per view and entity. Implementations: the registry database (SQLite,
 * PostgreSQL) and Redis. A chunk of rows and the view's progress commit together (exactly-once
 * materialisation); reads never wait for a materialisation.
 */
export interface OnlineStore {
  /** For messages and metrics: `registry`, `redis://host:port/db`. */
  readonly location: string;
  /** Write rows (replacing each entity's values) and set the view's progress, atomically. */
  write(view: ViewRef, rows: readonly StoredRow[], progress: Progress): Promise<void>;
  /**
   * Rows of several views of one entity (all `views` share it) for each key: `result[v][i]` is
   * view `v`'s row for `keys[i]` (undefined = no value). One round trip per key, not per view,
   * where the store allows it (Redis: one HMGET per entity).
   */
  read(views: readonly ViewRef[], keys: readonly string[]): Promise<(StoredRow | undefined)[][]>;
  progress(view: string): Promise<Progress | undefined>;
  /** Set progress alone (the end of a run that wrote nothing more). */
  setProgress(view: string, progress: Progress): Promise<void>;
  /** Remove a view's values and progress. */
  drop(view: ViewRef): Promise<void>;
  close(): Promise<void>;
}

/**
 * The store named by the config: a `redis://` URL, or the registry database (the embedded
 * default). `?prefix=` on a Redis URL sets the key prefix (default `ferry:features:`).
 */
export async function openOnlineStore(url: string | undefined, database: RegistryDb): Promise<OnlineStore> {
  if (!url || url === 'registry') return new (await import('./sql-online-store.js')).SqlOnlineStore(database);
  if (/^rediss?:\/\//.test(url)) return (await import('./redis-online-store.js')).openRedisOnlineStore(url);
  throw ferry('FERRY_E_CONFIG_INVALID', { detail: `FERRY_ONLINE_STORE must be a redis:// URL or "registry" (got "${url}")` });
}

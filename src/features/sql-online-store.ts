import type { Kysely } from '../vendor/kysely.js';
import type { Cell } from '../core/frame.js';
import { guarded, type RegistryDb } from '../registry/registry-db.js';
import type { OnlineStore, Progress, StoredRow, ViewRef } from './online-store.js';

type ValuesTable = { view: string; entity_key: string; event_time: number | string; vals: string };
type ProgressTable = { view: string; state: string };
type Tables = { feature_values: ValuesTable; feature_progress: ProgressTable };

/** Rows per INSERT statement (4 parameters each; SQLite allows 32 766). */
const ROWS_PER_STATEMENT = 2000;
/** Keys per SELECT … IN (…). */
const KEYS_PER_READ = 2000;

/**
 * The online store in the registry database (SQLite file or PostgreSQL): one row per view and
 * entity, values as JSON. A chunk and the progress row commit in one transaction; on SQLite
 * (WAL) and PostgreSQL readers never wait for it.
 */
export class SqlOnlineStore implements OnlineStore {
  readonly location = 'registry';
  readonly #sql: RegistryDb;
  readonly #db: Kysely<Tables>;

  constructor(sql: RegistryDb) {
    this.#sql = sql;
    this.#db = sql.kysely.withTables<Tables>() as unknown as Kysely<Tables>;
  }

  async write(ref: ViewRef, rows: readonly StoredRow[], progress: Progress): Promise<void> {
    const view = ref.name;
    await guarded(this.#sql, () => this.#db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        const values = rows.slice(i, i + ROWS_PER_STATEMENT).map((r) => ({ view, entity_key: r.key, event_time: r.eventTime, vals: JSON.stringify(r.values) }));
        await trx.insertInto('feature_values').values(values)
          .onConflict((oc) => oc.columns(['view', 'entity_key']).doUpdateSet((eb) => ({ event_time: eb.ref('excluded.event_time'), vals: eb.ref('excluded.vals') })))
          .execute();
      }
      await this.#saveProgress(trx, view, progress);
    }));
  }

  async read(views: readonly ViewRef[], keys: readonly string[]): Promise<(StoredRow | undefined)[][]> {
    const found = new Map<string, StoredRow>();
    const distinct = [...new Set(keys)];
    const names = views.map((v) => v.name);
    for (let i = 0; i < distinct.length && names.length > 0; i += KEYS_PER_READ) {
      const part = distinct.slice(i, i + KEYS_PER_READ);
      const rows = await guarded(this.#sql, () => this.#db.selectFrom('feature_values').select(['view', 'entity_key', 'event_time', 'vals']).where('view', 'in', names).where('entity_key', 'in', part).execute());
      for (const r of rows) found.set(`${r.view}\u0000${r.entity_key}`, { key: r.entity_key, eventTime: Number(r.event_time), values: JSON.parse(r.vals) as Record<string, Cell> });
    }
    return names.map((v) => keys.map((k) => found.get(`${v}\u0000${k}`)));
  }

  async progress(view: string): Promise<Progress | undefined> {
    const row = await guarded(this.#sql, () => this.#db.selectFrom('feature_progress').select('state').where('view', '=', view).executeTakeFirst());
    return row ? JSON.parse(row.state) as Progress : undefined;
  }

  async setProgress(view: string, progress: Progress): Promise<void> {
    await guarded(this.#sql, () => this.#saveProgress(this.#db, view, progress));
  }

  async drop(ref: ViewRef): Promise<void> {
    const view = ref.name;
    await guarded(this.#sql, () => this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom('feature_values').where('view', '=', view).execute();
      await trx.deleteFrom('feature_progress').where('view', '=', view).execute();
    }));
  }

  async #saveProgress(db: Kysely<Tables>, view: string, progress: Progress): Promise<void> {
    const state = JSON.stringify(progress);
    await db.insertInto('feature_progress').values({ view, state }).onConflict((oc) => oc.column('view').doUpdateSet({ state })).execute();
  }

  close(): Promise<void> {
    // The registry database belongs to the composition root.
    return Promise.resolve();
  }
}

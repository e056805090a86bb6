import { Migrator, sql, type Kysely, type Migration, type Selectable, type Transaction } from '../vendor/kysely.js';
import { asFerryError, ferry, FerryError, quoteList } from '../core/errors.js';
import { registryMigrations } from './migrations.js';
import { modelPage, versionPage } from './pages.js';
import { toAlias, toEvent, toModel, toTraffic, toVersion } from './rows.js';
import type { AliasEventsTable, ModelsTable, RegistryDatabase } from './schema.js';
import type { AreaMigrations, RegistryDb, SqlCapabilities } from './registry-db.js';
import { TRAFFIC_HISTORY_ALIAS, type RegistryStore } from './store.js';
import type { Alias, AliasEvent, Model, ModelFilter, ModelPage, ModelPageQuery, ModelVersion, NewVersion, Tags, TrafficSetting, TrafficSplitSpec, VersionFilter, VersionPage, VersionPageQuery } from './types.js';

type Db = Kysely<RegistryDatabase> | Transaction<RegistryDatabase>;

const MIGRATION_TABLE = 'ferry_migrations';

/** How a dialect (sqlite-store.ts, postgres-store.ts) configures the store. */
export interface DialectHooks {
  readonly capabilities: SqlCapabilities;
  /**
   * The schema holding Ferry's tables (PostgreSQL). Kysely's Migrator looks for its table in
   * every schema unless told which one, and would find another registry's.
   */
  readonly migrationTableSchema?: string;
  /** Map a driver error to the catalog (busy, unavailable), or undefined to keep it. */
  mapError(err: unknown): FerryError | undefined;
  /** Tell watchers, inside the writing transaction, that `model` changed (delivered at commit). */
  readonly notifyChange?: (trx: Transaction<RegistryDatabase>, model: string) => Promise<void>;
  /** Push changes to a listener (see RegistryStore.watch). */
  readonly watch?: (listener: (model: string | undefined) => void) => Promise<{ close(): Promise<void> }>;
}

/** The registry over any Kysely dialect. sqlite-store.ts and postgres-store.ts configure it. */
export class KyselyRegistryStore implements RegistryStore {
  readonly location: string;
  readonly #db: Kysely<RegistryDatabase>;
  readonly #hooks: DialectHooks;

  /** Set where the dialect can push changes (PostgreSQL); absent where readers poll (SQLite). */
  readonly watch?: (listener: (model: string | undefined) => void) => Promise<{ close(): Promise<void> }>;

  constructor(db: Kysely<RegistryDatabase>, hooks: DialectHooks, location: string) {
    this.#db = db;
    this.#hooks = hooks;
    this.location = location;
    if (hooks.watch) this.watch = hooks.watch;
  }

  /** The database itself, for areas that keep their own tables beside the registry's (batch, monitoring, serving). */
  get database(): RegistryDb {
    return { kysely: this.#db, capabilities: this.#hooks.capabilities, location: this.location, mapError: (err) => this.#hooks.mapError(err) };
  }

  /**
   * Apply the registry's migrations and the areas' (`areas`), in name order, in one migration
   * table; refuse a database migrated by a newer Ferry (a migration this one does not know).
   */
  async migrate(areas: readonly AreaMigrations[] = []): Promise<void> {
    await this.#guard(async () => {
      const schema = this.#hooks.migrationTableSchema;
      const all: Record<string, Migration> = {};
      for (const area of [registryMigrations, ...areas]) {
        for (const [name, migration] of Object.entries(area(this.#hooks.capabilities))) {
          if (name in all) throw ferry('FERRY_E_INTERNAL', { detail: `two areas declare the migration "${name}"` });
          all[name] = migration;
        }
      }
      const migrator = new Migrator({
        db: this.#db,
        provider: { getMigrations: () => Promise.resolve(all) },
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: 'ferry_migrations_lock',
        ...(schema ? { migrationTableSchema: schema } : {}),
      });
      const known = Object.keys(all);
      const executed = await this.#executedMigrations();
      const unknown = executed.find((name) => !known.includes(name));
      if (unknown) throw ferry('FERRY_E_REGISTRY_SCHEMA_NEWER', { location: this.location, migration: unknown });
      // Up to date: skip the migrator, which would take the write lock just to find nothing to do.
      if (known.every((name) => executed.includes(name))) return;
      const { error } = await migrator.migrateToLatest();
      if (error) throw error instanceof Error ? error : ferry('FERRY_E_INTERNAL', { detail: `migration failed: ${JSON.stringify(error)}` });
    });
  }

  /** Names recorded in the migration table. (Migrator.getMigrations() lists only the migrations it knows.) */
  async #executedMigrations(): Promise<string[]> {
    const schema = this.#hooks.migrationTableSchema;
    const tables = await this.#db.introspection.getTables({ withInternalKyselyTables: true });
    if (!tables.some((t) => t.name === MIGRATION_TABLE && (!schema || t.schema === schema))) return [];
    const table = sql.table(schema ? `${schema}.${MIGRATION_TABLE}` : MIGRATION_TABLE);
    const { rows } = await sql<{ name: string }>`select name from ${table}`.execute(this.#db);
    return rows.map((r) => r.name);
  }

  upsertModel(name: string, fields: { description?: string; tags?: Tags }): Promise<Model> {
    return this.#write(async (trx) => {
      const now = new Date().toISOString();
      await ensureModel(trx, name, now, fields.description);
      const update: Partial<ModelsTable> = { updated_at: now };
      if (fields.description !== undefined) update.description = fields.description;
      if (fields.tags !== undefined) update.tags = JSON.stringify(fields.tags);
      await trx.updateTable('models').set(update).where('name', '=', name).execute();
      const row = await trx.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
      return toModel(row);
    });
  }

  getModel(name: string): Promise<Model | undefined> {
    return this.#guard(async () => {
      const row = await this.#db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? toModel(row) : undefined;
    });
  }

  listModels(filter: ModelFilter = {}): Promise<Model[]> {
    return this.#guard(async () => {
      let q = this.#db.selectFrom('models').selectAll().orderBy('name');
      if (filter.search) {
        const like = `%${filter.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        // ESCAPE is explicit: SQLite has no default escape character for LIKE.
        q = q.where((eb) => eb.or([
          sql<boolean>`lower(name) like ${like} escape '\\'`,
          sql<boolean>`lower(description) like ${like} escape '\\'`,
        ]));
      }
      const rows = await q.execute();
      return rows.map(toModel).filter((m) => matchesTags(m.tags, filter.tags));
    });
  }

  modelPage(query: ModelPageQuery): Promise<ModelPage> {
    return this.#guard(() => modelPage(this.#db, query));
  }

  versionPage(model: string, query: VersionPageQuery): Promise<VersionPage> {
    return this.#guard(() => versionPage(this.#db, model, query));
  }

  createVersion(input: NewVersion): Promise<ModelVersion> {
    return this.#write(async (trx) => {
      const now = new Date().toISOString();
      await ensureModel(trx, input.model, now, input.modelDescription);
      // The counter update takes the model row's write lock: concurrent registrations of
      // one model queue here and each gets the next number.
      const { last_version: version } = await trx.updateTable('models')
        .set((eb) => ({ last_version: eb('last_version', '+', 1), updated_at: now }))
        .where('name', '=', input.model)
        .returning('last_version')
        .executeTakeFirstOrThrow();
      await trx.insertInto('model_versions').values({
        model_name: input.model,
        version,
        digest: input.digest,
        size: input.size,
        format: input.format,
        signature: JSON.stringify(input.signature),
        metrics: JSON.stringify(input.metrics ?? {}),
        params: JSON.stringify(input.params ?? {}),
        tags: JSON.stringify(input.tags ?? {}),
        lineage: JSON.stringify(input.lineage ?? {}),
        description: input.description ?? '',
        created_by: input.createdBy,
        created_at: now,
        archived_at: null,
      }).execute();
      for (const alias of input.aliases ?? []) {
        await moveAlias(trx, input.model, alias, version, input.createdBy, now, 'set at registration');
      }
      return this.#readVersion(trx, input.model, version);
    }, input.model);
  }

  getVersion(model: string, version: number): Promise<ModelVersion | undefined> {
    return this.#guard(async () => {
      const row = await this.#db.selectFrom('model_versions').selectAll()
        .where('model_name', '=', model).where('version', '=', version).executeTakeFirst();
      return row ? toVersion(row, await aliasesOf(this.#db, model, version)) : undefined;
    });
  }

  latestVersion(model: string): Promise<ModelVersion | undefined> {
    return this.#guard(async () => {
      const row = await this.#db.selectFrom('model_versions').selectAll()
        .where('model_name', '=', model).where('archived_at', 'is', null)
        .orderBy('version', 'desc').limit(1).executeTakeFirst();
      return row ? toVersion(row, await aliasesOf(this.#db, model, row.version)) : undefined;
    });
  }

  listVersions(model: string, filter: VersionFilter = {}): Promise<ModelVersion[]> {
    return this.#guard(async () => {
      let q = this.#db.selectFrom('model_versions').selectAll().where('model_name', '=', model).orderBy('version');
      if (!filter.includeArchived) q = q.where('archived_at', 'is', null);
      if (filter.format) q = q.where('format', '=', filter.format);
      const rows = await q.execute();
      const aliases = await this.#db.selectFrom('aliases').select(['alias', 'version']).where('model_name', '=', model).execute();
      return rows
        .map((r) => toVersion(r, aliases.filter((a) => a.version === r.version).map((a) => a.alias)))
        .filter((v) => matchesTags(v.tags, filter.tags));
    });
  }

  setArchived(model: string, version: number, archived: boolean): Promise<ModelVersion> {
    return this.#write(async (trx) => {
      await this.#lockVersion(trx, model, version);
      if (archived) await refuseIfAliased(trx, model, version, 'archived');
      await trx.updateTable('model_versions')
        .set({ archived_at: archived ? new Date().toISOString() : null })
        .where('model_name', '=', model).where('version', '=', version).execute();
      return this.#readVersion(trx, model, version);
    }, model);
  }

  deleteVersion(model: string, version: number): Promise<ModelVersion> {
    return this.#write(async (trx) => {
      const existing = await this.#lockVersion(trx, model, version);
      await refuseIfAliased(trx, model, version, 'deleted');
      await trx.deleteFrom('model_versions').where('model_name', '=', model).where('version', '=', version).execute();
      return existing;
    }, model);
  }

  isDigestReferenced(digest: string): Promise<boolean> {
    return this.#guard(async () => {
      const row = await this.#db.selectFrom('model_versions').select('version').where('digest', '=', digest).limit(1).executeTakeFirst();
      return row !== undefined;
    });
  }

  setAlias(model: string, alias: string, version: number, actor: string, note?: string): Promise<AliasEvent> {
    return this.#write(async (trx) => {
      const target = await this.#lockVersion(trx, model, version);
      if (target.archivedAt) throw ferry('FERRY_E_VERSION_ARCHIVED', { model, version });
      return moveAlias(trx, model, alias, version, actor, new Date().toISOString(), note ?? null);
    }, model);
  }

  deleteAlias(model: string, alias: string, actor: string): Promise<AliasEvent> {
    return this.#write(async (trx) => {
      const current = await trx.selectFrom('aliases').selectAll().where('model_name', '=', model).where('alias', '=', alias).executeTakeFirst();
      if (!current) throw ferry('FERRY_E_ALIAS_NOT_FOUND', { model, alias });
      await trx.deleteFrom('aliases').where('model_name', '=', model).where('alias', '=', alias).execute();
      return recordEvent(trx, { model_name: model, alias, from_version: current.version, to_version: null, actor, at: new Date().toISOString(), note: 'deleted' });
    }, model);
  }

  getAlias(model: string, alias: string): Promise<Alias | undefined> {
    return this.#guard(async () => {
      const row = await this.#db.selectFrom('aliases').selectAll().where('model_name', '=', model).where('alias', '=', alias).executeTakeFirst();
      return row ? toAlias(row) : undefined;
    });
  }

  listAliases(model: string): Promise<Alias[]> {
    return this.#guard(async () => {
      const rows = await this.#db.selectFrom('aliases').selectAll().where('model_name', '=', model).orderBy('alias').execute();
      return rows.map(toAlias);
    });
  }

  aliasHistory(model: string, alias?: string, limit?: number): Promise<AliasEvent[]> {
    return this.#guard(async () => {
      let q = this.#db.selectFrom('alias_events').selectAll().where('model_name', '=', model).orderBy('id', 'desc');
      if (alias !== undefined) q = q.where('alias', '=', alias);
      if (limit !== undefined) q = q.limit(limit);
      return (await q.execute()).map(toEvent);
    });
  }

  setTraffic(model: string, traffic: TrafficSplitSpec | null, actor: string, note: string): Promise<AliasEvent> {
    return this.#write(async (trx) => {
      const exists = await trx.selectFrom('models').select('name').where('name', '=', model).executeTakeFirst();
      if (!exists) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model });
      const at = new Date().toISOString();
      if (traffic === null) {
        await trx.deleteFrom('model_traffic').where('model_name', '=', model).execute();
      } else {
        const row = {
          canary: traffic.canary === null ? null : JSON.stringify(traffic.canary),
          shadow: traffic.shadow === null ? null : JSON.stringify(traffic.shadow),
          updated_by: actor,
          updated_at: at,
        };
        await trx.insertInto('model_traffic').values({ model_name: model, ...row })
          .onConflict((oc) => oc.column('model_name').doUpdateSet(row)).execute();
      }
      return recordEvent(trx, { model_name: model, alias: TRAFFIC_HISTORY_ALIAS, from_version: null, to_version: null, actor, at, note });
    }, model);
  }

  getTraffic(model: string): Promise<TrafficSetting | undefined> {
    return this.#guard(async () => {
      const row = await this.#db.selectFrom('model_traffic').selectAll().where('model_name', '=', model).executeTakeFirst();
      return row ? toTraffic(row) : undefined;
    });
  }

  listTraffic(): Promise<TrafficSetting[]> {
    return this.#guard(async () => (await this.#db.selectFrom('model_traffic').selectAll().orderBy('model_name').execute()).map(toTraffic));
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }

  /**
   * Run `fn` in one transaction (IMMEDIATE on SQLite), with driver errors mapped to the catalog.
   * `changed` names the model whose versions or aliases the write changes, for watchers.
   */
  #write<T>(fn: (trx: Transaction<RegistryDatabase>) => Promise<T>, changed?: string): Promise<T> {
    const notify = this.#hooks.notifyChange;
    if (changed === undefined || !notify) return this.#guard(() => this.#db.transaction().execute(fn));
    return this.#guard(() => this.#db.transaction().execute(async (trx) => {
      const result = await fn(trx);
      await notify(trx, changed);
      return result;
    }));
  }



  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw this.#hooks.mapError(err) ?? asFerryError(err);
    }
  }

  async #lockVersion(trx: Db, model: string, version: number): Promise<ModelVersion> {
    let q = trx.selectFrom('model_versions').selectAll().where('model_name', '=', model).where('version', '=', version);
    if (this.#hooks.capabilities.rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw await notFound(trx, model, version);
    return toVersion(row, []);
  }

  async #readVersion(trx: Db, model: string, version: number): Promise<ModelVersion> {
    const row = await trx.selectFrom('model_versions').selectAll()
      .where('model_name', '=', model).where('version', '=', version).executeTakeFirstOrThrow();
    return toVersion(row, await aliasesOf(trx, model, version));
  }
}

async function ensureModel(trx: Db, name: string, now: string, description: string | undefined): Promise<void> {
  await trx.insertInto('models')
    .values({ name, description: description ?? '', tags: '{}', created_at: now, updated_at: now, last_version: 0 })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}

async function moveAlias(trx: Db, model: string, alias: string, version: number, actor: string, at: string, note: string | null): Promise<AliasEvent> {
  const current = await trx.selectFrom('aliases').select('version').where('model_name', '=', model).where('alias', '=', alias).executeTakeFirst();
  await trx.insertInto('aliases')
    .values({ model_name: model, alias, version, updated_by: actor, updated_at: at })
    .onConflict((oc) => oc.columns(['model_name', 'alias']).doUpdateSet({ version, updated_by: actor, updated_at: at }))
    .execute();
  return recordEvent(trx, { model_name: model, alias, from_version: current?.version ?? null, to_version: version, actor, at, note });
}

async function recordEvent(trx: Db, event: Omit<Selectable<AliasEventsTable>, 'id'>): Promise<AliasEvent> {
  const row = await trx.insertInto('alias_events').values(event).returningAll().executeTakeFirstOrThrow();
  return toEvent(row);
}

async function refuseIfAliased(trx: Db, model: string, version: number, action: string): Promise<void> {
  const aliases = await aliasesOf(trx, model, version);
  if (aliases.length > 0) throw ferry('FERRY_E_ALIAS_IN_USE', { model, version, action, aliases: quoteList(aliases) });
}

async function aliasesOf(db: Db, model: string, version: number): Promise<string[]> {
  const rows = await db.selectFrom('aliases').select('alias').where('model_name', '=', model).where('version', '=', version).orderBy('alias').execute();
  return rows.map((r) => r.alias);
}

async function notFound(db: Db, model: string, version: number): Promise<FerryError> {
  const exists = await db.selectFrom('models').select('name').where('name', '=', model).executeTakeFirst();
  return exists ? ferry('FERRY_E_VERSION_NOT_FOUND', { model, version }) : ferry('FERRY_E_MODEL_NOT_FOUND', { model });
}

function matchesTags(tags: Tags, wanted: Tags | undefined): boolean {
  return !wanted || Object.entries(wanted).every(([k, v]) => tags[k] === v);
}

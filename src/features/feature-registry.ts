import type { Kysely } from '../vendor/kysely.js';
import { ferry } from '../core/errors.js';
import { guarded, type RegistryDb } from '../registry/registry-db.js';
import { declarationsDocument, validateDeclarations, type FeatureDeclarations } from './declarations.js';

type DeclarationsTable = { version: number; document: string; source: string; applied_by: string; applied_at: string };
type BindingsTable = { model_name: string; version: number; service: string; bound_by: string; bound_at: string };
type Tables = { feature_declarations: DeclarationsTable; feature_bindings: BindingsTable };

/** One applied version of the declarations. */
export interface AppliedDeclarations {
  readonly version: number;
  readonly declarations: FeatureDeclarations;
  /** The file it was applied from. */
  readonly source: string;
  readonly appliedBy: string;
  readonly appliedAt: string;
}

/** Which feature service feeds a model version. */
export interface FeatureBinding {
  readonly model: string;
  readonly version: number;
  readonly service: string;
}

/**
 * The feature layer's records in the registry database: every `ferry features apply` is a new
 * version of the declarations (the latest is in force; earlier ones stay for history), and the
 * binding of model versions to feature services.
 */
export class FeatureRegistry {
  readonly #sql: RegistryDb;
  readonly #db: Kysely<Tables>;

  constructor(sql: RegistryDb) {
    this.#sql = sql;
    this.#db = sql.kysely.withTables<Tables>() as unknown as Kysely<Tables>;
  }

  /** Store declarations as the next version; unchanged declarations keep the current version. */
  async apply(declarations: FeatureDeclarations, source: string, actor: string): Promise<{ version: number; changed: boolean }> {
    const document = JSON.stringify(declarationsDocument(declarations));
    return guarded(this.#sql, () => this.#db.transaction().execute(async (trx) => {
      const last = await trx.selectFrom('feature_declarations').select(['version', 'document']).orderBy('version', 'desc').limit(1).executeTakeFirst();
      if (last && last.document === document) return { version: Number(last.version), changed: false };
      const version = (last ? Number(last.version) : 0) + 1;
      await trx.insertInto('feature_declarations').values({ version, document, source, applied_by: actor, applied_at: new Date().toISOString() }).execute();
      return { version, changed: true };
    }));
  }

  /** The declarations in force (the latest applied), or undefined before the first apply. */
  async current(version?: number): Promise<AppliedDeclarations | undefined> {
    let q = this.#db.selectFrom('feature_declarations').selectAll();
    q = version === undefined ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', version);
    const row = await guarded(this.#sql, () => q.executeTakeFirst());
    if (!row) return undefined;
    return {
      version: Number(row.version),
      declarations: validateDeclarations(JSON.parse(row.document) as Record<string, unknown>, '/'),
      source: row.source,
      appliedBy: row.applied_by,
      appliedAt: row.applied_at,
    };
  }

  /** The declarations in force, or FERRY_E_FEATURES_NOT_APPLIED. */
  async require(): Promise<AppliedDeclarations> {
    const applied = await this.current();
    if (!applied) throw ferry('FERRY_E_FEATURES_NOT_APPLIED');
    return applied;
  }

  /** Every applied version, newest first (without documents). */
  async history(): Promise<Omit<AppliedDeclarations, 'declarations'>[]> {
    const rows = await guarded(this.#sql, () => this.#db.selectFrom('feature_declarations').select(['version', 'source', 'applied_by', 'applied_at']).orderBy('version', 'desc').execute());
    return rows.map((r) => ({ version: Number(r.version), source: r.source, appliedBy: r.applied_by, appliedAt: r.applied_at }));
  }

  /** Fail unless `service` is declared in the declarations in force. */
  async requireService(service: string): Promise<void> {
    const applied = await this.require();
    if (!applied.declarations.services.some((s) => s.name === service)) {
      throw ferry('FERRY_E_FEATURE_SERVICE_NOT_FOUND', { service, services: applied.declarations.services.map((s) => `"${s.name}"`).join(', ') || '(none)' });
    }
  }

  /** Record that `service` feeds this version (replacing an earlier binding); the service must be declared. */
  async bind(model: string, version: number, service: string, actor: string): Promise<void> {
    await this.requireService(service);
    const row = { model_name: model, version, service, bound_by: actor, bound_at: new Date().toISOString() };
    await guarded(this.#sql, () => this.#db.insertInto('feature_bindings').values(row)
      .onConflict((oc) => oc.columns(['model_name', 'version']).doUpdateSet({ service, bound_by: actor, bound_at: row.bound_at }))
      .execute());
  }

  /** Remove a version's binding (its inputs come from the request again). */
  async unbind(model: string, version: number): Promise<void> {
    await guarded(this.#sql, () => this.#db.deleteFrom('feature_bindings').where('model_name', '=', model).where('version', '=', version).execute());
  }

  /** The service feeding a version, if any. */
  async binding(model: string, version: number): Promise<string | undefined> {
    const row = await guarded(this.#sql, () => this.#db.selectFrom('feature_bindings').select('service').where('model_name', '=', model).where('version', '=', version).executeTakeFirst());
    return row?.service;
  }

  async bindings(): Promise<FeatureBinding[]> {
    const rows = await guarded(this.#sql, () => this.#db.selectFrom('feature_bindings').select(['model_name', 'version', 'service']).orderBy('model_name').orderBy('version').execute());
    return rows.map((r) => ({ model: r.model_name, version: Number(r.version), service: r.service }));
  }
}

import type { Generated, Kysely } from '../vendor/kysely.js';
import { guarded, type RegistryDb } from '../registry/registry-db.js';

/** One request mirrored to a shadow version: both answers, for comparison. */
export interface ShadowResult {
  readonly model: string;
  readonly primaryVersion: number;
  readonly shadowVersion: number;
  readonly requestId: string;
  /** Outputs by name, as JSON values. */
  readonly primaryOutput: unknown;
  readonly shadowOutput: unknown;
  readonly error: string | null;
  /** Largest absolute difference over numeric outputs; null when not comparable. */
  readonly maxAbsDiff: number | null;
  readonly at: string;
}

// A type alias, not an interface: Kysely's withTables needs an implicit index signature.
type ShadowResultsTable = {
  id: Generated<number>;
  model_name: string;
  primary_version: number;
  shadow_version: number;
  request_id: string;
  primary_output: string;
  shadow_output: string | null;
  error: string | null;
  max_abs_diff: number | null;
  at: string;
};

type Tables = { shadow_results: ShadowResultsTable };

/** Shadow results in the registry database (table `shadow_results`, migration 0002 in monitoring/migrations.ts). */
export class ShadowResultStore {
  readonly #db: RegistryDb;
  readonly #kysely: Kysely<Tables>;

  constructor(db: RegistryDb) {
    this.#db = db;
    this.#kysely = db.kysely.withTables<Tables>() as unknown as Kysely<Tables>;
  }

  /** Record requests mirrored to a shadow version (the server batches these). */
  record(results: readonly ShadowResult[]): Promise<void> {
    if (results.length === 0) return Promise.resolve();
    return guarded(this.#db, async () => {
      await this.#kysely.insertInto('shadow_results').values(results.map((r) => ({
        model_name: r.model,
        primary_version: r.primaryVersion,
        shadow_version: r.shadowVersion,
        request_id: r.requestId,
        primary_output: JSON.stringify(r.primaryOutput),
        shadow_output: r.shadowOutput === undefined ? null : JSON.stringify(r.shadowOutput),
        error: r.error,
        max_abs_diff: r.maxAbsDiff,
        at: r.at,
      }))).execute();
    });
  }

  /** Shadow results of a model, newest first. */
  list(model: string, limit = 1000): Promise<ShadowResult[]> {
    return guarded(this.#db, async () => {
      const rows = await this.#kysely.selectFrom('shadow_results').selectAll().where('model_name', '=', model).orderBy('id', 'desc').limit(limit).execute();
      return rows.map((r) => ({
        model: r.model_name,
        primaryVersion: Number(r.primary_version),
        shadowVersion: Number(r.shadow_version),
        requestId: r.request_id,
        primaryOutput: JSON.parse(r.primary_output) as unknown,
        shadowOutput: r.shadow_output === null ? null : JSON.parse(r.shadow_output) as unknown,
        error: r.error,
        maxAbsDiff: r.max_abs_diff === null ? null : Number(r.max_abs_diff),
        at: r.at,
      }));
    });
  }
}

import type { Kysely, Selectable } from '../vendor/kysely.js';
import { ferry } from '../core/errors.js';
import { guarded, type RegistryDb } from '../registry/registry-db.js';

/** Scopes an API key can hold: `admin` implies the others; `feedback` posts ground truth (labels feed live metrics, alerts and retraining). */
export type ApiScope = 'predict' | 'feedback' | 'admin';

/** A stored API key: only the sha256 of the secret is kept. */
export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly hash: string;
  readonly scopes: readonly ApiScope[];
  readonly createdBy: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

// A type alias, not an interface: Kysely's withTables needs an implicit index signature.
type ApiKeysTable = {
  id: string;
  name: string;
  hash: string;
  /** Comma-separated scopes. */
  scopes: string;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
};

/** API keys in the registry database (table `api_keys`, migration 0003 in serving/migrations.ts). */
export class ApiKeyStore {
  readonly #db: RegistryDb;
  readonly #kysely: Kysely<{ api_keys: ApiKeysTable }>;

  constructor(db: RegistryDb) {
    this.#db = db;
    this.#kysely = db.kysely.withTables<{ api_keys: ApiKeysTable }>() as unknown as Kysely<{ api_keys: ApiKeysTable }>;
  }

  create(key: Omit<ApiKey, 'revokedAt'>): Promise<void> {
    return guarded(this.#db, async () => {
      await this.#kysely.insertInto('api_keys').values({
        id: key.id, name: key.name, hash: key.hash, scopes: key.scopes.join(','), created_by: key.createdBy, created_at: key.createdAt, revoked_at: null,
      }).execute();
    });
  }

  /** Every key, revoked ones included (revokedAt set). */
  list(): Promise<ApiKey[]> {
    return guarded(this.#db, async () => (await this.#kysely.selectFrom('api_keys').selectAll().orderBy('created_at').execute()).map(toApiKey));
  }

  /** Revoke a key by id; FERRY_E_API_KEY_NOT_FOUND when there is no such key. */
  revoke(id: string): Promise<ApiKey> {
    return guarded(this.#db, () => this.#kysely.transaction().execute(async (trx) => {
      await trx.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).execute();
      const row = await trx.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw ferry('FERRY_E_API_KEY_NOT_FOUND', { id });
      return toApiKey(row);
    }));
  }
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id, name: row.name, hash: row.hash, scopes: row.scopes.split(',').filter(Boolean) as ApiScope[],
    createdBy: row.created_by, createdAt: row.created_at, revokedAt: row.revoked_at,
  };
}

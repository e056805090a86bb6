import type { Kysely } from '../vendor/kysely.js';
import type { AreaMigrations } from '../registry/registry-db.js';

/** Serving's tables: API keys. */
export const servingMigrations: AreaMigrations = () => ({
  '0003_api_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
    },
  },
});

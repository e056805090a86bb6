import type { Kysely } from '../vendor/kysely.js';
import type { AreaMigrations } from '../registry/registry-db.js';

/**
 * The feature layer's tables: applied declarations (one row per version), which feature service
 * feeds which model version, and the embedded online store (latest values per view and entity,
 * and each view's materialisation progress).
 */
export const featureMigrations: AreaMigrations = () => ({
  '0007_features': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('feature_declarations')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('applied_by', 'text', (c) => c.notNull())
        .addColumn('applied_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('feature_bindings')
        .addColumn('model_name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('bound_by', 'text', (c) => c.notNull())
        .addColumn('bound_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('feature_bindings_pk', ['model_name', 'version'])
        .execute();
      await db.schema.createTable('feature_values')
        .addColumn('view', 'text', (c) => c.notNull())
        .addColumn('entity_key', 'text', (c) => c.notNull())
        .addColumn('event_time', 'bigint', (c) => c.notNull())
        .addColumn('vals', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('feature_values_pk', ['view', 'entity_key'])
        .execute();
      await db.schema.createTable('feature_progress')
        .addColumn('view', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull())
        .execute();
    },
  },
});

import type { Kysely } from '../vendor/kysely.js';
import type { AreaMigrations } from './registry-db.js';

/**
 * The registry's own tables: models, versions, aliases and their history, traffic settings. Other areas bring
 * their migrations (`AreaMigrations`) to the composition root, which applies them all in name
 * order on every open, under a lock that holds across processes (an IMMEDIATE transaction on
 * SQLite, an advisory lock on PostgreSQL).
 */
export const registryMigrations: AreaMigrations = (capabilities) => ({
  '0001_registry': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('models')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('last_version', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createTable('model_versions')
        .addColumn('model_name', 'text', (c) => c.notNull().references('models.name'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('metrics', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('lineage', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('archived_at', 'text')
        .addPrimaryKeyConstraint('model_versions_pk', ['model_name', 'version'])
        .execute();
      await db.schema.createIndex('model_versions_digest').on('model_versions').column('digest').execute();
      await db.schema.createTable('aliases')
        .addColumn('model_name', 'text', (c) => c.notNull())
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('aliases_pk', ['model_name', 'alias'])
        .addForeignKeyConstraint('aliases_version_fk', ['model_name', 'version'], 'model_versions', ['model_name', 'version'])
        .execute();
      await db.schema.createTable('alias_events')
        .addColumn('id', capabilities.autoIncrement, (c) => c.primaryKey())
        .addColumn('model_name', 'text', (c) => c.notNull())
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('from_version', 'integer')
        .addColumn('to_version', 'integer')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .execute();
      await db.schema.createIndex('alias_events_model').on('alias_events').columns(['model_name', 'alias']).execute();
    },
  },
  // A model's canary split and shadow mirror set through the registry, so every replica reads the same.
  '0008_model_traffic': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('model_traffic')
        .addColumn('model_name', 'text', (c) => c.primaryKey().references('models.name'))
        .addColumn('canary', 'text')
        .addColumn('shadow', 'text')
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
});

import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Versioned schema migrations, applied on start by Kysely's Migrator (under a lock that
 * holds across processes: an IMMEDIATE transaction on SQLite, an advisory lock on PostgreSQL).
 * Never edit a migration that has shipped; add the next one.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'sqlite' ? 'integer' : 'bigserial';
  return {
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
          .addColumn('id', sql.raw(serial), (c) => c.primaryKey())
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
    '0002_shadow_results': {
      async up(db: Kysely<unknown>) {
        await db.schema.createTable('shadow_results')
          .addColumn('id', sql.raw(serial), (c) => c.primaryKey())
          .addColumn('model_name', 'text', (c) => c.notNull())
          .addColumn('primary_version', 'integer', (c) => c.notNull())
          .addColumn('shadow_version', 'integer', (c) => c.notNull())
          .addColumn('request_id', 'text', (c) => c.notNull())
          .addColumn('primary_output', 'text', (c) => c.notNull())
          .addColumn('shadow_output', 'text')
          .addColumn('error', 'text')
          .addColumn('max_abs_diff', 'double precision')
          .addColumn('at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('shadow_results_model').on('shadow_results').columns(['model_name', 'id']).execute();
      },
    },
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
    '0004_batch': {
      async up(db: Kysely<unknown>) {
        // Batch jobs, runs (with their checkpoints) and leases (no overlap across processes and machines).
        await db.schema.createTable('batch_jobs')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('spec', 'text', (c) => c.notNull())
          .addColumn('high_water', 'text')
          .addColumn('cron', 'text')
          .addColumn('origin', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createTable('batch_runs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('job', 'text')
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('model_version', 'integer', (c) => c.notNull())
          .addColumn('spec', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('owner', 'text')
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .addColumn('rows_total', 'bigint')
          .addColumn('rows_in', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('rows_scored', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('rows_rejected', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('rows_skipped', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('chunks', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('active_ms', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('checkpoint', 'text')
          .addColumn('error', 'text')
          .execute();
        await db.schema.createIndex('batch_runs_job').on('batch_runs').columns(['job', 'started_at']).execute();
        await db.schema.createTable('batch_leases')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
      },
    },

    '0005_prediction_log': {
      async up(db: Kysely<unknown>) {
        // One row per prediction (row of a request). Inputs and outputs are compact JSON
        // objects; times are epoch milliseconds, so windows compare integers.
        await db.schema.createTable('prediction_log')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('model_name', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('inputs', 'text', (c) => c.notNull())
          .addColumn('outputs', 'text', (c) => c.notNull())
          .addColumn('latency_ms', 'double precision', (c) => c.notNull())
          .addColumn('confidence', 'double precision')
          .addColumn('low_confidence', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('actual', 'text')
          .addColumn('actual_at', 'bigint')
          .execute();
        await db.schema.createIndex('prediction_log_model_at').on('prediction_log').columns(['model_name', 'at', 'id']).execute();
      },
    },

    '0006_evaluation': {
      async up(db: Kysely<unknown>) {
        // One reference profile per version (src/monitoring/profile.ts): JSON statistics.
        await db.schema.createTable('reference_profiles')
          .addColumn('model_name', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('rows', 'integer', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('reference_profiles_pk', ['model_name', 'version'])
          .execute();
        // Alert rules and what they did (src/monitoring/alerts*.ts).
        await db.schema.createTable('alert_rules')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('model_name', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('spec', 'text', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createTable('alert_events')
          .addColumn('id', sql.raw(serial), (c) => c.primaryKey())
          .addColumn('rule_name', 'text', (c) => c.notNull())
          .addColumn('model_name', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('value', 'double precision')
          .addColumn('message', 'text', (c) => c.notNull())
          .addColumn('delivery', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('alert_events_rule').on('alert_events').columns(['rule_name', 'id']).execute();
      },
    },


  };
}

/** A MigrationProvider over the in-code table above. */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}

import type { Kysely } from '../vendor/kysely.js';
import type { AreaMigrations } from '../registry/registry-db.js';

/** Monitoring's tables: shadow results, the prediction log, reference profiles and alerts. */
export const monitoringMigrations: AreaMigrations = (capabilities) => ({
  '0002_shadow_results': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('shadow_results')
        .addColumn('id', capabilities.autoIncrement, (c) => c.primaryKey())
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
        .addColumn('id', capabilities.autoIncrement, (c) => c.primaryKey())
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
  '0009_attributions': {
    async up(db: Kysely<unknown>) {
      // Each logged row's explanation (JSON {"space", "contributions"}), when the run was explained.
      await db.schema.alterTable('prediction_log').addColumn('attributions', 'text').execute();
    },
  },
  '0010_prediction_blocks': {
    async up(db: Kysely<unknown>) {
      // SQLite only (the writer thread that fills them runs there; PostgreSQL keeps one row per
      // prediction): a server's numeric-tensor rows, one row per flushed batch (log-block.ts).
      if (!capabilities.file) return;
      await db.schema.createTable('prediction_block')
        .addColumn('seq', 'integer', (c) => c.primaryKey())
        .addColumn('model_name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('first_at', 'integer', (c) => c.notNull())
        .addColumn('last_at', 'integer', (c) => c.notNull())
        .addColumn('id_min', 'text', (c) => c.notNull())
        .addColumn('id_max', 'text', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addColumn('low', 'integer', (c) => c.notNull())
        .addColumn('dead_rows', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('dead_low', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('layout', 'text', (c) => c.notNull())
        .addColumn('sources', 'text', (c) => c.notNull())
        .addColumn('dead', 'blob')
        // Last: a read of the other columns leaves its overflow pages alone.
        .addColumn('data', 'blob', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('prediction_block_first').on('prediction_block').columns(['model_name', 'first_at', 'seq']).execute();
      await db.schema.createIndex('prediction_block_last').on('prediction_block').columns(['model_name', 'last_at', 'seq']).execute();
      await db.schema.createIndex('prediction_block_id').on('prediction_block').columns(['id_min']).execute();
      await db.schema.createTable('prediction_layout')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('layout', 'text', (c) => c.notNull())
        .execute();
    },
  },
});

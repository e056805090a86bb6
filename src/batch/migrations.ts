import type { Kysely } from '../vendor/kysely.js';
import type { AreaMigrations } from '../registry/registry-db.js';

/** Batch's tables: jobs, runs (with their checkpoints) and leases. */
export const batchMigrations: AreaMigrations = () => ({
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
});

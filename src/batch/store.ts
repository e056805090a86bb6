import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from '../vendor/kysely.js';
import { ferry, FerryError } from '../core/errors.js';
import { guarded, type RegistryDb } from '../registry/registry-db.js';
import type { BatchJob, BatchRun, Checkpoint, JobSpec, RunCounts, RunSpec, RunStatus } from './types.js';

type JobsTable = { name: string; spec: string; high_water: string | null; cron: string | null; origin: string; created_at: string; updated_at: string };
type RunsTable = {
  id: string; job: string | null; model: string; model_version: number; spec: string; status: string; owner: string | null;
  started_at: string; updated_at: string; finished_at: string | null; rows_total: number | string | null;
  rows_in: number | string; rows_scored: number | string; rows_rejected: number | string; rows_skipped: number | string;
  chunks: number; active_ms: number | string; checkpoint: string | null; error: string | null;
};
type LeasesTable = { name: string; owner: string; expires_at: string };
type BatchTables = { batch_jobs: JobsTable; batch_runs: RunsTable; batch_leases: LeasesTable };


/** When this process started (ms since the epoch): tells a reused pid from this process. */
const PROCESS_START = Math.round(performance.timeOrigin);

/** Who holds a lease: host, process id, process start time and a random tag. */
export function newOwner(): string {
  return `${hostname()}/${process.pid}/${PROCESS_START}-${randomBytes(3).toString('hex')}`;
}

/**
 * Batch state in the registry database (SQLite or PostgreSQL): jobs, runs with their
 * checkpoints, and leases. Every method is one transaction; on SQLite transactions begin
 * IMMEDIATE (writers queue on the file lock), on PostgreSQL lease rows are locked FOR UPDATE —
 * either way a lease holds across processes, and on PostgreSQL across machines.
 */
export class BatchStore {
  readonly #db: Kysely<BatchTables>;
  readonly #sql: RegistryDb;

  constructor(sql: RegistryDb) {
    this.#sql = sql;
    this.#db = sql.kysely.withTables<BatchTables>() as unknown as Kysely<BatchTables>;
  }

  // --- jobs ---

  async createJob(name: string, spec: JobSpec, origin: 'cli' | 'config', replace = false): Promise<BatchJob> {
    return this.#tx(async (trx) => {
      const now = new Date().toISOString();
      const existing = await trx.selectFrom('batch_jobs').selectAll().where('name', '=', name).executeTakeFirst();
      if (existing && !replace) throw ferry('FERRY_E_BATCH_JOB_EXISTS', { job: name });
      if (existing) {
        await trx.updateTable('batch_jobs').set({ spec: JSON.stringify(spec), origin, updated_at: now, ...(spec.cron !== undefined ? { cron: spec.cron } : {}) }).where('name', '=', name).execute();
      } else {
        await trx.insertInto('batch_jobs').values({ name, spec: JSON.stringify(spec), high_water: null, cron: spec.cron ?? null, origin, created_at: now, updated_at: now }).execute();
      }
      return toJob(await trx.selectFrom('batch_jobs').selectAll().where('name', '=', name).executeTakeFirstOrThrow());
    });
  }

  async getJob(name: string): Promise<BatchJob | undefined> {
    const row = await this.#guard(() => this.#db.selectFrom('batch_jobs').selectAll().where('name', '=', name).executeTakeFirst());
    return row ? toJob(row) : undefined;
  }

  async requireJob(name: string): Promise<BatchJob> {
    const job = await this.getJob(name);
    if (!job) throw ferry('FERRY_E_BATCH_JOB_NOT_FOUND', { job: name });
    return job;
  }

  async listJobs(): Promise<BatchJob[]> {
    const rows = await this.#guard(() => this.#db.selectFrom('batch_jobs').selectAll().orderBy('name').execute());
    return rows.map(toJob);
  }

  async deleteJob(name: string): Promise<void> {
    const res = await this.#guard(() => this.#db.deleteFrom('batch_jobs').where('name', '=', name).executeTakeFirst());
    if (Number(res.numDeletedRows) === 0) throw ferry('FERRY_E_BATCH_JOB_NOT_FOUND', { job: name });
  }

  async setSchedule(name: string, cron: string | null): Promise<BatchJob> {
    return this.#tx(async (trx) => {
      const res = await trx.updateTable('batch_jobs').set({ cron, updated_at: new Date().toISOString() }).where('name', '=', name).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw ferry('FERRY_E_BATCH_JOB_NOT_FOUND', { job: name });
      return toJob(await trx.selectFrom('batch_jobs').selectAll().where('name', '=', name).executeTakeFirstOrThrow());
    });
  }

  // --- runs ---

  /** Create a run, or return the one that already has this id (the caller compares specs). */
  async createRun(id: string, spec: RunSpec, total: number | undefined): Promise<{ run: BatchRun; created: boolean }> {
    return this.#tx(async (trx) => {
      const existing = await trx.selectFrom('batch_runs').selectAll().where('id', '=', id).executeTakeFirst();
      if (existing) return { run: toRun(existing), created: false };
      const now = new Date().toISOString();
      await trx.insertInto('batch_runs').values({
        id, job: spec.job ?? null, model: spec.model, model_version: spec.version, spec: JSON.stringify(spec), status: 'running', owner: null,
        started_at: now, updated_at: now, finished_at: null, rows_total: total ?? null, rows_in: 0, rows_scored: 0, rows_rejected: 0, rows_skipped: 0,
        chunks: 0, active_ms: 0, checkpoint: null, error: null,
      }).execute();
      return { run: toRun(await trx.selectFrom('batch_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow()), created: true };
    });
  }

  async getRun(id: string): Promise<BatchRun | undefined> {
    const row = await this.#guard(() => this.#db.selectFrom('batch_runs').selectAll().where('id', '=', id).executeTakeFirst());
    return row ? toRun(row) : undefined;
  }

  async requireRun(id: string): Promise<BatchRun> {
    const run = await this.getRun(id);
    if (!run) throw ferry('FERRY_E_BATCH_RUN_NOT_FOUND', { run: id });
    return run;
  }

  /** Runs newest first, of one job or all. */
  async listRuns(filter: { job?: string; limit?: number } = {}): Promise<BatchRun[]> {
    let q = this.#db.selectFrom('batch_runs').selectAll();
    if (filter.job !== undefined) q = q.where('job', '=', filter.job);
    const rows = await this.#guard(() => q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 50).execute());
    return rows.map(toRun);
  }

  /** Which of these runs marked `running` have no live process holding them (crashed, killed): resume them. */
  async interrupted(runs: readonly BatchRun[]): Promise<Set<string>> {
    const running = runs.filter((r) => r.status === 'running');
    if (running.length === 0) return new Set();
    const leases = await this.#guard(() => this.#db.selectFrom('batch_leases').selectAll().where('name', 'in', running.map((r) => `run:${r.id}`)).execute());
    const now = new Date().toISOString();
    const alive = new Set(leases.filter((l) => l.owner !== '' && l.expires_at >= now && !deadLocalOwner(l.owner)).map((l) => l.name.slice(4)));
    return new Set(running.filter((r) => !alive.has(r.id)).map((r) => r.id));
  }

  /** Mark a (resumed) run running under `owner`. */
  async startRun(id: string, owner: string): Promise<void> {
    await this.#guard(() => this.#db.updateTable('batch_runs').set({ status: 'running', owner, error: null, finished_at: null, updated_at: new Date().toISOString() }).where('id', '=', id).execute());
  }

  /**
   * Record a committed chunk: its checkpoint and the counts so far. Fenced by the owner, so a
   * process that lost its lease cannot move the checkpoint under the one that took it.
   */
  async checkpoint(id: string, owner: string, checkpoint: Checkpoint, counts: RunCounts, activeMs: number): Promise<void> {
    const res = await this.#guard(() => this.#db.updateTable('batch_runs').set({
      checkpoint: JSON.stringify(checkpoint), chunks: checkpoint.seq, rows_in: counts.rowsIn, rows_scored: counts.scored, rows_rejected: counts.rejected,
      rows_skipped: counts.skipped, active_ms: Math.round(activeMs), updated_at: new Date().toISOString(),
    }).where('id', '=', id).where('owner', '=', owner).executeTakeFirst());
    if (Number(res.numUpdatedRows) === 0) {
      const run = await this.getRun(id);
      throw ferry('FERRY_E_BATCH_LEASE_LOST', { run: id, owner: run?.owner ?? 'nobody' });
    }
  }

  async finishRun(id: string, owner: string, status: RunStatus, error?: FerryError): Promise<void> {
    await this.#guard(() => this.#db.updateTable('batch_runs').set({
      status, error: error ? JSON.stringify(error.toJSON()) : null, finished_at: new Date().toISOString(), updated_at: new Date().toISOString(),
    }).where('id', '=', id).where('owner', '=', owner).execute());
  }

  async setHighWater(job: string, value: string): Promise<void> {
    await this.#guard(() => this.#db.updateTable('batch_jobs').set({ high_water: value, updated_at: new Date().toISOString() }).where('name', '=', job).execute());
  }

  // --- leases ---

  /**
   * Take the lease `name` for `ttlMs`, or renew it when `owner` holds it. A lease held by a
   * process that is gone from this host is taken over at once; any other live lease refuses.
   */
  async acquire(name: string, owner: string, ttlMs: number): Promise<{ ok: true } | { ok: false; owner: string; until: string }> {
    return this.#tx(async (trx) => {
      await trx.insertInto('batch_leases').values({ name, owner: '', expires_at: new Date(0).toISOString() }).onConflict((oc) => oc.column('name').doNothing()).execute();
      let q = trx.selectFrom('batch_leases').selectAll().where('name', '=', name);
      if (this.#sql.capabilities.rowLocks) q = q.forUpdate();
      const row = await q.executeTakeFirstOrThrow();
      const now = new Date();
      const free = row.owner === '' || row.owner === owner || row.expires_at < now.toISOString() || deadLocalOwner(row.owner);
      if (!free) return { ok: false, owner: row.owner, until: row.expires_at };
      await trx.updateTable('batch_leases').set({ owner, expires_at: new Date(now.getTime() + ttlMs).toISOString() }).where('name', '=', name).execute();
      return { ok: true };
    });
  }

  /** Extend a held lease; false when another owner has it now. */
  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const res = await this.#guard(() => this.#db.updateTable('batch_leases').set({ expires_at: new Date(Date.now() + ttlMs).toISOString() })
      .where('name', '=', name).where('owner', '=', owner).executeTakeFirst());
    return Number(res.numUpdatedRows) > 0;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.#guard(() => this.#db.updateTable('batch_leases').set({ owner: '', expires_at: new Date(0).toISOString() }).where('name', '=', name).where('owner', '=', owner).execute());
  }

  async #tx<T>(fn: (trx: Transaction<BatchTables>) => Promise<T>): Promise<T> {
    return this.#guard(() => this.#db.transaction().execute(fn));
  }

  #guard<T>(fn: () => Promise<T>): Promise<T> {
    return guarded(this.#sql, fn);
  }
}

/** An owner on this host whose process no longer exists (killed, crashed). */
function deadLocalOwner(owner: string): boolean {
  const [host, pidText] = owner.split('/');
  if (host !== hostname() || pidText === undefined) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  // Our own pid, started at another time: an earlier process that had this pid (a restarted container's pid 1).
  if (pid === process.pid) return !owner.split('/')[2]?.startsWith(`${PROCESS_START}-`);
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function toJob(row: JobsTable): BatchJob {
  return { name: row.name, spec: JSON.parse(row.spec) as JobSpec, highWater: row.high_water, cron: row.cron, origin: row.origin, createdAt: row.created_at, updatedAt: row.updated_at };
}

function toRun(row: RunsTable): BatchRun {
  return {
    id: row.id, job: row.job, model: row.model, version: row.model_version, spec: JSON.parse(row.spec) as RunSpec, status: row.status as RunStatus,
    owner: row.owner, startedAt: row.started_at, updatedAt: row.updated_at, finishedAt: row.finished_at,
    total: row.rows_total === null ? null : Number(row.rows_total),
    counts: { rowsIn: Number(row.rows_in), scored: Number(row.rows_scored), rejected: Number(row.rows_rejected), skipped: Number(row.rows_skipped) },
    chunks: row.chunks, activeMs: Number(row.active_ms),
    checkpoint: row.checkpoint ? JSON.parse(row.checkpoint) as Checkpoint : null,
    error: row.error ? JSON.parse(row.error) as BatchRun['error'] : null,
  };
}

import type { RegistryDb } from '../registry/registry-db.js';
import { runView } from './progress.js';
import { BatchStore } from './store.js';

/** A location without its password (`postgres://u:secret@h/db` → `postgres://u:***@h/db`). */
const redact = (location: unknown) => (typeof location === 'string' ? location.replace(/(\/\/[^/:@]*):[^/@]*@/, '$1:***@') : location);

/** Runs listed at most. */
const MAX_RUNS = 200;

/**
 * Batch runs and jobs as the dashboard shows them (`GET /ferry/v1/batch`): the newest runs with
 * progress (a `running` run whose process is gone shows as interrupted, as in `ferry batch runs`),
 * and every job with its schedule, high-water mark and last run.
 */
export async function batchOverview(db: RegistryDb, limit = 50): Promise<{ runs: Record<string, unknown>[]; jobs: Record<string, unknown>[] }> {
  const store = new BatchStore(db);
  const runs = await store.listRuns({ limit: Math.min(MAX_RUNS, Math.max(1, limit)) });
  const interrupted = await store.interrupted(runs);
  const jobs = await store.listJobs();
  const lastRun = new Map<string, (typeof runs)[number]>();
  for (const r of runs) if (r.job !== null && !lastRun.has(r.job)) lastRun.set(r.job, r);
  return {
    runs: runs.map((r) => {
      const v = runView(r);
      return { ...v, input: redact(v.input), output: redact(v.output), status: interrupted.has(r.id) ? 'interrupted' : r.status };
    }),
    jobs: jobs.map((j) => {
      const last = lastRun.get(j.name);
      return {
        name: j.name, model: j.spec.model, cron: j.cron, highWater: j.highWater, input: redact(j.spec.input), output: redact(j.spec.output), origin: j.origin,
        lastRun: last ? { id: last.id, status: interrupted.has(last.id) ? 'interrupted' : last.status, finishedAt: last.finishedAt } : null,
      };
    }),
  };
}

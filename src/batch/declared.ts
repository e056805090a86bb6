import { loadBatchConfig, type DeclaredJob } from './config.js';
import type { BatchStore } from './store.js';

/** Save the jobs a config file declares (replacing earlier definitions; high-water marks are kept). */
export async function syncDeclaredJobs(store: BatchStore, path: string): Promise<DeclaredJob[]> {
  const jobs = loadBatchConfig(path);
  for (const job of jobs) await store.createJob(job.name, job.spec, 'config', true);
  return jobs;
}

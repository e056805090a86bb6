import type { RegistryDb } from '../registry/registry-db.js';
import type { RunnerOptions } from './runner.js';
import type { DeclaredJob } from './config.js';
import { BatchScheduler, type SchedulerLog } from './scheduler.js';
import { BatchStore } from './store.js';

/** Run scheduled batch jobs inside `ferry serve` (jobs from the registry and the config's batch.jobs). */
export async function startServeScheduler(app: Pick<RunnerOptions, 'registry' | 'pipeline'> & { readonly database: RegistryDb }, declared: readonly DeclaredJob[], log: SchedulerLog): Promise<{ stop(): Promise<void> }> {
  const scheduler = new BatchScheduler({ registry: app.registry, pipeline: app.pipeline, store: new BatchStore(app.database), log, declared });
  await scheduler.start();
  return scheduler;
}

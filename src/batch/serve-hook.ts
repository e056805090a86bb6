import type { Ferry } from '../app.js';
import { loadBatchConfig } from './config.js';
import { BatchScheduler, type SchedulerLog } from './scheduler.js';
import { BatchStore } from './store.js';

/** Run scheduled batch jobs inside `ferry serve` (jobs from the registry and the config's batch.jobs). */
export async function startServeScheduler(app: Ferry, configPath: string | undefined, log: SchedulerLog): Promise<{ stop(): Promise<void> }> {
  const declared = configPath ? loadBatchConfig(configPath) : [];
  const scheduler = new BatchScheduler({ app, store: new BatchStore(app.database), log, declared });
  await scheduler.start();
  return scheduler;
}

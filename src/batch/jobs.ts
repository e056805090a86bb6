import { ferry } from '../core/errors.js';
import { startRun, resumeRun, type RunnerOptions, type RunSummary } from './runner.js';
import { newOwner, type BatchStore } from './store.js';
import type { BatchJob, WatermarkValue } from './types.js';

const DEFAULT_CHUNK = 10_000;

/**
 * Run a job once, never overlapping itself (a lease on the job in the registry). A run of
 * the job that a crash left unfinished is resumed first; otherwise a new run scores the
 * rows beyond the job's high-water mark, and on success the mark moves to the largest
 * watermark value it read. A failed run leaves the mark where it was.
 */
export async function runJob(options: RunnerOptions, name: string, runId?: string): Promise<RunSummary> {
  const { store } = options;
  const job = await store.requireJob(name);
  return withLease(store, `job:${name}`, `Batch job "${name}"`, options.leaseMs ?? 60_000, async () => {
    const [last] = await store.listRuns({ job: name, limit: 1 });
    const summary = last && last.status === 'running'
      ? await resumeRun(options, last.id)
      : await startRun(options, { ...jobRequest(job), ...(runId ? { runId } : { runId: `${name}-${stamp()}` }) });
    if (job.spec.watermark && summary.status === 'succeeded' && summary.highWater !== null) {
      await store.setHighWater(name, JSON.stringify(summary.highWater));
    }
    return summary;
  });
}

function jobRequest(job: BatchJob): Parameters<typeof startRun>[1] {
  const s = job.spec;
  const after = job.highWater === null ? null : JSON.parse(job.highWater) as WatermarkValue;
  return {
    modelRef: s.model, input: s.input, output: s.output, key: s.key, passthrough: s.passthrough,
    chunkSize: s.chunkSize ?? DEFAULT_CHUNK, workers: s.workers ?? 1, job: job.name,
    ...(s.query !== undefined ? { query: s.query } : {}), ...(s.inputFormat !== undefined ? { inputFormat: s.inputFormat } : {}),
    ...(s.outputFormat !== undefined ? { outputFormat: s.outputFormat } : {}), ...(s.rejects !== undefined ? { rejects: s.rejects } : {}),
    ...(s.inputColumns !== undefined ? { inputColumns: s.inputColumns } : {}), ...(s.maxRejectRate !== undefined ? { maxRejectRate: s.maxRejectRate } : {}),
    ...(s.watermark !== undefined ? { watermark: { column: s.watermark, after } } : {}),
    ...(s.logPredictions !== undefined ? { logPredictions: s.logPredictions } : {}),
    ...(s.strictColumns === true ? { strictColumns: true } : {}),
  };
}

/** Hold the lease `name` (renewed in the background) while `fn` runs. */
export async function withLease<T>(store: BatchStore, name: string, what: string, leaseMs: number, fn: () => Promise<T>): Promise<T> {
  const owner = newOwner();
  const got = await store.acquire(name, owner, leaseMs);
  if (!got.ok) throw ferry('FERRY_E_BATCH_LOCKED', { what, owner: got.owner, until: got.until });
  const timer = setInterval(() => { store.renew(name, owner, leaseMs).catch(() => undefined); }, Math.max(1000, Math.floor(leaseMs / 3)));
  timer.unref();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    await store.release(name, owner).catch(() => undefined);
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z');
}

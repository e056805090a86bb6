import { Cron } from 'croner';
import { isFerryError } from '../core/errors.js';
import type { DeclaredJob } from './config.js';
import { runJob } from './jobs.js';
import type { RunnerOptions, RunSummary } from './runner.js';

/** What the scheduler reports (pino-compatible). */
export interface SchedulerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SchedulerOptions extends RunnerOptions {
  readonly log: SchedulerLog;
  /** Jobs from the config file, written to the registry at start. */
  readonly declared?: readonly DeclaredJob[];
  /** How often schedules are re-read from the registry (ms), so `ferry batch job schedule` applies without a restart. */
  readonly pollMs?: number;
}

/**
 * Runs the jobs that have a cron schedule, inside `ferry serve` or `ferry scheduler`. Each tick
 * runs the job through `runJob`, whose lease keeps it from overlapping itself — also when
 * several schedulers (replicas, machines) share the registry: the first takes the tick, the
 * others skip it.
 */
export class BatchScheduler {
  readonly #options: SchedulerOptions;
  readonly #crons = new Map<string, { cron: Cron; expr: string }>();
  readonly #running = new Set<Promise<unknown>>();
  #poll: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    for (const job of this.#options.declared ?? []) await this.#options.store.createJob(job.name, job.spec, 'config', true);
    await this.refresh();
    this.#poll = setInterval(() => { this.refresh().catch((err: unknown) => this.#options.log.warn({ err }, 'batch scheduler: cannot read schedules')); }, this.#options.pollMs ?? 30_000);
    this.#poll.unref();
  }

  /** Schedules now in force: job → cron expression. */
  get schedules(): ReadonlyMap<string, string> {
    return new Map([...this.#crons].map(([k, v]) => [k, v.expr]));
  }

  /** Re-read the jobs' schedules from the registry. */
  async refresh(): Promise<void> {
    if (this.#stopped) return;
    const jobs = await this.#options.store.listJobs();
    const wanted = new Map(jobs.filter((j) => j.cron).map((j) => [j.name, j.cron ?? '']));
    for (const [name, entry] of this.#crons) {
      if (wanted.get(name) !== entry.expr) {
        entry.cron.stop();
        this.#crons.delete(name);
      }
    }
    for (const [name, expr] of wanted) {
      if (this.#crons.has(name)) continue;
      try {
        const cron = new Cron(expr, { protect: true }, () => this.#tick(name));
        this.#crons.set(name, { cron, expr });
        this.#options.log.info({ job: name, cron: expr, next: cron.nextRun()?.toISOString() }, 'batch job scheduled');
      } catch (err) {
        this.#options.log.error({ job: name, cron: expr, err }, 'batch job has an invalid schedule');
      }
    }
  }

  /** Run a job now, as a tick would (used by ticks and tests). */
  async runNow(name: string): Promise<RunSummary | undefined> {
    const log = this.#options.log;
    try {
      const summary = await runJob(this.#options, name);
      log.info({ job: name, run: summary.run, rows: summary.rows, scored: summary.scored, rejected: summary.rejected, seconds: summary.seconds }, 'batch job finished');
      return summary;
    } catch (err) {
      if (isFerryError(err, 'FERRY_E_BATCH_LOCKED')) log.info({ job: name }, 'batch job still running elsewhere; tick skipped');
      else log.error({ job: name, err }, 'batch job failed');
      return undefined;
    }
  }

  #tick(name: string): void {
    if (this.#stopped) return;
    const p = this.runNow(name).finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  /** Stop scheduling and wait for runs in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#poll) clearInterval(this.#poll);
    for (const { cron } of this.#crons.values()) cron.stop();
    this.#crons.clear();
    await Promise.allSettled([...this.#running]);
  }
}

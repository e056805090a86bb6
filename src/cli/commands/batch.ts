import type { Command } from 'commander';
import { openFerry } from '../../main/ferry.js';
import { checkCron } from '../../batch/config.js';
import { syncDeclaredJobs } from '../../batch/declared.js';
import { runJob } from '../../batch/jobs.js';
import { formatSeconds, Progress, runView } from '../../batch/progress.js';
import { resumeRun, startRun, type RunnerOptions, type RunSummary } from '../../batch/runner.js';
import { parseShard } from '../../batch/shard.js';
import { BatchStore } from '../../batch/store.js';
import type { BatchRun, JobSpec } from '../../batch/types.js';
import { loadConfig } from '../../core/config.js';
import { ferry } from '../../core/errors.js';
import { logShare } from '../../monitoring/log-share.js';
import { collect, collectList, parseInputColumns, print, printJson, table, wantsJson, type CliContext } from '../context.js';

/** Options `batch run` and `batch job create` share: where to read and write, which columns to carry. */
interface IoFlags {
  input: string;
  output: string;
  query?: string;
  inputFormat?: string;
  outputFormat?: string;
  key?: string[];
  passthrough?: string[];
  inputColumns?: string[];
  strictColumns?: boolean;
}

interface RunFlags extends IoFlags {
  outputs?: string[];
  explain?: boolean;
  chunkSize: string;
  workers: string;
  runId?: string;
  rejects?: string;
  maxRejectRate?: string;
  shard?: string;
  progressInterval: string;
  logPredictions?: string | boolean;
}

interface JobFlags extends IoFlags {
  model: string;
  watermark?: string;
  rejects?: string;
  chunkSize?: string;
  workers?: string;
  maxRejectRate?: string;
  cron?: string;
  replace?: boolean;
  logPredictions?: string | boolean;
}

export function batchCommand(program: Command, ctx: CliContext): void {
  const batch = program.command('batch').description('Score files and tables in bulk: resumable runs, incremental jobs, schedules (see docs/batch.md)');

  batch.command('run')
    .description('Score an input (CSV/JSONL/Parquet files, folders, globs, or a PostgreSQL table/query) into an output, checkpointed per chunk')
    .argument('<model-ref>', 'model reference: name, name:3 or name@alias')
    .requiredOption('-i, --input <src>', 'file, folder, glob ("data/*.parquet"), or postgres://…/db?table=[schema.]name')
    .requiredOption('-o, --output <dst>', 'file (.parquet, .csv, .jsonl), folder (part files), or postgres://…/db?table=name')
    .option('--query <sql>', 'read the rows of this query from the postgres:// --input')
    .option('--input-format <format>', 'csv | jsonl | json | parquet (default: from each file extension)')
    .option('--output-format <format>', 'format of part files in an output folder: parquet | csv | jsonl (default: parquet)')
    .option('-k, --key <col>', 'key column(s): copied to output rows, used for sharding, PostgreSQL paging and uniqueness (repeatable, or a,b)', collectList)
    .option('--passthrough <col>', 'other column(s) copied to each output row (repeatable, or a,b)', collectList)
    .option('--input-columns <input=cols>', 'data columns that fill an input, overriding the saved mapping (repeat per input)', collect)
    .option('--outputs <names>', 'only these model outputs (comma-separated)', collectList)
    .option('--explain', 'add each row\'s explanation as contrib_<feature>, base_value, residual, output_space, explain_method columns (docs/explain.md)')
    .option('--chunk-size <n>', 'rows per chunk (a chunk is the unit of output and of replay after a crash)', '10000')
    .option('--workers <n>', 'chunks scored at once, each on a runtime worker thread', '1')
    .option('--run-id <id>', 'name of the run; the same command with the same --run-id resumes it (default: generated)')
    .option('--rejects <dst>', 'where rows that fail validation go, with reason and source position (file or postgres://); without it a bad row fails the run')
    .option('--max-reject-rate <r>', 'fail the run when more than this share of rows (0-1) is rejected')
    .option('--shard <i/n>', 'score only shard i of n (stable hash of --key), e.g. a Kubernetes Indexed Job pod')
    .option('--progress-interval <ms>', 'how often a JSON progress line is printed when stderr is not a terminal', '5000')
    .option('--log-predictions [share]', 'log the scored rows to the prediction log (share of chunks, default 1) and add a prediction_id column; see docs/monitoring.md')
    .option('--strict-columns', 'refuse input columns the model does not use (by default they are ignored and listed in the summary and the run record)')
    .option('--json', 'print the summary as JSON')
    .action(async (ref: string, opts: RunFlags, cmd: Command) => {
      const chunkSize = positiveInt(opts.chunkSize, '--chunk-size');
      const workers = positiveInt(opts.workers, '--workers');
      const inputColumns = parseInputColumns(opts.inputColumns);
      const maxRejectRate = opts.maxRejectRate === undefined ? undefined : rate(opts.maxRejectRate);
      const logPredictions = logShare(opts.logPredictions, '--log-predictions');
      const summary = await withBatch(ctx, workers, async (options) => startRun({ ...options, progress: progress(ctx, opts.progressInterval, cmd) }, {
        modelRef: ref, input: opts.input, output: opts.output, key: opts.key ?? [], passthrough: opts.passthrough ?? [], chunkSize, workers,
        ...(opts.query !== undefined ? { query: opts.query } : {}), ...(opts.inputFormat !== undefined ? { inputFormat: opts.inputFormat } : {}),
        ...(opts.outputFormat !== undefined ? { outputFormat: opts.outputFormat } : {}), ...(opts.rejects !== undefined ? { rejects: opts.rejects } : {}),
        ...(inputColumns ? { inputColumns } : {}), ...(opts.outputs ? { outputs: opts.outputs } : {}), ...(opts.explain ? { explain: true } : {}),
        ...(maxRejectRate !== undefined ? { maxRejectRate } : {}), ...(opts.shard !== undefined ? { shard: parseShard(opts.shard) } : {}),
        ...(opts.runId !== undefined ? { runId: opts.runId } : {}), ...(logPredictions !== undefined ? { logPredictions } : {}),
        ...(opts.strictColumns === true ? { strictColumns: true } : {}),
      }));
      report(ctx, cmd, summary);
    });

  batch.command('resume')
    .description('Finish a run that was interrupted (crash, SIGKILL) from its last checkpoint')
    .argument('<run-id>', 'the run (as `ferry batch runs` lists it)')
    .option('--progress-interval <ms>', 'how often a JSON progress line is printed when stderr is not a terminal', '5000')
    .option('--json', 'print the summary as JSON')
    .action(async (id: string, opts: { progressInterval: string }, cmd: Command) => {
      const summary = await withBatch(ctx, undefined, (options) => resumeRun({ ...options, progress: progress(ctx, opts.progressInterval, cmd) }, id));
      report(ctx, cmd, summary);
    });

  batch.command('runs')
    .description('Run history, newest first: status, counts, duration, error; running runs with their progress')
    .argument('[job]', 'only the runs of this job')
    .option('--limit <n>', 'how many runs', '20')
    .option('--json', 'print JSON')
    .action(async (job: string | undefined, opts: { limit: string }, cmd: Command) => {
      const { runs, interrupted } = await withBatch(ctx, undefined, async ({ store }) => {
        const list = await store.listRuns({ ...(job !== undefined ? { job } : {}), limit: positiveInt(opts.limit, '--limit') });
        return { runs: list, interrupted: await store.interrupted(list) };
      });
      // A `running` run whose process is gone is shown as interrupted: `ferry batch resume <run>` finishes it.
      const status = (r: BatchRun) => (interrupted.has(r.id) ? 'interrupted' : r.status);
      if (wantsJson(cmd)) return printJson(ctx, runs.map((r) => ({ ...runView(r), status: status(r) })));
      if (runs.length === 0) return print(ctx, job ? `No runs of job "${job}" yet.` : 'No batch runs yet.');
      print(ctx, table(['run', 'job', 'model', 'status', 'progress', 'in', 'scored', 'rejected', 'rows/s', 'duration', 'started', 'error'], runs.map((r) => {
        const v = runView(r);
        return [r.id, r.job ?? '', `${r.model}:${r.version}`, status(r), v.progress, r.counts.rowsIn, r.counts.scored, r.counts.rejected, v.rowsPerSecond, formatSeconds(v.seconds), r.startedAt.replace('T', ' ').slice(0, 19), r.error?.code ?? ''];
      })));
    });

  const job = batch.command('job').description('Named incremental jobs: each run scores only rows beyond the last high-water mark');

  job.command('create')
    .description('Store a named job')
    .argument('<name>', 'job name')
    .requiredOption('-m, --model <ref>', 'model reference (an alias such as name@champion follows promotions)')
    .requiredOption('-i, --input <src>', 'file, folder, glob, or postgres://…?table=')
    .requiredOption('-o, --output <dst>', 'folder (each run adds its part files), file, or postgres://…?table=')
    .option('--watermark <col>', 'column that grows with new data (timestamp, id); each run scores rows beyond the previous run\'s largest value')
    .option('--query <sql>', 'read the rows of this query from the postgres:// --input')
    .option('--input-format <format>', 'csv | jsonl | json | parquet')
    .option('--output-format <format>', 'format of part files in an output folder (default: parquet)')
    .option('-k, --key <col>', 'key column(s) (repeatable, or a,b)', collectList)
    .option('--passthrough <col>', 'other column(s) copied to output rows (repeatable, or a,b)', collectList)
    .option('--input-columns <input=cols>', 'data columns that fill an input (repeat per input)', collect)
    .option('--rejects <dst>', 'where rejected rows go')
    .option('--chunk-size <n>', 'rows per chunk')
    .option('--workers <n>', 'chunks scored at once')
    .option('--max-reject-rate <r>', 'fail a run when more than this share of rows (0-1) is rejected')
    .option('--cron <expr>', 'schedule (croner syntax, e.g. "0 3 * * *")')
    .option('--replace', 'replace a job of the same name (its high-water mark is kept)')
    .option('--log-predictions [share]', 'log the scored rows of each run to the prediction log (share of chunks, default 1) and add a prediction_id column; see docs/monitoring.md')
    .option('--strict-columns', 'refuse input columns the model does not use (by default they are ignored and listed in the summary and the run record)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: JobFlags, cmd: Command) => {
      if (opts.cron !== undefined) checkCron(opts.cron);
      const inputColumns = parseInputColumns(opts.inputColumns);
      const logPredictions = logShare(opts.logPredictions, '--log-predictions');
      const spec: JobSpec = {
        model: opts.model, input: opts.input, output: opts.output, key: opts.key ?? [], passthrough: opts.passthrough ?? [],
        ...(opts.query !== undefined ? { query: opts.query } : {}), ...(opts.inputFormat !== undefined ? { inputFormat: opts.inputFormat } : {}),
        ...(opts.outputFormat !== undefined ? { outputFormat: opts.outputFormat } : {}), ...(opts.rejects !== undefined ? { rejects: opts.rejects } : {}),
        ...(opts.watermark !== undefined ? { watermark: opts.watermark } : {}), ...(inputColumns ? { inputColumns } : {}),
        ...(opts.chunkSize !== undefined ? { chunkSize: positiveInt(opts.chunkSize, '--chunk-size') } : {}),
        ...(opts.workers !== undefined ? { workers: positiveInt(opts.workers, '--workers') } : {}),
        ...(opts.maxRejectRate !== undefined ? { maxRejectRate: rate(opts.maxRejectRate) } : {}), ...(opts.cron !== undefined ? { cron: opts.cron } : {}),
        ...(logPredictions !== undefined ? { logPredictions } : {}), ...(opts.strictColumns === true ? { strictColumns: true } : {}),
      };
      const created = await withBatch(ctx, undefined, ({ store }) => store.createJob(name, spec, 'cli', opts.replace === true));
      if (wantsJson(cmd)) return printJson(ctx, created);
      print(ctx, `Job "${name}" saved: ${spec.model} ${spec.input} → ${spec.output}${spec.watermark ? ` (watermark ${spec.watermark})` : ''}${spec.cron ? `, schedule "${spec.cron}"` : ''}. Run it with \`ferry batch job run ${name}\`.`);
    });

  job.command('list')
    .description('List jobs with their schedule and high-water mark')
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, cmd: Command) => {
      const jobs = await withBatch(ctx, undefined, ({ store }) => store.listJobs());
      if (wantsJson(cmd)) return printJson(ctx, jobs);
      if (jobs.length === 0) return print(ctx, 'No batch jobs yet (`ferry batch job create`).');
      print(ctx, table(['job', 'model', 'input', 'output', 'watermark', 'high water', 'schedule', 'from'], jobs.map((j) => [j.name, j.spec.model, j.spec.input, j.spec.output, j.spec.watermark ?? '', j.highWater ?? '', j.cron ?? '', j.origin])));
    });

  job.command('run')
    .description('Run a job now: score the rows beyond its high-water mark (resumes the job\'s unfinished run first)')
    .argument('<name>', 'job name')
    .option('-c, --config <file>', 'ferry.yaml whose batch.jobs are saved first')
    .option('--run-id <id>', 'name of the run (default: <job>-<time>)')
    .option('--progress-interval <ms>', 'how often a JSON progress line is printed when stderr is not a terminal', '5000')
    .option('--json', 'print the summary as JSON')
    .action(async (name: string, opts: { config?: string; runId?: string; progressInterval: string }, cmd: Command) => {
      const summary = await withBatch(ctx, undefined, async (options) => {
        if (opts.config) await syncDeclaredJobs(options.store, opts.config);
        return runJob({ ...options, progress: progress(ctx, opts.progressInterval, cmd) }, name, opts.runId);
      });
      report(ctx, cmd, summary);
    });

  job.command('schedule')
    .description('Set or remove a job\'s cron schedule (runs inside `ferry serve` or `ferry scheduler`)')
    .argument('<name>', 'job name')
    .option('--cron <expr>', 'cron expression (croner syntax: 5 or 6 fields, e.g. "*/15 * * * *")')
    .option('--off', 'remove the schedule')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { cron?: string; off?: boolean }, cmd: Command) => {
      if ((opts.cron === undefined) === (opts.off !== true)) throw ferry('FERRY_E_USAGE', { detail: 'Pass either --cron "<expr>" or --off.' });
      if (opts.cron !== undefined) checkCron(opts.cron);
      const updated = await withBatch(ctx, undefined, ({ store }) => store.setSchedule(name, opts.cron ?? null));
      if (wantsJson(cmd)) return printJson(ctx, updated);
      print(ctx, opts.cron ? `Job "${name}" runs on "${opts.cron}" wherever \`ferry serve\` or \`ferry scheduler\` runs.` : `Job "${name}" is no longer scheduled.`);
    });

  job.command('delete')
    .description('Delete a job (its runs stay in the history)')
    .argument('<name>', 'job name')
    .action(async (name: string) => {
      await withBatch(ctx, undefined, ({ store }) => store.deleteJob(name));
      print(ctx, `Job "${name}" deleted.`);
    });
}

/** Open Ferry (with runtime worker threads when asked) and the batch store for one command. */
export async function withBatch<T>(ctx: CliContext, workers: number | undefined, fn: (options: RunnerOptions & { store: BatchStore }) => Promise<T>): Promise<T> {
  const config = loadConfig(ctx.env);
  const app = await openFerry(config, {}, workers !== undefined && workers > 1 ? { workers } : {});
  try {
    const leaseMs = ctx.env.FERRY_BATCH_LEASE_MS ? positiveInt(ctx.env.FERRY_BATCH_LEASE_MS, 'FERRY_BATCH_LEASE_MS') : undefined;
    return await fn({ registry: app.registry, pipeline: app.pipeline, store: new BatchStore(app.database), ...(leaseMs !== undefined ? { leaseMs } : {}) });
  } finally {
    await app.close();
  }
}

function progress(ctx: CliContext, interval: string, cmd: Command): Progress {
  return new Progress({ stream: ctx.stderr, intervalMs: positiveInt(interval, '--progress-interval'), json: wantsJson(cmd) });
}

function report(ctx: CliContext, cmd: Command, s: RunSummary): void {
  if (wantsJson(cmd)) return print(ctx, JSON.stringify({ event: 'summary', ...s }));
  const prefix = s.alreadyDone ? `Run ${s.run} had already finished` : `Run ${s.run} ${s.status}`;
  const ignored = s.ignoredColumns.length > 0 ? `; ignored column(s) the model does not use: ${s.ignoredColumns.join(', ')}` : '';
  print(ctx, `${prefix}: ${s.rows} row(s) in, ${s.scored} scored, ${s.rejected} rejected${s.skipped ? `, ${s.skipped} skipped (other shards or below the watermark)` : ''} with ${s.model}:${s.version} in ${s.seconds} s (${s.rowsPerSecond} rows/s) → ${s.output}${s.rejected && s.rejects ? `; rejects → ${s.rejects}` : ''}${ignored}`);
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw ferry('FERRY_E_USAGE', { detail: `${flag} must be a whole number ≥ 1 (got "${text}").` });
  return n;
}

function rate(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw ferry('FERRY_E_USAGE', { detail: `--max-reject-rate must be a number from 0 to 1 (got "${text}").` });
  return n;
}

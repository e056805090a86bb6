/** Bench knobs, from the environment (see bench/README.md). */
import { join } from 'node:path';
import { ROOT } from './fixture.js';

export interface Settings {
  /** Measured seconds per cell. */
  readonly seconds: number;
  /** Warm-up seconds per cell (same load, not recorded). */
  readonly warmupSeconds: number;
  /** Hard cap on requests per run. */
  readonly maxRequests: number;
  readonly concurrency: readonly number[];
  /** Only cells whose id matches (e.g. `oip-json/on/c64|bare/c64`); undefined = all. */
  readonly filter: RegExp | undefined;
  /** Write `--cpu-prof` profiles of the server processes here; undefined = no profiling. */
  readonly profileDir: string | undefined;
  readonly largeRows: number;
  readonly largeConcurrency: number;
  readonly batching: { readonly maxBatchSize: number; readonly maxQueueDelayUs: number };
  /** N of the `--processes N` rows and of the processes section. */
  readonly processes: number;
  /** Alternated rounds of the processes section. */
  readonly processRounds: number;
  /** Alternated off/on rounds of the prediction-log section. */
  readonly logRounds: number;
  /** Where the Markdown goes (besides stdout). */
  readonly output: string;
}

function num(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number ≥ ${min} (got "${raw}")`);
  return v;
}

function list(name: string, fallback: readonly number[]): number[] {
  const raw = process.env[name];
  if (!raw) return [...fallback];
  const values = raw.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`${name} must be a comma-separated list of positive integers (got "${raw}")`);
  return values;
}

export function loadSettings(): Settings {
  const prof = process.env.BENCH_CPU_PROF;
  const filter = process.env.BENCH_FILTER;
  return {
    seconds: num('BENCH_SECONDS', 4, 0.5),
    warmupSeconds: num('BENCH_WARMUP_SECONDS', 1, 0),
    maxRequests: num('BENCH_MAX_REQUESTS', 200_000, 1),
    concurrency: list('BENCH_CONCURRENCY', [1, 8, 64]),
    filter: filter ? new RegExp(filter) : undefined,
    profileDir: !prof ? undefined : prof === '1' ? join(ROOT, 'bench/results/profiles') : prof,
    largeRows: num('BENCH_LARGE_ROWS', 3334, 1),
    largeConcurrency: num('BENCH_LARGE_CONCURRENCY', 8, 1),
    batching: { maxBatchSize: num('BENCH_MAX_BATCH_SIZE', 64, 1), maxQueueDelayUs: num('BENCH_MAX_QUEUE_DELAY_US', 2000, 0) },
    processes: num('BENCH_PROCESSES', 2, 2),
    processRounds: num('BENCH_PROCESS_ROUNDS', 2, 1),
    logRounds: num('BENCH_LOG_ROUNDS', 6, 1),
    output: process.env.BENCH_OUTPUT ?? join(ROOT, 'bench/results/serve.md'),
  };
}

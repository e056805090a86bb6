import type { ErrorCode } from '../core/errors.js';

/** A watermark value as stored: numbers stay numbers, everything else is compared as text. */
export type WatermarkValue = number | string;

/** Where a source stands: a file and the rows of it already consumed, or the last key read. */
export type SourcePosition =
  | { readonly kind: 'files'; readonly file: number; readonly row: number }
  | { readonly kind: 'postgres'; readonly after: readonly (string | number | boolean | null)[] | null; readonly rows: number };

/** What a sink needs to pick up after a crash (JSON; each sink defines its own fields). */
export type SinkState = Readonly<Record<string, unknown>>;

/** The state committed after each chunk. */
export interface Checkpoint {
  /** Chunks committed (the next chunk is number seq + 1). */
  readonly seq: number;
  readonly source: SourcePosition;
  readonly sink: SinkState;
  readonly rejects: SinkState | null;
  /** Largest watermark value seen among the rows read so far. */
  readonly highWater: WatermarkValue | null;
  /**
   * Rows the source delivered so far (absent in older checkpoints). A shard whose filter runs in
   * the query reads only its rows; its other-shard rows count as skipped without being read.
   */
  readonly read?: number;
  /** Input columns no model input used (ids, labels…), ignored; absent when there were none. */
  readonly ignoredColumns?: readonly string[];
}

export interface RunCounts {
  /** Rows read that belong to this run (in the shard, past the watermark). */
  readonly rowsIn: number;
  readonly scored: number;
  readonly rejected: number;
  /** Rows read but left to other shards or at/below the watermark. */
  readonly skipped: number;
}

/** Where a run or job reads and writes, and which columns it carries through. */
export interface IoSpec {
  readonly input: string;
  readonly query?: string;
  readonly inputFormat?: string;
  readonly output: string;
  readonly outputFormat?: string;
  readonly rejects?: string;
  readonly key: readonly string[];
  readonly passthrough: readonly string[];
  readonly inputColumns?: Readonly<Record<string, readonly string[]>>;
  /** `--strict-columns`: refuse input columns the model does not use (by default they are ignored and recorded). */
  readonly strictColumns?: boolean;
}

/** Everything a run needs; stored with the run so `resume` repeats it exactly. */
export interface RunSpec extends IoSpec {
  /** The logical run id written into output rows (the same for every shard). */
  readonly runId: string;
  readonly modelRef: string;
  /** Resolved when the run was created: a resumed run scores with the same version. */
  readonly model: string;
  readonly version: number;
  /** The files matched when the run started (globs and folders are expanded once). */
  readonly files?: readonly string[];
  readonly outputs?: readonly string[];
  /** `--explain`: add each row's explanation as contrib_<feature>, base_value, residual … columns. */
  readonly explain?: boolean;
  readonly chunkSize: number;
  readonly workers: number;
  readonly maxRejectRate?: number;
  readonly shard?: { readonly index: number; readonly count: number };
  /** The shard hash (src/batch/shard.ts) of a sharded run; absent in runs created before it was stored (hash 1). */
  readonly shardHash?: 1 | 2;
  readonly watermark?: { readonly column: string; readonly after: WatermarkValue | null };
  readonly job?: string;
  /** Share of scored chunks logged to the prediction log (`--log-predictions`); absent = off. */
  readonly logPredictions?: number;
}

export type RunStatus = 'running' | 'succeeded' | 'failed';

export interface BatchRun {
  readonly id: string;
  readonly job: string | null;
  readonly model: string;
  readonly version: number;
  readonly spec: RunSpec;
  readonly status: RunStatus;
  readonly owner: string | null;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly total: number | null;
  readonly counts: RunCounts;
  readonly chunks: number;
  /** Time spent running (all attempts), for rows/s. */
  readonly activeMs: number;
  readonly checkpoint: Checkpoint | null;
  readonly error: { code: ErrorCode; message: string } | null;
}

/** A named, incremental job: a run template plus the watermark column. */
export interface JobSpec extends IoSpec {
  readonly model: string;
  readonly watermark?: string;
  readonly chunkSize?: number;
  readonly workers?: number;
  readonly maxRejectRate?: number;
  readonly cron?: string;
  /** Share of scored chunks logged to the prediction log (`log:`); absent = off. */
  readonly logPredictions?: number;
}

export interface BatchJob {
  readonly name: string;
  readonly spec: JobSpec;
  /** The watermark reached by the last successful run (JSON of a WatermarkValue), or null. */
  readonly highWater: string | null;
  readonly cron: string | null;
  readonly origin: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

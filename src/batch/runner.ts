import { randomBytes } from 'node:crypto';
import { EXPLAIN_STAGE } from '../scoring/explain-stage.js';
import { asFerryError, ferry, isFerryError, type FerryError } from '../core/errors.js';
import { takeRows, type Cell } from '../core/frame.js';
import type { OutputRecord } from '../data/writers.js';
import type { Registry } from '../registry/registry.js';
import type { ModelVersion } from '../registry/types.js';
import type { Pipeline } from '../scoring/pipeline.js';
import { openDuckDb, type DuckDb } from './duckdb.js';
import { listInputFiles, openSink, openSource } from './io.js';
import { redact } from './locations.js';
import type { Progress } from './progress.js';
import { recordsTable, type OutputTable, type TableColumn, type OutputColumnSpec } from '../data/output-table.js';
import { outputTable, PREDICTION_ID_COLUMN, rejectColumns, rejectRecord } from './records.js';
import { SHARD_HASH, shardOf } from './shard.js';
import type { BatchSink } from './sink.js';
import type { BatchSource, SourceChunk } from './source.js';
import { newOwner, type BatchStore } from './store.js';
import type { BatchRun, Checkpoint, RunCounts, RunSpec, SinkState, WatermarkValue } from './types.js';

/** What `ferry batch run` asks for (the model reference is resolved when the run is created). */
export type RunRequest = Omit<RunSpec, 'model' | 'version' | 'files' | 'runId'> & { readonly runId?: string };

/** How a run ended. */
export interface RunSummary {
  readonly run: string;
  readonly runId: string;
  readonly status: 'succeeded' | 'failed';
  readonly model: string;
  readonly version: number;
  readonly rows: number;
  /** Rows this run read from the input (a shard reads only its own rows when its filter runs in the query). */
  readonly read: number;
  readonly scored: number;
  readonly rejected: number;
  readonly skipped: number;
  readonly chunks: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly output: string;
  readonly rejects: string | null;
  readonly highWater: WatermarkValue | null;
  /** Input columns the model does not use, ignored (`--strict-columns` refuses them instead). */
  readonly ignoredColumns: readonly string[];
  /** True when the run had already finished and nothing was done. */
  readonly alreadyDone: boolean;
}

export interface RunnerOptions {
  readonly registry: Pick<Registry, 'resolve'>;
  /** The one inference pipeline (its observers log predictions when a run asks). */
  readonly pipeline: Pick<Pipeline, 'run' | 'flush' | 'prepare'>;
  readonly store: BatchStore;
  readonly progress?: Progress | undefined;
  /** Lease length; renewed every third of it while the run is alive. */
  readonly leaseMs?: number;
  /** Least time between two checkpoints (default 1 s); the first and last chunks are always checkpointed. */
  readonly checkpointMs?: number;
}

const DEFAULT_LEASE_MS = 60_000;
/**
 * A checkpoint costs a registry transaction and an fsync of the outputs (tens of milliseconds
 * on the event loop): one per second rather than one per chunk. Chunks written after the last
 * checkpoint are dropped and written again on resume, so exactly-once holds either way.
 */
const DEFAULT_CHECKPOINT_MS = 1000;

/** The registry id of a run: the run id, plus the shard for a sharded run. */
export function runKey(runId: string, shard: RunSpec['shard']): string {
  return shard ? `${runId}.shard-${shard.index}-of-${shard.count}` : runId;
}

/** Fields that must match when the same --run-id is given again (the run is then resumed). */
const IDENTITY: readonly (keyof RunSpec)[] = ['modelRef', 'input', 'query', 'output', 'rejects', 'key', 'passthrough', 'chunkSize', 'shard', 'outputFormat', 'inputFormat', 'strictColumns'];

/**
 * Start a run, or resume it when a run with this id exists already with the same settings.
 */
export async function startRun(options: RunnerOptions, request: RunRequest): Promise<RunSummary> {
  const runId = request.runId ?? defaultRunId(request.modelRef);
  const id = runKey(runId, request.shard);
  const existing = await options.store.getRun(id);
  if (existing) {
    const differs = IDENTITY.filter((k) => JSON.stringify(existing.spec[k]) !== JSON.stringify((request as Partial<RunSpec>)[k]));
    if (differs.length > 0) throw ferry('FERRY_E_BATCH_RUN_CONFLICT', { run: id, detail: `different ${differs.join(', ')}` });
    return execute(options, existing);
  }
  const duck = await openDuckDb();
  let source: BatchSource | undefined;
  try {
    const version = await options.registry.resolve(request.modelRef);
    // The runtime loads (an ONNX session, a tree ensemble) while the input is listed and counted.
    options.pipeline.prepare(version);
    const files = await listInputFiles(duck, request.input, request.inputFormat);
    const spec: RunSpec = { ...request, runId, model: version.model, version: version.version, ...(files ? { files } : {}), ...(request.shard ? { shardHash: SHARD_HASH } : {}) };
    source = await openSource(spec, duck);
    const total = await source.count();
    const { run } = await options.store.createRun(id, spec, total);
    // The same source reads the rows: what it learnt counting (a CSV file's rows and layout) is not worked out again.
    return await execute(options, run, duck, source);
  } finally {
    await source?.close();
    duck.close();
  }
}

/** Resume a run from its last checkpoint (a finished run is reported, not run again). */
export async function resumeRun(options: RunnerOptions, id: string): Promise<RunSummary> {
  return execute(options, await options.store.requireRun(id));
}

async function execute(options: RunnerOptions, run: BatchRun, sharedDuck?: DuckDb, counted?: BatchSource): Promise<RunSummary> {
  const { store } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const owner = newOwner();
  const lease = `run:${run.id}`;
  const got = await store.acquire(lease, owner, leaseMs);
  if (!got.ok) throw ferry('FERRY_E_BATCH_LOCKED', { what: `Batch run "${run.id}"`, owner: got.owner, until: got.until });
  let leaseLost = false;
  const heartbeat = setInterval(() => {
    store.renew(lease, owner, leaseMs).then((ok) => { if (!ok) leaseLost = true; }, () => undefined);
  }, Math.max(1000, Math.floor(leaseMs / 3)));
  heartbeat.unref();
  const duck = sharedDuck ?? await openDuckDb();
  const closers: (() => Promise<void>)[] = [];
  try {
    const fresh = await store.requireRun(run.id);
    if (fresh.status === 'succeeded') return summaryOf(fresh, true);
    await store.startRun(run.id, owner);
    const result = await scoreRun(options, fresh, owner, duck, closers, () => leaseLost, counted);
    return result;
  } catch (err) {
    const error = asFerryError(err);
    if (!isFerryError(error, 'FERRY_E_BATCH_LEASE_LOST')) await store.finishRun(run.id, owner, 'failed', error).catch(() => undefined);
    throw error;
  } finally {
    clearInterval(heartbeat);
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (!sharedDuck) duck.close();
    await store.release(lease, owner).catch(() => undefined);
  }
}

interface Scored {
  readonly chunk: SourceChunk;
  readonly table: OutputTable | undefined;
  readonly rejects: OutputRecord[];
  readonly kept: number;
  readonly scored: number;
  readonly skipped: number;
  readonly highWater: WatermarkValue | null;
  readonly ignoredColumns: readonly string[];
}

async function scoreRun(options: RunnerOptions, run: BatchRun, owner: string, duck: DuckDb, closers: (() => Promise<void>)[], lost: () => boolean, counted: BatchSource | undefined): Promise<RunSummary> {
  const { pipeline, store, progress } = options;
  const spec = run.spec;
  const version = await options.registry.resolve({ kind: 'version', model: spec.model, version: spec.version });
  pipeline.prepare(version);
  let source = counted;
  if (!source) {
    const opened = await openSource(spec, duck);
    closers.push(() => opened.close());
    source = opened;
  }
  const tag = safeTag(run.id);
  const sink = openSink(spec.output, spec.outputFormat, spec, tag, duck);
  closers.push(() => sink.close());
  const rejectsSink: BatchSink | undefined = spec.rejects ? openSink(spec.rejects, undefined, spec, `${tag}-rejects`, duck) : undefined;
  if (rejectsSink) closers.push(() => rejectsSink.close());
  const log = spec.logPredictions !== undefined && spec.logPredictions > 0 ? spec.logPredictions : undefined;
  // Logged predictions are written before the run reports success.
  if (log !== undefined) closers.push(() => pipeline.flush());

  const cp = run.checkpoint;
  await sink.open(cp?.sink ?? null);
  await rejectsSink?.open(cp?.rejects ?? null);
  let seq = cp?.seq ?? 0;
  let sinkState: SinkState = cp?.sink ?? {};
  let rejectsState: SinkState | null = cp?.rejects ?? null;
  let highWater: WatermarkValue | null = cp?.highWater ?? null;
  let read = cp?.read ?? run.counts.rowsIn + run.counts.skipped;
  const ignored = new Set<string>(cp?.ignoredColumns ?? []);
  let counts: RunCounts = run.counts;
  let activeMs = run.activeMs;
  let columns: OutputColumnSpec[] | undefined;
  let started = performance.now();
  progress?.start(run.id, run.total, counts);

  const carry = [...spec.key, ...spec.passthrough];
  const checkpointMs = options.checkpointMs ?? DEFAULT_CHECKPOINT_MS;
  // The first chunk is checkpointed at once, so `batch runs` shows the run moving.
  let lastCheckpoint = Number.NEGATIVE_INFINITY;
  let pending: Checkpoint | undefined;
  // Outputs first, made durable, then the checkpoint that points past them. With
  // --log-predictions the log is written first too: a row a checkpoint covers is never scored
  // again, so its logged prediction must not still be in memory when the process dies; and the
  // checkpoint's registry write then never waits behind a queue of log batches (SQLite, one writer).
  const checkpoint = async (): Promise<void> => {
    if (!pending) return;
    await sink.sync();
    await rejectsSink?.sync();
    if (log !== undefined) await pipeline.flush();
    await store.checkpoint(run.id, owner, pending, counts, activeMs);
    pending = undefined;
    lastCheckpoint = performance.now();
  };
  const commit = async (s: Scored): Promise<void> => {
    if (lost()) throw ferry('FERRY_E_BATCH_LEASE_LOST', { run: run.id, owner: 'another process' });
    seq++;
    if (s.table && s.table.length > 0) {
      // The first chunk's column types hold for the whole output.
      columns ??= s.table.columns.map(({ name, type }) => ({ name, type }));
      const types = new Map(columns.map((c) => [c.name, c.type]));
      sinkState = await sink.write(seq, { length: s.table.length, columns: s.table.columns.map((c) => ({ ...c, type: types.get(c.name) ?? c.type })) });
    }
    if (s.rejects.length > 0) {
      if (!rejectsSink) throw firstReject(s.rejects, spec);
      rejectsState = await rejectsSink.write(seq, recordsTable(s.rejects, rejectColumns(spec.key, sourceTypes())));
    }
    // Rows of other shards the query passed over are skipped too (progress then moves through the input).
    counts = { rowsIn: counts.rowsIn + s.kept, scored: counts.scored + s.scored, rejected: counts.rejected + s.rejects.length, skipped: counts.skipped + s.skipped + (s.chunk.passed ?? 0) };
    highWater = maxWatermark(highWater, s.highWater);
    for (const c of s.ignoredColumns) ignored.add(c);
    const now = performance.now();
    activeMs += now - started;
    started = now;
    read += s.chunk.frame.length;
    pending = { seq, source: s.chunk.end, sink: sinkState, rejects: rejectsState, highWater, read, ...(ignored.size > 0 ? { ignoredColumns: [...ignored] } : {}) };
    if (now - lastCheckpoint >= checkpointMs) await checkpoint();
    progress?.update(counts);
  };
  const sourceTypes = () => source.columnTypes();

  // Reading, scoring and writing overlap: while chunk k is written and checkpointed (in
  // order, one at a time), chunk k+1 is scored and chunk k+2 read. At most `workers + 1`
  // chunks wait, so memory is set by the chunk size, not the input size.
  const workers = Math.max(1, spec.workers);
  let committed: Promise<void> = Promise.resolve();
  const waiting: Promise<void>[] = [];
  for await (const chunk of source.read(cp?.source, spec.chunkSize)) {
    const scored = scoreChunk(pipeline, version, spec, chunk, carry, sourceTypes, log);
    scored.catch(() => undefined);
    committed = committed.then(async () => commit(await scored));
    committed.catch(() => undefined);
    waiting.push(committed);
    if (waiting.length > workers) await waiting.shift();
  }
  await committed;
  await checkpoint();
  // Rows of other shards the query never returned (after the last chunk of a file, or from
  // PostgreSQL) are skipped all the same: rows + skipped = the input.
  const unread = spec.shard && run.total !== null ? run.total - (counts.rowsIn + counts.skipped) : 0;
  if (unread > 0) {
    counts = { ...counts, skipped: counts.skipped + unread };
    const last = (await store.requireRun(run.id)).checkpoint;
    if (last) {
      pending = last;
      await checkpoint();
    }
  }
  progress?.update(counts, true);
  progress?.end();

  if (spec.maxRejectRate !== undefined && counts.rowsIn > 0 && counts.rejected / counts.rowsIn > spec.maxRejectRate) {
    throw ferry('FERRY_E_BATCH_REJECT_RATE', {
      run: run.id, rejected: counts.rejected, rows: counts.rowsIn, rate: `${((counts.rejected / counts.rowsIn) * 100).toFixed(2)}%`,
      max: spec.maxRejectRate, rejects: spec.rejects ? redact(spec.rejects) : '(no --rejects output)',
    });
  }
  await sink.finish();
  await rejectsSink?.finish();
  await store.finishRun(run.id, owner, 'succeeded');
  await sink.cleanup();
  await rejectsSink?.cleanup();
  return summaryOf(await store.requireRun(run.id), false);
}

/** Keep the chunk's rows that belong to this run (shard, watermark), score them, build the output rows. */
async function scoreChunk(pipeline: Pick<Pipeline, 'run'>, version: ModelVersion, spec: RunSpec, chunk: SourceChunk, carry: readonly string[], types: () => ReadonlyMap<string, string>, log: number | undefined): Promise<Scored> {
  const { frame, position } = chunk;
  // A source that filtered in its query has read only this shard's rows.
  const shard = chunk.sharded ? undefined : spec.shard;
  const unreadable = new Map(chunk.unreadable.map((u) => [u.index, u]));
  const keyCols = spec.key.map((k) => frame.column(k));
  const wmCol = spec.watermark ? frame.column(spec.watermark.column) : undefined;
  if (spec.watermark && !wmCol && frame.length > unreadable.size) {
    throw ferry('FERRY_E_COLUMN_MISSING', { input: '--watermark', columns: `"${spec.watermark.column}"`, present: frame.columns.map((c) => `"${c}"`).join(', ') });
  }
  if (shard && keyCols.some((c) => c === undefined) && frame.length > unreadable.size) {
    throw ferry('FERRY_E_COLUMN_MISSING', { input: '--key (for --shard)', columns: spec.key.map((k) => `"${k}"`).join(', '), present: frame.columns.map((c) => `"${c}"`).join(', ') });
  }
  const after = spec.watermark?.after ?? null;
  const rejects: Record<string, unknown>[] = [];
  let skipped = 0;
  let highWater: WatermarkValue | null = null;
  let rejectedUnread = 0;
  // Without shards, watermark or unreadable rows every row is kept: no pass over the rows.
  const every = !shard && !wmCol && unreadable.size === 0;
  const kept: number[] = every ? Array.from({ length: frame.length }, (_, i) => i) : [];
  for (let i = 0; i < (every ? 0 : frame.length); i++) {
    const bad = unreadable.get(i);
    // A row that could not be read has no key: its shard comes from its position instead.
    if (shard && shardOf(bad ? [position(i).source, position(i).row] : keyCols.map((c) => c?.[i] ?? null), shard.count, spec.shardHash ?? 1) !== shard.index) {
      skipped++;
      continue;
    }
    if (bad) {
      rejectedUnread++;
      rejects.push({ ...rejectRecord(position(i), frame, i, spec.key, bad.code, bad.message, spec.runId), at: i });
      continue;
    }
    if (wmCol) {
      const wm = watermarkOf(wmCol[i] ?? null);
      if (after !== null && (wm === null || compareWatermarks(wm, after) <= 0)) {
        skipped++;
        continue;
      }
      highWater = maxWatermark(highWater, wm);
    }
    kept.push(i);
  }
  const sub = kept.length === frame.length ? frame : takeRows(frame, kept);
  let table: OutputTable | undefined;
  let scored = 0;
  let ignoredColumns: readonly string[] = [];
  if (kept.length > 0) {
    // A run never drops predictions because the log is behind (lossless): a chunk waits for it instead.
    const run = await pipeline.run({
      model: { version }, input: { kind: 'frame', frame: sub, plan: { ignore: carry, strictColumns: spec.strictColumns === true, ...(spec.inputColumns ? { inputColumns: spec.inputColumns } : {}) } },
      outputs: spec.outputs, source: 'batch', log, lossless: true,
      // The same explain stage as every other mode, on the rows just scored.
      ...(spec.explain ? { extras: { [EXPLAIN_STAGE]: {} } } : {}),
    });
    let { result } = run;
    ignoredColumns = result.ignoredColumns ?? [];
    const explained = run.extras?.[EXPLAIN_STAGE];
    if (explained?.kind === 'columns') result = { ...result, outputs: [...result.outputs, ...explained.columns] };
    scored = result.rows.length;
    for (const r of result.rejects) {
      const at = kept[r.row] ?? r.row;
      rejects.push({ ...rejectRecord(position(at), frame, at, spec.key, r.error.code, sourceMessage(r.error, position(at).row), spec.runId), at });
    }
    if (scored > 0) {
      const out = outputTable(result, sub, carry, types(), spec.runId, new Date().toISOString());
      const columns: TableColumn[] = [...out.columns];
      if (log !== undefined) {
        if (columns.some((c) => c.name === PREDICTION_ID_COLUMN.name)) throw ferry('FERRY_E_BATCH_COLUMN_CLASH', { column: PREDICTION_ID_COLUMN.name });
        const ids = run.predictionIds;
        columns.push({ ...PREDICTION_ID_COLUMN, data: ids ? { kind: 'cells', values: ids } : { kind: 'constant', value: null } });
      }
      table = { length: out.length, columns };
    }
  }
  rejects.sort((a, b) => Number(a.at) - Number(b.at));
  for (const r of rejects) delete r.at;
  return { chunk, table, rejects, kept: kept.length + rejectedUnread, scored, skipped, highWater, ignoredColumns };
}

/** The scorer numbers rows within the chunk; say the row's place in the source instead. */
function sourceMessage(error: FerryError, row: number | string | undefined): string {
  if (row === undefined || error.params.row === undefined) return error.message;
  return ferry(error.code, { ...error.params, row }).message;
}

/** Without a rejects output, the first bad row fails the run (as `ferry predict` does without --rejects). */
function firstReject(rejects: readonly OutputRecord[], _spec: RunSpec): FerryError {
  const r = rejects[0] ?? {};
  return ferry('FERRY_E_BATCH_SOURCE', {
    source: `${String(r.source)} row ${String(r.source_row)}`,
    detail: `${String(r.code)}: ${String(r.reason)} (pass --rejects <file> to set bad rows aside and score the rest)`,
  });
}

/** A cell as a watermark value: numbers compare as numbers, anything else as text. */
export function watermarkOf(cell: Cell): WatermarkValue | null {
  if (cell === null || cell === '') return null;
  if (typeof cell === 'number' || typeof cell === 'bigint') return Number(cell);
  return typeof cell === 'string' ? cell : JSON.stringify(cell);
}

export function compareWatermarks(a: WatermarkValue, b: WatermarkValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function maxWatermark(a: WatermarkValue | null, b: WatermarkValue | null): WatermarkValue | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareWatermarks(a, b) >= 0 ? a : b;
}

export function summaryOf(run: BatchRun, alreadyDone: boolean): RunSummary {
  const seconds = run.activeMs / 1000;
  return {
    run: run.id, runId: run.spec.runId, status: run.status === 'succeeded' ? 'succeeded' : 'failed', model: run.model, version: run.version,
    rows: run.counts.rowsIn, read: run.checkpoint?.read ?? run.counts.rowsIn + run.counts.skipped, scored: run.counts.scored, rejected: run.counts.rejected, skipped: run.counts.skipped, chunks: run.chunks,
    seconds: Math.round(seconds * 10) / 10, rowsPerSecond: seconds > 0 ? Math.round((run.counts.rowsIn + run.counts.skipped) / seconds) : 0,
    output: redact(run.spec.output), rejects: run.spec.rejects ? redact(run.spec.rejects) : null, highWater: run.checkpoint?.highWater ?? null,
    ignoredColumns: run.checkpoint?.ignoredColumns ?? [], alreadyDone,
  };
}

function defaultRunId(ref: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${ref.replace(/[^A-Za-z0-9_.-]/g, '-')}-${stamp}-${randomBytes(2).toString('hex')}`;
}

function safeTag(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '_');
}

import { sql, type Kysely } from 'kysely';
import { asFerryError } from '../core/errors.js';
import type { RegistryDb } from '../registry/registry-db.js';
import type { RegistryDatabase } from '../registry/schema.js';

/**
 * The prediction log: one row per scored row, in the registry database (SQLite or
 * PostgreSQL), table `prediction_log` (migration 0005). The server, batch jobs and stream
 * consumers write it through a `PredictionLogger` (prediction-log-writer.ts); this module is
 * the storage format and the read API (drift, live metrics, `ferry monitor log`).
 */

/** The table as stored. `at`/`actual_at` are epoch milliseconds (bigint: a string from `pg`). */
// Type aliases, not interfaces: Kysely's withTables needs an implicit index signature.
export type PredictionLogTable = {
  id: string;
  model_name: string;
  version: number;
  at: number | string;
  source: string;
  /** JSON object: feature (column) name → value. */
  inputs: string;
  /** JSON object: output name → value. */
  outputs: string;
  latency_ms: number;
  confidence: number | null;
  /** 0 or 1 (SQLite has no boolean). */
  low_confidence: number;
  /** JSON value of the ground truth, once attached. */
  actual: string | null;
  actual_at: number | string | null;
};

/** The monitoring tables this module reads and writes. */
export type PredictionLogTables = {
  prediction_log: PredictionLogTable;
};

/** Where a prediction came from. */
export type PredictionSource = 'oip-rest' | 'oip-grpc' | 'mlflow' | 'kserve-v1' | 'batch' | 'stream' | (string & {});

/** One logged prediction as read back. */
export interface LoggedPrediction {
  readonly id: string;
  readonly model: string;
  readonly version: number;
  /** When it was scored (epoch milliseconds). */
  readonly at: number;
  readonly source: PredictionSource;
  /**
   * Feature name → value. Tensor inputs with a column mapping (`--input-columns`) are logged
   * one key per column; without one, one key per input holding the row's value (an array
   * for several elements). Frame inputs (MLflow, KServe v1, batch, stream) keep their columns.
   */
  readonly inputs: Record<string, unknown>;
  /** Output name → the row's value (a scalar, or an array in the output's row shape). */
  readonly outputs: Record<string, unknown>;
  /** Time from request parsed to answer (server), or the batch's time per row share. */
  readonly latencyMs: number;
  /** Top-class probability, when the model's confidence is known (classification). */
  readonly confidence: number | null;
  /** Confidence below the model's `min_confidence`. */
  readonly lowConfidence: boolean;
  /** The ground truth attached by feedback; `undefined` while unlabelled. */
  readonly actual?: unknown;
  /** When the ground truth was attached (epoch milliseconds). */
  readonly actualAt?: number;
}

/** Which logged predictions to read. Times are epoch milliseconds or Dates. */
export interface PredictionQuery {
  readonly model: string;
  readonly version?: number | undefined;
  /** At or after this time. */
  readonly since?: number | Date | undefined;
  /** Before this time. */
  readonly until?: number | Date | undefined;
  /** Only the newest N (after the other filters), still returned oldest first. */
  readonly last?: number | undefined;
  /** Only predictions with (true) or without (false) ground truth. */
  readonly labelled?: boolean | undefined;
  /** Only low-confidence predictions (true) or only the others (false). */
  readonly lowConfidence?: boolean | undefined;
}

/** What to decode per row; leaving out what a caller does not need saves JSON parsing. */
export interface ReadOptions {
  /** Rows per database round trip (default 5000). */
  readonly chunkSize?: number;
  /** Parse `inputs` (default true); when false, `inputs` is `{}`. */
  readonly inputs?: boolean;
  /** Parse `outputs` (default true); when false, `outputs` is `{}`. */
  readonly outputs?: boolean;
}

/** A prediction ready to insert: inputs and outputs already serialised. */
export interface PredictionRow {
  readonly id: string;
  readonly model: string;
  readonly version: number;
  readonly at: number;
  readonly source: PredictionSource;
  /** JSON object text. */
  readonly inputs: string;
  /** JSON object text. */
  readonly outputs: string;
  readonly latencyMs: number;
  readonly confidence: number | null;
  readonly lowConfidence: boolean;
}

/** The Kysely handle typed with the prediction log's table. */
export function logDb(db: RegistryDb): Kysely<RegistryDatabase & PredictionLogTables> {
  return db.kysely.withTables<PredictionLogTables>();
}

/** Run a query with driver errors mapped to the catalog (busy, unavailable, storage full). */
export async function guarded<T>(db: RegistryDb, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw db.mapError(err) ?? asFerryError(err);
  }
}

const INSERT_CHUNK = 400;

/** Insert rows (multi-row INSERTs, all in one transaction). */
export async function insertPredictions(db: RegistryDb, rows: readonly PredictionRow[]): Promise<void> {
  if (rows.length === 0) return;
  const k = logDb(db);
  await guarded(db, () => k.transaction().execute(async (trx) => {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const part = rows.slice(start, start + INSERT_CHUNK);
      await trx.insertInto('prediction_log').values(part.map((r) => ({
        id: r.id,
        model_name: r.model,
        version: r.version,
        at: r.at,
        source: r.source,
        inputs: r.inputs,
        outputs: r.outputs,
        latency_ms: r.latencyMs,
        confidence: r.confidence,
        low_confidence: r.lowConfidence ? 1 : 0,
      }))).execute();
    }
  }));
}

/**
 * Read logged predictions in chunks, oldest first (keyset pagination on `(at, id)` over the
 * `(model_name, at, id)` index, so memory stays bounded and each chunk is one query).
 */
export async function* readPredictionChunks(db: RegistryDb, query: PredictionQuery, options: ReadOptions = {}): AsyncGenerator<LoggedPrediction[]> {
  const chunkSize = options.chunkSize ?? 5000;
  const parseInputs = options.inputs ?? true;
  const parseOutputs = options.outputs ?? true;
  const k = logDb(db);
  let from = await startOf(db, query);
  if (from === null) return;
  for (;;) {
    const after = from;
    const rows = await guarded(db, () => {
      let q = filtered(k, query);
      if (after !== undefined) {
        q = after.inclusive
          ? q.where(sql<boolean>`(at, id) >= (${after.at}, ${after.id})`)
          : q.where(sql<boolean>`(at, id) > (${after.at}, ${after.id})`);
      }
      return q.selectAll().orderBy('at').orderBy('id').limit(chunkSize).execute();
    });
    if (rows.length === 0) return;
    yield rows.map((r) => toPrediction(r, parseInputs, parseOutputs));
    if (rows.length < chunkSize) return;
    const tail = rows[rows.length - 1] as PredictionLogTable;
    from = { at: Number(tail.at), id: tail.id, inclusive: false };
  }
}

/** Read logged predictions one by one, oldest first (see `readPredictionChunks` for speed). */
export async function* readPredictions(db: RegistryDb, query: PredictionQuery, options: ReadOptions = {}): AsyncGenerator<LoggedPrediction> {
  for await (const chunk of readPredictionChunks(db, query, options)) yield* chunk;
}

/** Every matching prediction in one array (convenient for tests and small windows). */
export async function listPredictions(db: RegistryDb, query: PredictionQuery, options: ReadOptions = {}): Promise<LoggedPrediction[]> {
  const out: LoggedPrediction[] = [];
  for await (const chunk of readPredictionChunks(db, query, options)) out.push(...chunk);
  return out;
}

/** One prediction by id, or undefined. */
export async function getPrediction(db: RegistryDb, id: string): Promise<LoggedPrediction | undefined> {
  const row = await guarded(db, () => logDb(db).selectFrom('prediction_log').selectAll().where('id', '=', id).executeTakeFirst());
  return row ? toPrediction(row, true, true) : undefined;
}

/** How many predictions match, how many carry ground truth and how many are low-confidence. */
export async function countPredictions(db: RegistryDb, query: PredictionQuery): Promise<{ total: number; labelled: number; lowConfidence: number }> {
  if (query.last !== undefined) {
    let total = 0;
    let labelled = 0;
    let low = 0;
    for await (const chunk of readPredictionChunks(db, query, { inputs: false, outputs: false })) {
      for (const p of chunk) {
        total++;
        if (p.actual !== undefined) labelled++;
        if (p.lowConfidence) low++;
      }
    }
    return { total, labelled, lowConfidence: low };
  }
  const row = await guarded(db, () => filtered(logDb(db), query)
    .select((eb) => [
      eb.fn.countAll<number | string>().as('total'),
      eb.fn.count<number | string>('actual').as('labelled'),
      eb.fn.sum<number | string | null>('low_confidence').as('low'),
    ])
    .executeTakeFirstOrThrow());
  return { total: Number(row.total), labelled: Number(row.labelled), lowConfidence: Number(row.low ?? 0) };
}

/** Delete predictions scored before `before` (epoch ms); returns how many. */
export async function deletePredictionsBefore(db: RegistryDb, before: number): Promise<number> {
  const result = await guarded(db, () => logDb(db).deleteFrom('prediction_log').where('at', '<', before).executeTakeFirst());
  return Number(result.numDeletedRows);
}

function filtered(k: Kysely<RegistryDatabase & PredictionLogTables>, query: PredictionQuery) {
  let q = k.selectFrom('prediction_log').where('model_name', '=', query.model);
  if (query.version !== undefined) q = q.where('version', '=', query.version);
  if (query.since !== undefined) q = q.where('at', '>=', ms(query.since));
  if (query.until !== undefined) q = q.where('at', '<', ms(query.until));
  if (query.labelled !== undefined) q = q.where('actual', query.labelled ? 'is not' : 'is', null);
  if (query.lowConfidence !== undefined) q = q.where('low_confidence', '=', query.lowConfidence ? 1 : 0);
  return q;
}

/** Where reading starts: undefined = the beginning; null = nothing to read; for `last`, the Nth newest row. */
async function startOf(db: RegistryDb, query: PredictionQuery): Promise<{ at: number; id: string; inclusive: boolean } | undefined | null> {
  if (query.last === undefined) return undefined;
  if (query.last <= 0) return null;
  const last = query.last;
  const row = await guarded(db, () => filtered(logDb(db), query)
    .select(['at', 'id']).orderBy('at', 'desc').orderBy('id', 'desc').offset(last - 1).limit(1).executeTakeFirst());
  if (row) return { at: Number(row.at), id: row.id, inclusive: true };
  return undefined; // fewer than N rows: read them all
}

function ms(t: number | Date): number {
  return typeof t === 'number' ? t : t.getTime();
}

function toPrediction(r: PredictionLogTable, parseInputs: boolean, parseOutputs: boolean): LoggedPrediction {
  const base = {
    id: r.id,
    model: r.model_name,
    version: Number(r.version),
    at: Number(r.at),
    source: r.source,
    inputs: parseInputs ? JSON.parse(r.inputs) as Record<string, unknown> : {},
    outputs: parseOutputs ? JSON.parse(r.outputs) as Record<string, unknown> : {},
    latencyMs: Number(r.latency_ms),
    confidence: r.confidence === null ? null : Number(r.confidence),
    lowConfidence: Number(r.low_confidence) === 1,
  };
  if (r.actual === null) return base;
  return { ...base, actual: JSON.parse(r.actual) as unknown, ...(r.actual_at !== null ? { actualAt: Number(r.actual_at) } : {}) };
}

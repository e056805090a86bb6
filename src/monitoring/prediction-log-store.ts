import { setImmediate as nextTurn } from 'node:timers/promises';
import { CompiledQuery, sql, type Kysely } from '../vendor/kysely.js';
import type { ModelSignature } from '../core/signature.js';
import { guarded, type RegistryDb, type SqlCapabilities } from '../registry/registry-db.js';
import type { RegistryDatabase } from '../registry/schema.js';
import { unpackRow } from './log-encode.js';

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
  /** JSON object: feature (column) name → value; numeric tensor rows packed as `"@input": "float32:<base64>"`. */
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
  /** JSON `{"space": "margin", "contributions": {feature: value or [per class]}}` when the row was explained (migration 0009). */
  attributions: string | null;
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
  /** The row's explanation, when it was explained and read with `attributions: true`. */
  readonly attributions?: LoggedAttributions;
}

/** A logged explanation: the output space and each input column's contribution (one per class for several classes). */
export interface LoggedAttributions {
  readonly space: string;
  readonly contributions: Readonly<Record<string, number | number[] | null>>;
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
  /** Only explained predictions (true) or only the others (false). */
  readonly explained?: boolean | undefined;
}

/** What to decode per row; leaving out what a caller does not need saves JSON parsing. */
export interface ReadOptions {
  /** Rows per database round trip (default 5000). */
  readonly chunkSize?: number;
  /** Parse `inputs` (default true); when false, `inputs` is `{}`. */
  readonly inputs?: boolean;
  /** Parse `outputs` (default true); when false, `outputs` is `{}`; 'labelled': only for rows with ground truth. */
  readonly outputs?: boolean | 'labelled';
  /** Parse `attributions` (default false). */
  readonly attributions?: boolean;
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
  /** JSON object text (LoggedAttributions), or null/absent when the row was not explained. */
  readonly attributions?: string | null;
}

/** The Kysely handle typed with the prediction log's table. */
export function logDb(db: RegistryDb): Kysely<RegistryDatabase & PredictionLogTables> {
  return db.kysely.withTables<PredictionLogTables>();
}


const INSERT_CHUNK = 200;
const INSERT_COLUMNS = '(id, model_name, version, at, source, inputs, outputs, latency_ms, confidence, low_confidence, attributions)';
const COLUMNS = 11;
const insertSql = new WeakMap<SqlCapabilities, Map<number, string>>();

/**
 * The text of a multi-row INSERT of `n` rows. Built by hand and cached: Kysely's query builder
 * costs tens of µs per row for a 1000-row insert, more than the database's own work.
 */
function insertText(capabilities: SqlCapabilities, n: number): string {
  let texts = insertSql.get(capabilities);
  if (texts === undefined) insertSql.set(capabilities, texts = new Map<number, string>());
  let text = texts.get(n);
  if (text === undefined) {
    const tuples = Array.from({ length: n }, (_, i) => `(${Array.from({ length: COLUMNS }, (_, j) => capabilities.parameter(i * COLUMNS + j + 1)).join(', ')})`);
    // Ids made elsewhere (edge packages' reports) may come twice when a post is retried: the first is kept.
    text = `insert into prediction_log ${INSERT_COLUMNS} values ${tuples.join(', ')} on conflict (id) do nothing`;
    texts.set(n, text);
  }
  return text;
}

/** Insert rows (multi-row INSERTs of up to 200 rows, all in one transaction). */
export async function insertPredictions(db: RegistryDb, rows: readonly PredictionRow[]): Promise<void> {
  if (rows.length === 0) return;
  await guarded(db, () => db.kysely.transaction().execute(async (trx) => {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const end = Math.min(rows.length, start + INSERT_CHUNK);
      const params: unknown[] = new Array<unknown>((end - start) * COLUMNS);
      let j = 0;
      for (let i = start; i < end; i++) {
        const r = rows[i] as PredictionRow;
        params[j++] = r.id;
        params[j++] = r.model;
        params[j++] = r.version;
        params[j++] = r.at;
        params[j++] = r.source;
        params[j++] = r.inputs;
        params[j++] = r.outputs;
        params[j++] = r.latencyMs;
        params[j++] = r.confidence;
        params[j++] = r.lowConfidence ? 1 : 0;
        params[j++] = r.attributions ?? null;
      }
      await trx.executeQuery(CompiledQuery.raw(insertText(db.capabilities, end - start), params));
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
  const parseAttributions = options.attributions ?? false;
  const k = logDb(db);
  const signatures = new Signatures(db, query.model);
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
    if (parseInputs) await signatures.load(rows);
    yield rows.map((r) => toPrediction(r, parseInputs, parseOutputs, signatures, parseAttributions));
    if (rows.length < chunkSize) return;
    // A SQLite query resolves without giving the event loop a turn: give it one between chunks,
    // so a long read inside the server never holds requests for more than one chunk.
    await nextTurn();
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
  if (!row) return undefined;
  const signatures = new Signatures(db, row.model_name);
  await signatures.load([row]);
  return toPrediction(row, true, true, signatures, true);
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
  if (query.explained !== undefined) q = q.where('attributions', query.explained ? 'is not' : 'is', null);
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

/** The signatures of the logged versions of one model: they name the elements of packed tensor rows. */
class Signatures {
  readonly #db: RegistryDb;
  readonly #model: string;
  readonly #byVersion = new Map<number, ModelSignature | null>();

  constructor(db: RegistryDb, model: string) {
    this.#db = db;
    this.#model = model;
  }

  async load(rows: readonly PredictionLogTable[]): Promise<void> {
    const missing = [...new Set(rows.map((r) => Number(r.version)))].filter((v) => !this.#byVersion.has(v));
    if (missing.length === 0) return;
    const found = await guarded(this.#db, () => this.#db.kysely.selectFrom('model_versions').select(['version', 'signature'])
      .where('model_name', '=', this.#model).where('version', 'in', missing).execute());
    for (const v of missing) this.#byVersion.set(v, null); // deleted versions: unnamed arrays
    for (const f of found) this.#byVersion.set(Number(f.version), JSON.parse(f.signature) as ModelSignature);
  }

  get(version: number): ModelSignature | null {
    return this.#byVersion.get(version) ?? null;
  }
}

/** Inputs as stored → feature name → value (packed tensor rows named after their columns). */
function decodeInputs(text: string, signature: ModelSignature | null): Record<string, unknown> {
  const raw = JSON.parse(text) as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const key in raw) {
    const value = raw[key];
    if (key.charCodeAt(0) !== 64 /* @ */ || typeof value !== 'string') {
      if (out) out[key] = value;
      continue;
    }
    if (!out) {
      out = {};
      for (const k in raw) {
        if (k === key) break;
        out[k] = raw[k];
      }
    }
    const name = key.slice(1);
    const values = unpackRow(value);
    if (!values) {
      out[name] = value;
      continue;
    }
    const columns = signature?.inputs.find((i) => i.name === name)?.columns;
    if (columns && columns.length === values.length) for (let j = 0; j < values.length; j++) out[columns[j] as string] = values[j];
    else out[name] = values.length === 1 ? values[0] : values;
  }
  return out ?? raw;
}

function toPrediction(r: PredictionLogTable, parseInputs: boolean, parseOutputs: boolean | 'labelled', signatures: Signatures, parseAttributions: boolean): LoggedPrediction {
  const base = {
    id: r.id,
    model: r.model_name,
    version: Number(r.version),
    at: Number(r.at),
    source: r.source,
    inputs: parseInputs ? decodeInputs(r.inputs, signatures.get(Number(r.version))) : {},
    outputs: parseOutputs === true || (parseOutputs === 'labelled' && r.actual !== null) ? JSON.parse(r.outputs) as Record<string, unknown> : {},
    latencyMs: Number(r.latency_ms),
    confidence: r.confidence === null ? null : Number(r.confidence),
    lowConfidence: Number(r.low_confidence) === 1,
    ...(parseAttributions && r.attributions ? { attributions: JSON.parse(r.attributions) as LoggedAttributions } : {}),
  };
  if (r.actual === null) return base;
  return { ...base, actual: JSON.parse(r.actual) as unknown, ...(r.actual_at !== null ? { actualAt: Number(r.actual_at) } : {}) };
}

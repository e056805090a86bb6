import { CompiledQuery, sql, type Kysely } from '../vendor/kysely.js';
import type { ModelSignature } from '../core/signature.js';
import { guarded, type RegistryDb, type SqlCapabilities } from '../registry/registry-db.js';
import type { RegistryDatabase } from '../registry/schema.js';
import { unpackRow } from './log-encode.js';
import { MAX_BLOCK_SPAN_MS } from './log-block.js';
import { BlockRows, filtered, findInBlocks, hasBlocks, logKysely, scanLog, type LogKey, type LogKysely, type ScanFilter, type StoredRow } from './log-scan.js';

/**
 * The prediction log, in the registry database (SQLite or PostgreSQL): table `prediction_log`
 * (migration 0005), one row per scored row, and on SQLite the blocks of a server's tensor
 * requests (log-block.ts, migration 0010), read merged (log-scan.ts). The server, batch jobs and
 * stream consumers write it through a `PredictionLogger` (prediction-log-writer.ts); this module
 * is the table's format and the read API (drift, live metrics, `ferry monitor log`).
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
 * Read logged predictions in chunks, oldest first: the table by keyset pages on `(at, id)` over
 * the `(model_name, at, id)` index and, on SQLite, the blocks of the window merged in
 * (log-scan.ts), so memory stays bounded.
 */
export async function* readPredictionChunks(db: RegistryDb, query: PredictionQuery, options: ReadOptions = {}): AsyncGenerator<LoggedPrediction[]> {
  const chunkSize = options.chunkSize ?? 5000;
  const parseInputs = options.inputs ?? true;
  const parseOutputs = options.outputs ?? true;
  const parseAttributions = options.attributions ?? false;
  const signatures = new Signatures(db, query.model);
  const f = scanFilter(query);
  const from = await startOf(db, query, f);
  if (from === null) return;
  for await (const rows of scanLog(db, f, 'asc', { from, pageSize: chunkSize, texts: parseInputs || parseOutputs === true })) {
    if (parseInputs) await signatures.load(rows);
    yield rows.map((r) => toPrediction(r, parseInputs, parseOutputs, signatures, parseAttributions));
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

/** A logged prediction as JSON answers and `--json` print it: times as ISO 8601 text. */
export function predictionJson(p: LoggedPrediction): Omit<LoggedPrediction, 'at' | 'actualAt'> & { at: string; actualAt?: string } {
  const { actualAt, ...rest } = p;
  return { ...rest, at: new Date(p.at).toISOString(), ...(actualAt !== undefined ? { actualAt: new Date(actualAt).toISOString() } : {}) };
}

/** One prediction by id, or undefined. */
export async function getPrediction(db: RegistryDb, id: string): Promise<LoggedPrediction | undefined> {
  const k = logKysely(db);
  let row: PredictionLogTable | undefined = await guarded(db, () => k.selectFrom('prediction_log').selectAll().where('id', '=', id).executeTakeFirst());
  if (!row) {
    const reader = new BlockRows(db, k, true);
    const found = (await findInBlocks(db, k, [id], reader)).get(id);
    if (found) row = await reader.row(found.block, found.decoded, found.row);
  }
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
  const f = scanFilter(query);
  const k = logKysely(db);
  const row = await guarded(db, () => filtered(k, f)
    .select((eb) => [
      eb.fn.countAll<number | string>().as('total'),
      eb.fn.count<number | string>('actual').as('labelled'),
      eb.fn.sum<number | string | null>('low_confidence').as('low'),
    ])
    .executeTakeFirstOrThrow());
  const blocks = await countBlocks(db, k, f);
  return { total: Number(row.total) + blocks.total, labelled: Number(row.labelled), lowConfidence: Number(row.low ?? 0) + blocks.low };
}

/**
 * Block rows matching `f` (no ground truth, no explanation in blocks): the counts kept per block
 * for blocks wholly inside the window, the rows themselves for the few across its edges.
 */
async function countBlocks(db: RegistryDb, k: LogKysely, f: ScanFilter): Promise<{ total: number; low: number }> {
  if (!hasBlocks(db) || f.labelled === true || f.explained === true) return { total: 0, low: 0 };
  const since = f.since === undefined ? undefined : Math.ceil(f.since);
  const until = f.until;
  const inside = await guarded(db, () => {
    let q = k.selectFrom('prediction_block').where('model_name', '=', f.model);
    if (f.version !== undefined) q = q.where('version', '=', f.version);
    if (since !== undefined) q = q.where('first_at', '>=', since);
    if (until !== undefined) q = q.where('last_at', '<', until);
    return q.select((eb) => [
      eb.fn.sum<number | string | null>(sql`rows - dead_rows`).as('total'),
      eb.fn.sum<number | string | null>(sql`low - dead_low`).as('low'),
    ]).executeTakeFirstOrThrow();
  });
  const all = Number(inside.total ?? 0);
  const lowInside = Number(inside.low ?? 0);
  let total = f.lowConfidence === undefined ? all : f.lowConfidence ? lowInside : all - lowInside;
  let low = f.lowConfidence === false ? 0 : lowInside;
  if (since === undefined && until === undefined) return { total, low };
  // Blocks across an edge of the window: count their rows inside it.
  const reader = new BlockRows(db, k, false);
  const edges = await guarded(db, () => {
    let q = k.selectFrom('prediction_block').selectAll().where('model_name', '=', f.model);
    if (f.version !== undefined) q = q.where('version', '=', f.version);
    if (f.since !== undefined) q = q.where('last_at', '>=', Math.floor(f.since)).where('first_at', '>=', Math.floor(f.since) - MAX_BLOCK_SPAN_MS - 2);
    if (f.until !== undefined) q = q.where('first_at', '<', Math.ceil(f.until)).where('last_at', '<', Math.ceil(f.until) + MAX_BLOCK_SPAN_MS + 2);
    const across = [
      ...(since !== undefined ? [sql<boolean>`first_at < ${since}`] : []),
      ...(until !== undefined ? [sql<boolean>`last_at >= ${until}`] : []),
    ];
    return q.where(sql<boolean>`(${sql.join(across, sql` or `)})`).execute();
  });
  for (const block of edges) {
    for (const r of await reader.rows(block)) {
      if ((f.since !== undefined && r.at < f.since) || (f.until !== undefined && r.at >= f.until)) continue;
      const isLow = r.low_confidence === 1;
      if (f.lowConfidence !== undefined && isLow !== f.lowConfidence) continue;
      total++;
      if (isLow) low++;
    }
  }
  return { total, low };
}

/**
 * Delete predictions scored before `before` (epoch ms); returns how many. Blocks go whole: one
 * that still holds a row at or after `before` stays (its rows are at most MAX_BLOCK_SPAN_MS older).
 */
export async function deletePredictionsBefore(db: RegistryDb, before: number): Promise<number> {
  const k = logKysely(db);
  const result = await guarded(db, () => k.deleteFrom('prediction_log').where('at', '<', before).executeTakeFirst());
  let deleted = Number(result.numDeletedRows);
  if (hasBlocks(db)) {
    deleted += await guarded(db, () => k.transaction().execute(async (trx) => {
      const gone = await trx.selectFrom('prediction_block').where('last_at', '<', before)
        .select((eb) => eb.fn.sum<number | string | null>(sql`rows - dead_rows`).as('rows')).executeTakeFirstOrThrow();
      await trx.deleteFrom('prediction_block').where('last_at', '<', before).execute();
      return Number(gone.rows ?? 0);
    }));
  }
  return deleted;
}

function scanFilter(query: PredictionQuery): ScanFilter {
  return {
    model: query.model, version: query.version,
    since: query.since === undefined ? undefined : ms(query.since), until: query.until === undefined ? undefined : ms(query.until),
    labelled: query.labelled, lowConfidence: query.lowConfidence, explained: query.explained,
  };
}

/** Where reading starts: undefined = the beginning; null = nothing to read; for `last`, the Nth newest row. */
async function startOf(db: RegistryDb, query: PredictionQuery, f: ScanFilter): Promise<(LogKey & { inclusive: boolean }) | undefined | null> {
  if (query.last === undefined) return undefined;
  if (query.last <= 0) return null;
  let seen = 0;
  for await (const rows of scanLog(db, f, 'desc', { pageSize: Math.min(query.last, 5000), texts: false })) {
    if (seen + rows.length >= query.last) {
      const row = rows[query.last - seen - 1] as StoredRow;
      return { at: row.at, id: row.id, inclusive: true };
    }
    seen += rows.length;
  }
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

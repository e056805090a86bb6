import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { asFerryError } from '../core/errors.js';
import type { RegistryDb } from '../registry/registry-db.js';
import { insertPredictions, type PredictionRow } from './prediction-log.js';

/** Where encoded prediction rows go. */
export interface LogSink {
  /** A new batch: rows are added one by one (no row object is kept), then sent together. */
  batch(): LogBatch;
  close(): Promise<void>;
}

/** One flush's rows, on their way to the database. */
export interface LogBatch {
  add(id: string, model: string, version: number, at: number, source: string, inputs: string, outputs: string, latencyMs: number, confidence: number | null, lowConfidence: boolean): void;
  send(): Promise<void>;
}

/** Rows kept as objects, for the PostgreSQL pool. */
class RowBatch implements LogBatch {
  readonly #rows: PredictionRow[] = [];
  readonly #db: RegistryDb;
  constructor(db: RegistryDb) { this.#db = db; }
  add(id: string, model: string, version: number, at: number, source: string, inputs: string, outputs: string, latencyMs: number, confidence: number | null, lowConfidence: boolean): void {
    this.#rows.push({ id, model, version, at, source, inputs, outputs, latencyMs, confidence, lowConfidence });
  }
  send(): Promise<void> { return insertPredictions(this.#db, this.#rows); }
}

/**
 * The sink for a registry database: on SQLite a writer thread with its own connection (the
 * inserts — B-tree and WAL work, ~5–10 µs a row — stay off the event loop, and a busy
 * database never stalls requests); on PostgreSQL the pool (the database does the work).
 */
export function openLogSink(db: RegistryDb): LogSink {
  if (db.capabilities.file) return new SqliteWorkerSink(db, db.capabilities.file);
  return { batch: () => new RowBatch(db), close: () => Promise.resolve() };
}

const COLUMNS = 10;
/** Separators of the batch text sent to the writer thread (JSON and base64 never contain them raw). */
const FIELD = '\u001f';
const ROW = '\u001e';

/**
 * The writer thread's code, run with `eval` so that built and source (tsx) runs share it
 * without a loader. It prepares each INSERT once and writes every batch in one IMMEDIATE
 * transaction. `synchronous = NORMAL` (WAL): a power cut may lose the newest batches of the
 * log, never corrupt the registry.
 */
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -16000');
const CHUNK = 128;
const head = 'insert into prediction_log (id, model_name, version, at, source, inputs, outputs, latency_ms, confidence, low_confidence) values ';
const tuple = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const many = db.prepare(head + new Array(CHUNK).fill(tuple).join(', '));
const one = db.prepare(head + tuple);
const chunk = new Array(CHUNK * ${COLUMNS});
const row = new Array(${COLUMNS});
// A batch arrives as one string and one Float64Array, both moved rather than cloned per value:
// the string holds id, model, source, inputs and outputs of each row (fields separated by US,
// rows by RS); the array holds version, at, latency, confidence (NaN = none) and the flag, five
// per row (no number is printed and parsed again). They are cut into the bound parameters of
// one CHUNK-row INSERT at a time (two reused arrays: no per-row array, no slice).
let p = 0;
function fill(out, o, text, nums, r) {
  let e = text.indexOf('\u001f', p); out[o] = text.slice(p, e); p = e + 1;
  e = text.indexOf('\u001f', p); out[o + 1] = text.slice(p, e); p = e + 1;
  e = text.indexOf('\u001f', p); out[o + 4] = text.slice(p, e); p = e + 1;
  e = text.indexOf('\u001f', p); out[o + 5] = text.slice(p, e); p = e + 1;
  e = text.indexOf('\u001e', p); if (e < 0) e = text.length; out[o + 6] = text.slice(p, e); p = e + 1;
  const n = r * 5;
  const c = nums[n + 3];
  out[o + 2] = nums[n]; out[o + 3] = nums[n + 1]; out[o + 7] = nums[n + 2]; out[o + 8] = c === c ? c : null; out[o + 9] = nums[n + 4];
}
const insert = db.transaction((text, nums, rows) => {
  p = 0;
  let i = 0;
  for (; i + CHUNK <= rows; i += CHUNK) {
    for (let r = 0; r < CHUNK; r++) fill(chunk, r * ${COLUMNS}, text, nums, i + r);
    many.run(chunk);
  }
  for (; i < rows; i++) {
    fill(row, 0, text, nums, i);
    one.run(row);
  }
});
parentPort.on('message', (m) => {
  if (m.close) { db.close(); process.exit(0); }
  try {
    insert.immediate(m.text, new Float64Array(m.nums), m.rows);
    parentPort.postMessage({ id: m.id, ok: true });
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, code: e && e.code, message: String(e && e.message || e) });
  }
});
`;

interface Reply { id: number; ok: boolean; code?: string; message?: string }

class SqliteWorkerSink implements LogSink {
  readonly #db: RegistryDb;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (err: unknown) => void }>();
  #next = 0;
  #failed: Error | undefined;

  constructor(db: RegistryDb, sqlite: NonNullable<RegistryDb['capabilities']['file']>) {
    this.#db = db;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_CODE, { eval: true, workerData: { driver, path: sqlite.path, busyTimeoutMs: sqlite.busyTimeoutMs } });
    this.#worker.unref();
    this.#worker.on('message', (r: Reply) => {
      const p = this.#pending.get(r.id);
      this.#pending.delete(r.id);
      // Only pending writes keep the process alive; an idle writer thread never does.
      if (this.#pending.size === 0) this.#worker.unref();
      if (!p) return;
      if (r.ok) p.resolve();
      else p.reject(this.#db.mapError({ code: r.code, message: r.message }) ?? asFerryError(new Error(r.message)));
    });
    const fail = (err: unknown) => {
      this.#failed = err instanceof Error ? err : new Error(String(err));
      for (const p of this.#pending.values()) p.reject(this.#failed);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', () => fail(new Error('the prediction log writer thread exited')));
  }

  batch(): LogBatch {
    return new TextBatch(this);
  }

  /** Send one batch of `rows` rows to the writer thread (`nums` is moved, not copied). */
  send(text: string, nums: Float64Array, rows: number): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (rows === 0) return Promise.resolve();
    const id = this.#next++;
    return new Promise<void>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      const buffer = nums.buffer as ArrayBuffer;
      this.#worker.postMessage({ id, text, nums: buffer, rows }, [buffer]);
    });
  }

  async close(): Promise<void> {
    if (this.#failed) return;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.ref(); // keep the process alive until the thread has closed its connection
    this.#worker.postMessage({ close: true });
    await exited;
  }
}

/** Rows appended to one string and one Float64Array as they are added (see WORKER_CODE for the layout). */
class TextBatch implements LogBatch {
  readonly #sink: SqliteWorkerSink;
  #text = '';
  #nums = new Float64Array(5 * 256);
  #rows = 0;
  constructor(sink: SqliteWorkerSink) { this.#sink = sink; }
  add(id: string, model: string, version: number, at: number, source: string, inputs: string, outputs: string, latencyMs: number, confidence: number | null, lowConfidence: boolean): void {
    this.#text += (this.#rows > 0 ? ROW : '') + id + FIELD + model + FIELD + source + FIELD + inputs + FIELD + outputs;
    let n = this.#rows++ * 5;
    if (n + 5 > this.#nums.length) {
      const grown = new Float64Array(this.#nums.length * 2);
      grown.set(this.#nums);
      this.#nums = grown;
    }
    const nums = this.#nums;
    nums[n++] = version;
    nums[n++] = at;
    nums[n++] = latencyMs;
    nums[n++] = confidence ?? Number.NaN;
    nums[n] = lowConfidence ? 1 : 0;
  }
  send(): Promise<void> { return this.#sink.send(this.#text, this.#nums.subarray(0, this.#rows * 5).slice(), this.#rows); }
}

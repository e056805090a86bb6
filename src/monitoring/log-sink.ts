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
  if (db.sqlite) return new SqliteWorkerSink(db, db.sqlite);
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
// A batch arrives as one string (one copy to cross threads, instead of a structured clone per
// value): rows separated by RS, fields by US; version, at, latency, confidence and flag are
// numbers. It is cut into the bound parameters of one CHUNK-row INSERT at a time (two reused
// arrays: no per-row array, no slice).
function fill(out, o, text, start) {
  let p = start;
  for (let k = 0; k < ${COLUMNS}; k++) {
    let e = k < ${COLUMNS - 1} ? text.indexOf('\u001f', p) : text.indexOf('\u001e', p);
    if (e < 0) e = text.length;
    const f = text.slice(p, e);
    out[o + k] = k === 2 || k === 3 || k === 7 || k === 9 ? Number(f) : k === 8 ? (f === '' ? null : Number(f)) : f;
    p = e + 1;
  }
  return p;
}
const insert = db.transaction((text, rows) => {
  let p = 0;
  let i = 0;
  for (; i + CHUNK <= rows; i += CHUNK) {
    for (let r = 0; r < CHUNK; r++) p = fill(chunk, r * ${COLUMNS}, text, p);
    many.run(chunk);
  }
  for (; i < rows; i++) {
    p = fill(row, 0, text, p);
    one.run(row);
  }
});
parentPort.on('message', (m) => {
  if (m.close) { db.close(); process.exit(0); }
  try {
    insert.immediate(m.text, m.rows);
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

  constructor(db: RegistryDb, sqlite: NonNullable<RegistryDb['sqlite']>) {
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

  /** Send one batch text of `rows` rows to the writer thread. */
  send(text: string, rows: number): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (rows === 0) return Promise.resolve();
    const id = this.#next++;
    return new Promise<void>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, text, rows });
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

/** Rows appended to one string as they are added (see WORKER_CODE for the layout). */
class TextBatch implements LogBatch {
  readonly #sink: SqliteWorkerSink;
  #text = '';
  #rows = 0;
  constructor(sink: SqliteWorkerSink) { this.#sink = sink; }
  add(id: string, model: string, version: number, at: number, source: string, inputs: string, outputs: string, latencyMs: number, confidence: number | null, lowConfidence: boolean): void {
    this.#text += (this.#rows++ > 0 ? ROW : '') + id + FIELD + model + FIELD + version + FIELD + at + FIELD + source + FIELD + inputs + FIELD + outputs
      + FIELD + latencyMs + FIELD + (confidence === null ? '' : confidence) + FIELD + (lowConfidence ? '1' : '0');
  }
  send(): Promise<void> { return this.#sink.send(this.#text, this.#rows); }
}

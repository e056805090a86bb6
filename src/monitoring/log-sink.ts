import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { asFerryError } from '../core/errors.js';
import type { RegistryDb } from '../registry/registry-db.js';
import { insertPredictions, type PredictionRow } from './prediction-log.js';

/** Where encoded prediction rows go. */
export interface LogSink {
  write(rows: readonly PredictionRow[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The sink for a registry database: on SQLite a writer thread with its own connection (the
 * inserts — B-tree and WAL work, ~5–10 µs a row — stay off the event loop, and a busy
 * database never stalls requests); on PostgreSQL the pool (the database does the work).
 */
export function openLogSink(db: RegistryDb): LogSink {
  if (db.sqlite) return new SqliteWorkerSink(db, db.sqlite);
  return { write: (rows) => insertPredictions(db, rows), close: () => Promise.resolve() };
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
const CHUNK = 64;
const head = 'insert into prediction_log (id, model_name, version, at, source, inputs, outputs, latency_ms, confidence, low_confidence) values ';
const tuple = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const many = db.prepare(head + new Array(CHUNK).fill(tuple).join(', '));
const one = db.prepare(head + tuple);
const insert = db.transaction((values) => {
  const rows = values.length / ${COLUMNS};
  let i = 0;
  for (; i + CHUNK <= rows; i += CHUNK) many.run(values.slice(i * ${COLUMNS}, (i + CHUNK) * ${COLUMNS}));
  for (; i < rows; i++) one.run(values.slice(i * ${COLUMNS}, (i + 1) * ${COLUMNS}));
});
// A batch arrives as one string (one copy to cross threads, instead of a structured clone per
// value): rows separated by RS, fields by US; version, at, latency, confidence and flag are numbers.
function parse(text) {
  const rows = text.split('\u001e');
  const values = new Array(rows.length * ${COLUMNS});
  let j = 0;
  for (const row of rows) {
    const f = row.split('\u001f');
    values[j++] = f[0]; values[j++] = f[1]; values[j++] = Number(f[2]); values[j++] = Number(f[3]); values[j++] = f[4];
    values[j++] = f[5]; values[j++] = f[6]; values[j++] = Number(f[7]); values[j++] = f[8] === '' ? null : Number(f[8]); values[j++] = Number(f[9]);
  }
  return values;
}
parentPort.on('message', (m) => {
  if (m.close) { db.close(); process.exit(0); }
  try {
    insert.immediate(parse(m.text));
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

  write(rows: readonly PredictionRow[]): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (rows.length === 0) return Promise.resolve();
    let text = '';
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as PredictionRow;
      text += (i > 0 ? ROW : '') + r.id + FIELD + r.model + FIELD + r.version + FIELD + r.at + FIELD + r.source + FIELD + r.inputs + FIELD + r.outputs
        + FIELD + r.latencyMs + FIELD + (r.confidence === null ? '' : r.confidence) + FIELD + (r.lowConfidence ? '1' : '0');
    }
    const id = this.#next++;
    return new Promise<void>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, text });
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

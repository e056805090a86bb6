import { Worker } from 'node:worker_threads';
import { asFerryError } from '../core/errors.js';
import type { RegistryDb } from '../registry/registry-db.js';
import { FIELD, NUMS_PER_ROW, ROW, type WriterReply, type WriterRequest, type WriterThreadData } from './log-writer-protocol.js';
import { insertPredictions, type PredictionRow } from './prediction-log-store.js';

/** Where encoded prediction rows go. */
export interface LogSink {
  /** A new batch: rows are added one by one (no row object is kept), then sent together. */
  batch(): LogBatch;
  close(): Promise<void>;
}

/** One flush's rows, on their way to the database. */
export interface LogBatch {
  /** `attributions`: the row's explanation as JSON text, or '' when it was not explained. */
  add(id: string, model: string, version: number, at: number, source: string, inputs: string, outputs: string, latencyMs: number, confidence: number | null, lowConfidence: boolean, attributions: string): void;
  send(): Promise<void>;
}

/** Rows kept as objects, for the PostgreSQL pool. */
class RowBatch implements LogBatch {
  readonly #rows: PredictionRow[] = [];
  readonly #db: RegistryDb;
  constructor(db: RegistryDb) { this.#db = db; }
  add(id: string, model: string, version: number, at: number, source: string, inputs: string, outputs: string, latencyMs: number, confidence: number | null, lowConfidence: boolean, attributions: string): void {
    this.#rows.push({ id, model, version, at, source, inputs, outputs, latencyMs, confidence, lowConfidence, attributions: attributions === '' ? null : attributions });
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

// The writer thread is a sibling module: log-writer-thread.js once built; from the TypeScript
// sources (tests under tsx) a small bootstrap registers tsx in the thread first.
const WRITER_THREAD = new URL(import.meta.url.endsWith('.ts') ? './log-writer-thread-dev.mjs' : './log-writer-thread.js', import.meta.url);

class SqliteWorkerSink implements LogSink {
  readonly #db: RegistryDb;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (err: unknown) => void }>();
  #next = 0;
  #failed: Error | undefined;

  constructor(db: RegistryDb, sqlite: NonNullable<RegistryDb['capabilities']['file']>) {
    this.#db = db;
    const data: WriterThreadData = { path: sqlite.path, busyTimeoutMs: sqlite.busyTimeoutMs };
    this.#worker = new Worker(WRITER_THREAD, { workerData: data });
    this.#worker.unref();
    this.#worker.on('message', (r: WriterReply) => {
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
      const request: WriterRequest = { id, text, nums: buffer, rows };
      this.#worker.postMessage(request, [buffer]);
    });
  }

  async close(): Promise<void> {
    if (this.#failed) return;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.ref(); // keep the process alive until the thread has closed its connection
    const request: WriterRequest = { close: true };
    this.#worker.postMessage(request);
    await exited;
  }
}

/** Rows appended to one string and one Float64Array as they are added (layout in log-writer-protocol.ts). */
class TextBatch implements LogBatch {
  readonly #sink: SqliteWorkerSink;
  #text = '';
  #nums = new Float64Array(NUMS_PER_ROW * 256);
  #rows = 0;
  constructor(sink: SqliteWorkerSink) { this.#sink = sink; }
  add(id: string, model: string, version: number, at: number, source: string, inputs: string, outputs: string, latencyMs: number, confidence: number | null, lowConfidence: boolean, attributions: string): void {
    this.#text += (this.#rows > 0 ? ROW : '') + id + FIELD + model + FIELD + source + FIELD + inputs + FIELD + outputs + FIELD + attributions;
    let n = this.#rows++ * NUMS_PER_ROW;
    if (n + NUMS_PER_ROW > this.#nums.length) {
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
  send(): Promise<void> { return this.#sink.send(this.#text, this.#nums.subarray(0, this.#rows * NUMS_PER_ROW).slice(), this.#rows); }
}

import { Worker } from 'node:worker_threads';
import { asFerryError, ferry } from '../core/errors.js';
import type { RegistryDb } from '../registry/registry-db.js';
import type { Tensor } from '../core/tensor.js';
import { RawViews, RowEncoder, type RawLayout } from './log-encode.js';
import { ID_LENGTH } from './log-block.js';
import { DEFAULT_WRITER_NICE, FIELD_BYTE, NUMS_PER_ROW, RAW_ID_BYTES, ROW_BYTE, type WriterReply, type WriterRequest, type WriterThreadData } from './log-writer-protocol.js';
import { insertPredictions, type PredictionRow } from './prediction-log-store.js';

/** Where encoded prediction rows go. */
export interface LogSink {
  /** Whether batches take raw rows (`LogBatch.addRaw`), stored as bytes in blocks (log-block.ts). */
  readonly raw: boolean;
  /** A new batch: rows are added one by one (no row object is kept), then sent together. */
  batch(): LogBatch;
  close(): Promise<void>;
}

/** One flush's rows, on their way to the database. */
export interface LogBatch {
  /** `attributions`: the row's explanation as JSON text, or '' when it was not explained. */
  add(id: string, model: string, version: number, at: number, source: string, inputs: string, outputs: string, latencyMs: number, confidence: number | null, lowConfidence: boolean, attributions: string): void;
  /**
   * The `rows` rows of an entry whose inputs and outputs are numeric tensors of `layout`: their
   * bytes are copied now and stored in the batch's block by the writer thread. Row r has id
   * `ids[r]`, and confidence `confidence[r]` (low when below `minConfidence`). Only when the sink's `raw` is true.
   */
  addRaw(ids: readonly string[], model: string, version: number, at: number, source: string, layout: RawLayout, inputs: Readonly<Record<string, Tensor>>, outputs: Readonly<Record<string, Tensor>>, rows: number, latencyMs: number, confidence: ArrayLike<number> | undefined, minConfidence: number | undefined): void;
  /** Rows added so far. */
  readonly rows: number;
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
  addRaw(): void { throw ferry('FERRY_E_INTERNAL', { detail: 'raw prediction-log rows go to the SQLite writer thread only' }); }
  get rows(): number { return this.#rows.length; }
  send(): Promise<void> { return insertPredictions(this.#db, this.#rows); }
}

/**
 * The sink for a registry database: on SQLite a writer thread with its own connection (blocks
 * and row inserts — ~2.5 µs a logged request for blocks — stay off the event loop, and a busy
 * database never stalls requests); on PostgreSQL the pool (the database does the work).
 */
export function openLogSink(db: RegistryDb, options: { readonly writerNice?: number | undefined } = {}): LogSink {
  if (db.capabilities.file) return new SqliteWorkerSink(db, db.capabilities.file, options.writerNice ?? DEFAULT_WRITER_NICE);
  return { raw: false, batch: () => new RowBatch(db), close: () => Promise.resolve() };
}

// The writer thread is a sibling module: log-writer-thread.js once built; from the TypeScript
// sources (tests under tsx) a small bootstrap registers tsx in the thread first.
const WRITER_THREAD = new URL(import.meta.url.endsWith('.ts') ? './log-writer-thread-dev.mjs' : './log-writer-thread.js', import.meta.url);

class SqliteWorkerSink implements LogSink {
  readonly raw = true;
  readonly #db: RegistryDb;
  /** Layout numbers, and the layouts already sent to the thread. */
  readonly #layouts = new Map<RawLayout, number>();
  readonly #sent = new Set<number>();
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (err: unknown) => void }>();
  #next = 0;
  #failed: Error | undefined;
  /** Raw bytes of the last batch: where the next batch's buffer starts. */
  rawHint = 64 * 1024;
  /** Rows of the last batch: where the next batch's numbers start. */
  rowsHint = 256;
  /** A raw buffer the writer thread gave back, for the next batch (one allocation less per batch). */
  spare: ArrayBuffer | undefined;

  constructor(db: RegistryDb, sqlite: NonNullable<RegistryDb['capabilities']['file']>, nice: number) {
    this.#db = db;
    const data: WriterThreadData = { path: sqlite.path, busyTimeoutMs: sqlite.busyTimeoutMs, nice };
    this.#worker = new Worker(WRITER_THREAD, { workerData: data });
    this.#worker.unref();
    this.#worker.on('message', (r: WriterReply) => {
      if (r.raw && (!this.spare || this.spare.byteLength < r.raw.byteLength)) this.spare = r.raw;
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

  /** A raw buffer of at least `bytes`: the one the thread gave back when it is large enough. */
  takeRaw(bytes: number): Buffer {
    const spare = this.spare;
    this.spare = undefined;
    return spare && spare.byteLength >= bytes ? Buffer.from(spare) : Buffer.allocUnsafeSlow(bytes);
  }

  /** The number of a raw layout (the thread learns it with the first batch that uses it). */
  layoutId(layout: RawLayout): number {
    let id = this.#layouts.get(layout);
    if (id === undefined) {
      id = this.#layouts.size;
      // A bounded table: layouts are few (one per model version and output set); past the bound
      // a new layout is a new number and the old ones stay known to the thread.
      if (id < 10_000) this.#layouts.set(layout, id);
    }
    return id;
  }

  /** Send one batch of `rows` rows to the writer thread (the buffers are moved, not copied). */
  send(text: ArrayBuffer, textBytes: number, nums: Float64Array, raw: ArrayBuffer | undefined, rows: number, used: ReadonlyMap<number, RawLayout>, names: readonly string[]): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (rows === 0) return Promise.resolve();
    const id = this.#next++;
    const layouts: [number, RawLayout][] = [];
    for (const [n, layout] of used) {
      if (this.#sent.has(n)) continue;
      layouts.push([n, layout]);
      this.#sent.add(n);
    }
    return new Promise<void>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      const buffer = nums.buffer as ArrayBuffer;
      const request: WriterRequest = { id, text, textBytes, nums: buffer, raw, rows, layouts, names };
      // A batch of server requests has no text: its empty buffer is cloned, not moved.
      const moved: ArrayBuffer[] = textBytes > 0 ? [text, buffer] : [buffer];
      if (raw) moved.push(raw);
      this.#worker.postMessage(request, moved);
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

/**
 * Rows written as UTF-8 into one growing byte buffer, their numbers into a Float64Array and raw
 * rows' tensor bytes into a third buffer, as they are added (layout in log-writer-protocol.ts);
 * all three are moved to the writer thread. Bytes, not one long string: a string grown by `+=`
 * is a rope of thousands of pieces that `postMessage` flattens and copies on the event loop.
 */
class TextBatch implements LogBatch {
  readonly #sink: SqliteWorkerSink;
  /** Allocated with the first text row (a batch of server requests has none). */
  #text: Buffer = EMPTY;
  #textBytes = 0;
  #textRows = 0;
  #raw: Buffer | undefined;
  #views: RawViews | undefined;
  #rawBytes = 0;
  #nums: Float64Array;
  #rows = 0;
  readonly #used = new Map<number, RawLayout>();
  /** Models and sources of raw rows, numbered. */
  readonly #names: string[] = [];
  readonly #numbers = new Map<string, number>();
  constructor(sink: SqliteWorkerSink) {
    this.#sink = sink;
    this.#nums = new Float64Array(NUMS_PER_ROW * Math.max(256, sink.rowsHint));
  }

  get rows(): number { return this.#rows; }

  add(id: string, model: string, version: number, at: number, source: string, inputs: string, outputs: string, latencyMs: number, confidence: number | null, lowConfidence: boolean, attributions: string): void {
    this.#addText(id, model, source, inputs, outputs, attributions);
    this.#addNums(version, at, latencyMs, confidence, lowConfidence, -1, 0);
  }

  addRaw(ids: readonly string[], model: string, version: number, at: number, source: string, layout: RawLayout, inputs: Readonly<Record<string, Tensor>>, outputs: Readonly<Record<string, Tensor>>, rows: number, latencyMs: number, confidence: ArrayLike<number> | undefined, minConfidence: number | undefined): void {
    const n = this.#sink.layoutId(layout);
    this.#used.set(n, layout);
    const modelName = this.#name(model);
    const sourceName = this.#name(source);
    const rowBytes = RAW_ID_BYTES + layout.bytes;
    const raw = this.#reserveRaw(rowBytes * rows);
    for (let r = 0; r < rows; r++) {
      const at0 = this.#rawBytes;
      writeId(raw, at0, ids[r]!);
      raw.writeUInt32LE(0, at0 + ID_LENGTH);
      this.#rawBytes = RowEncoder.copyRaw(layout, inputs, outputs, r, raw, at0 + RAW_ID_BYTES, this.#views);
      const c = confidence?.[r];
      const value = c !== undefined && Number.isFinite(c) ? c : null;
      this.#addNums(version, at, latencyMs, value, value !== null && minConfidence !== undefined && value < minConfidence, n, at0);
      const nums = this.#nums;
      const o = (this.#rows - 1) * NUMS_PER_ROW;
      nums[o + 7] = modelName;
      nums[o + 8] = sourceName;
    }
  }

  send(): Promise<void> {
    if (this.#rawBytes > 0) this.#sink.rawHint = this.#rawBytes;
    this.#sink.rowsHint = this.#rows;
    return this.#sink.send(this.#text.buffer as ArrayBuffer, this.#textBytes, this.#nums.subarray(0, this.#rows * NUMS_PER_ROW).slice(), this.#raw?.buffer as ArrayBuffer | undefined, this.#rows, this.#used, this.#names);
  }

  /** A model's or source's number in this batch's `names`. */
  #name(name: string): number {
    let n = this.#numbers.get(name);
    if (n === undefined) {
      n = this.#names.push(name) - 1;
      this.#numbers.set(name, n);
    }
    return n;
  }


  #addText(id: string, model: string, source: string, inputs: string, outputs: string, attributions: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; 6 separators.
    const need = 3 * (id.length + model.length + source.length + inputs.length + outputs.length + attributions.length) + 8;
    if (this.#textBytes + need > this.#text.length) this.#text = this.#text === EMPTY ? Buffer.allocUnsafeSlow(Math.max(64 * 1024, need)) : grow(this.#text, this.#textBytes, need);
    const b = this.#text;
    let o = this.#textBytes;
    if (this.#textRows++ > 0) b[o++] = ROW_BYTE;
    o += b.write(id, o); b[o++] = FIELD_BYTE;
    o += b.write(model, o); b[o++] = FIELD_BYTE;
    o += b.write(source, o); b[o++] = FIELD_BYTE;
    if (inputs.length > 0) o += b.write(inputs, o);
    b[o++] = FIELD_BYTE;
    if (outputs.length > 0) o += b.write(outputs, o);
    b[o++] = FIELD_BYTE;
    if (attributions.length > 0) o += b.write(attributions, o);
    this.#textBytes = o;
  }

  #addNums(version: number, at: number, latencyMs: number, confidence: number | null, lowConfidence: boolean, layout: number, rawAt: number): void {
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
    nums[n++] = lowConfidence ? 1 : 0;
    nums[n++] = layout;
    nums[n] = rawAt;
  }

  #reserveRaw(n: number): Buffer {
    if (!this.#raw || this.#rawBytes + n > this.#raw.length) {
      // The first batch's size is a guess; later ones start at the size the last batch reached.
      this.#raw = this.#raw ? grow(this.#raw, this.#rawBytes, n) : this.#sink.takeRaw(Math.max(this.#sink.rawHint, n));
      this.#views = new RawViews(this.#raw.buffer as ArrayBuffer);
    }
    return this.#raw;
  }
}

/**
 * A prediction id into `b` at `o`, byte by byte (no native call for 36 bytes). Raw rows carry
 * generated ids only (`PredictionLogWriter` sends others as text rows): uuid v7s, ID_LENGTH ASCII characters.
 */
function writeId(b: Buffer, o: number, id: string): void {
  for (let i = 0; i < ID_LENGTH; i++) b[o + i] = id.charCodeAt(i);
}

/** No text yet. */
const EMPTY = Buffer.alloc(0);

/** A copy of `b`'s first `used` bytes with room for `need` more (doubling; allocUnsafeSlow: an ArrayBuffer of its own, movable). */
function grow(b: Buffer, used: number, need: number): Buffer {
  const grown = Buffer.allocUnsafeSlow(Math.max(b.length * 2, used + need));
  b.copy(grown, 0, 0, used);
  return grown;
}

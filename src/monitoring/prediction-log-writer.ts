import { randomBytes } from 'node:crypto';
import type { Frame } from '../core/frame.js';
import type { ModelSignature } from '../core/signature.js';
import type { ModelVersion } from '../registry/types.js';
import type { ScoreResult } from '../scoring/scorer.js';
import type { RegistryDb } from '../registry/registry-db.js';
import { confidenceOf, confidenceOutput, type ConfidenceSpec, type ScoredOutputs } from '../scoring/confidence.js';
import { encodeAttributions, RowEncoder, type ExplainedInputs, type ScoredInputs } from './log-encode.js';
import { openLogSink, type LogBatch, type LogSink } from './log-sink.js';
import { deletePredictionsBefore, type PredictionSource } from './prediction-log-store.js';

/** One scored request (or batch chunk, or stream message batch) to log. */
export interface PredictionEntry {
  readonly model: string;
  readonly version: number;
  /** The version's signature: names tensor elements after their columns. */
  readonly signature: ModelSignature;
  readonly source: PredictionSource;
  /** Rows scored (one prediction id each). */
  readonly rows: number;
  readonly inputs: ScoredInputs;
  readonly outputs: ScoredOutputs;
  /** Time to answer the whole request (ms). */
  readonly latencyMs: number;
  /** When it was scored (epoch ms); now when omitted. */
  readonly at?: number;
  /** Per-row confidence when the caller computed it already (for the response). */
  readonly confidence?: ArrayLike<number> | undefined;
  /** This entry's sampling and confidence policy, when the caller decides it (the pipeline's log observer); otherwise the writer's `policy(model)`. */
  readonly policy?: LogPolicy | undefined;
  /** The run's explanation, when it was explained (logged per row in `attributions`). */
  readonly explained?: ExplainedInputs | undefined;
  /** Ids the rows already have (predictions made by an edge package); new uuid v7s when omitted. */
  readonly ids?: readonly string[] | undefined;
}

/**
 * What the server, batch jobs and stream consumers call after scoring. Never blocks and never
 * throws: a numeric-tensor entry is copied as bytes, any other queued by reference, for a background writer.
 *
 * @example
 *   const ids = logger.log({ model, version, signature, source: 'batch', rows: result.rows.length,
 *     inputs: { kind: 'frame', frame, rows: result.rows }, outputs: { kind: 'columns', columns: result.outputs }, latencyMs });
 */
export interface PredictionLogger {
  /** Whether anything of `model` is logged (callers may skip building an entry). */
  enabled(model: string): boolean;
  /**
   * Queue a scored request. Returns one prediction id per row (uuid v7, in row order), or
   * undefined when the model is not logged, the request was sampled out, or the buffer was
   * full (the rows are counted as dropped).
   */
  log(entry: PredictionEntry): readonly string[] | undefined;
}

/**
 * The entry of a scored Frame (batch chunk, stream messages): the rows that were scored (not the
 * rejected ones), their outputs, and the chunk's time split evenly over its rows.
 *
 * @example
 *   const result = await app.scorer.frame(loaded, frame);
 *   logger.log(frameEntry(loaded.version, frame, result, 'batch', performance.now() - started));
 */
export function frameEntry(version: ModelVersion, frame: Frame, result: ScoreResult, source: PredictionSource, latencyMs: number): PredictionEntry {
  const rows = result.rows.length;
  return {
    model: version.model,
    version: version.version,
    signature: version.signature,
    source,
    rows,
    inputs: { kind: 'frame', frame, rows: result.rows },
    outputs: { kind: 'columns', columns: result.outputs },
    latencyMs: rows > 0 ? latencyMs / rows : latencyMs,
  };
}

/** Per-model logging policy. */
export interface LogPolicy {
  /** Share of requests logged, 0..1 (spread evenly: 0.25 logs every 4th request). */
  readonly sample: number;
  /** Confidence: which output, and the minimum below which rows are flagged. */
  readonly confidence?: ConfidenceSpec | undefined;
}

export interface LogWriterOptions {
  /** The policy of a model, or undefined when it is not logged (asked once per model, then remembered); entries may carry their own. Default: none. */
  readonly policy?: ((model: string) => LogPolicy | undefined) | undefined;
  /** Rows the buffer holds before it drops (default 10 000). */
  readonly bufferRows?: number;
  /** Write as soon as this many rows are queued (default 1000). */
  readonly flushRows?: number;
  /** Otherwise write queued rows after this long (ms, default 250). */
  readonly flushIntervalMs?: number;
  /** Delete predictions older than this many days (checked hourly); undefined = keep. */
  readonly retentionDays?: number | undefined;
  /** Steps by which the SQLite writer thread lowers its scheduling priority (0–19; default DEFAULT_WRITER_NICE, 0 = the process's). */
  readonly writerNice?: number | undefined;
  /**
   * Past this share of the buffer (default 0.5), `log` takes requests evenly at the share of room
   * left — all of them at `shedFrom`, none at a full buffer — instead of taking every one until
   * the buffer is full and then none: under overload the log stays a sample spread over time,
   * not bursts. 1 = never sample down. `logWaiting` (batch) waits instead.
   */
  readonly shedFrom?: number | undefined;
  readonly observer?: LogObserver;
}

/** Counters for metrics (the server maps them to Prometheus). */
export interface LogObserver {
  onWritten?(rows: number): void;
  onDropped?(rows: number, reason: 'shed' | 'buffer_full' | 'write_failed'): void;
  onError?(err: unknown): void;
}

/** Counts since start. */
export interface LogStats {
  readonly queued: number;
  readonly written: number;
  readonly dropped: number;
  readonly failed: number;
}

/**
 * The bounded, asynchronous prediction log writer. `log()` copies a request whose inputs and
 * outputs are numeric tensors into the open batch as bytes (the SQLite writer thread turns them
 * into the stored JSON), and queues a reference to any other entry (frames, strings) for the
 * background flush to serialise; the queue is bounded in rows. A flush sends the batch, written
 * with multi-row INSERTs in one transaction. Past `shedFrom` of the buffer requests are sampled
 * down; when it is full, new entries are dropped; both are counted, never waited for. One flush runs at a time.
 */
export class PredictionLogWriter implements PredictionLogger {
  readonly #db: RegistryDb;
  readonly #sink: LogSink;
  readonly #options: LogWriterOptions;
  readonly #bufferRows: number;
  readonly #flushRows: number;
  readonly #flushIntervalMs: number;
  /** Queued rows past which requests are sampled down (bufferRows × shedFrom). */
  readonly #shedRows: number;
  /** Accumulated share of requests to take while sampling down (one taken per whole unit). */
  #shedCredit = 0;
  readonly #queue: PredictionEntry[] = [];
  readonly #ids: (readonly string[])[] = [];
  readonly #at: number[] = [];
  readonly #sampleCounts = new Map<string, number>();
  readonly #policies = new Map<string, LogPolicy | undefined>();
  readonly #encoders = new WeakMap<ModelSignature, RowEncoder>();
  #queuedRows = 0;
  #written = 0;
  #dropped = 0;
  #failed = 0;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #flushing: Promise<void> | undefined;
  /** The batch raw rows are copied into as they are logged (sent by the next flush). */
  #open: LogBatch | undefined;
  #retention: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(db: RegistryDb, options: LogWriterOptions) {
    this.#db = db;
    this.#sink = openLogSink(db, { writerNice: options.writerNice });
    this.#options = options;
    this.#bufferRows = options.bufferRows ?? 10_000;
    this.#flushRows = Math.min(options.flushRows ?? 1000, this.#bufferRows);
    this.#flushIntervalMs = options.flushIntervalMs ?? 250;
    this.#shedRows = Math.min(1, Math.max(0, options.shedFrom ?? 0.5)) * this.#bufferRows;
    if (options.retentionDays !== undefined) {
      const prune = () => { this.prune().catch((err: unknown) => options.observer?.onError?.(err)); };
      prune();
      this.#retention = setInterval(prune, 3_600_000);
      this.#retention.unref();
    }
  }

  enabled(model: string): boolean {
    return !this.#closed && (this.#policy(model)?.sample ?? 0) > 0;
  }

  log(entry: PredictionEntry): readonly string[] | undefined {
    if (this.#closed || entry.rows <= 0) return undefined;
    const policy = entry.policy ?? this.#policy(entry.model);
    if (!policy || !this.#sampled(entry.model, policy.sample)) return undefined;
    if (this.#queuedRows > this.#shedRows && !this.#keep()) {
      this.#dropped += entry.rows;
      this.#options.observer?.onDropped?.(entry.rows, 'shed');
      return undefined;
    }
    return this.#enqueue(entry, false);
  }

  /** While the buffer is past `shedFrom`: take this request? Evenly, at the share of room left. */
  #keep(): boolean {
    const room = this.#bufferRows - this.#queuedRows;
    this.#shedCredit += room <= 0 ? 0 : room / (this.#bufferRows - this.#shedRows);
    if (this.#shedCredit < 1) return false;
    this.#shedCredit -= 1;
    return true;
  }

  /**
   * As `log`, for a caller that can wait (a batch run): instead of dropping when the buffer is
   * full, wait for the writer to catch up. An entry larger than the buffer is taken once the
   * queue is empty.
   */
  async logWaiting(entry: PredictionEntry): Promise<readonly string[] | undefined> {
    if (this.#closed || entry.rows <= 0) return undefined;
    const policy = entry.policy ?? this.#policy(entry.model);
    if (!policy || !this.#sampled(entry.model, policy.sample)) return undefined;
    while (this.#queuedRows > 0 && this.#queuedRows + entry.rows > this.#bufferRows) await this.flush();
    return this.#closed ? undefined : this.#enqueue(entry, true);
  }

  #enqueue(entry: PredictionEntry, force: boolean): readonly string[] | undefined {
    if (!force && this.#queuedRows + entry.rows > this.#bufferRows) {
      this.#dropped += entry.rows;
      this.#options.observer?.onDropped?.(entry.rows, 'buffer_full');
      return undefined;
    }
    const ids = entry.ids?.length === entry.rows ? entry.ids : predictionIds(entry.rows);
    if (!this.#addRaw(entry, ids)) {
      this.#queue.push(entry);
      this.#ids.push(ids);
      this.#at.push(entry.at ?? Date.now());
    }
    this.#queuedRows += entry.rows;
    this.#schedule();
    return ids;
  }

  /**
   * Numeric-tensor entries (the servers' requests) are copied into the open batch now, as bytes:
   * the queue keeps no reference to the request, and the writer thread stores the bytes in a
   * block (log-block.ts). False when the entry is not of that kind or the sink takes rows.
   */
  #addRaw(entry: PredictionEntry, ids: readonly string[]): boolean {
    // Blocks hold generated ids only (ids from elsewhere may repeat and stay in the table).
    if (!this.#sink.raw || entry.explained || entry.ids !== undefined || entry.inputs.kind !== 'tensors' || entry.outputs.kind !== 'tensors') return false;
    const encoder = this.#encoder(entry.signature);
    const layout = encoder.rawLayout(entry.inputs, entry.outputs, entry.rows);
    if (!layout) return false;
    const batch = this.#open ??= this.#sink.batch();
    const confidence = this.#confidence(entry);
    batch.addRaw(ids, entry.model, entry.version, entry.at ?? Date.now(), entry.source, layout, entry.inputs.tensors, entry.outputs.tensors, entry.rows, entry.latencyMs, confidence.values, confidence.min);
    return true;
  }

  /** An entry's per-row confidence (given, or from its policy's output) and the minimum below which a row is flagged. */
  #confidence(e: PredictionEntry): RowConfidence {
    const spec = (e.policy ?? this.#policy(e.model))?.confidence;
    return { values: e.confidence ?? confidenceOf(confidenceOutput(e.signature, spec), e.outputs, e.rows), min: spec?.min };
  }

  #encoder(signature: ModelSignature): RowEncoder {
    let encoder = this.#encoders.get(signature);
    if (!encoder) {
      encoder = new RowEncoder(signature);
      this.#encoders.set(signature, encoder);
    }
    return encoder;
  }

  stats(): LogStats {
    return { queued: this.#queuedRows, written: this.#written, dropped: this.#dropped, failed: this.#failed };
  }

  /** Write everything queued now (and wait for it). */
  async flush(): Promise<void> {
    while (this.#flushing || this.#queue.length > 0 || this.#open) {
      if (this.#flushing) await this.#flushing;
      else await this.#startFlush();
    }
  }

  /** Delete predictions older than the retention; returns how many. */
  async prune(now = Date.now()): Promise<number> {
    const days = this.#options.retentionDays;
    if (days === undefined) return 0;
    return deletePredictionsBefore(this.#db, now - days * 86_400_000);
  }

  /** Stop taking entries, write what is queued, stop the timers. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retention) clearInterval(this.#retention);
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    await this.#sink.close();
  }

  #policy(model: string): LogPolicy | undefined {
    if (this.#policies.has(model)) return this.#policies.get(model);
    const policy = this.#options.policy?.(model);
    if (this.#policies.size < 10_000) this.#policies.set(model, policy);
    return policy;
  }

  /** Log exactly `share` of requests, spread evenly (deterministic, as the shadow mirror). */
  #sampled(model: string, share: number): boolean {
    if (share >= 1) return true;
    if (share <= 0) return false;
    const n = this.#sampleCounts.get(model) ?? 0;
    this.#sampleCounts.set(model, n + 1);
    return Math.floor((n + 1) * share) > Math.floor(n * share);
  }

  #schedule(): void {
    if (this.#flushing) return; // the running flush reschedules when it ends
    if (this.#queuedRows >= this.#flushRows) {
      this.#immediate ??= setImmediate(() => { this.#immediate = undefined; void this.#startFlush(); });
    } else {
      this.#timer ??= setTimeout(() => { this.#timer = undefined; void this.#startFlush(); }, this.#flushIntervalMs);
    }
  }

  #startFlush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    if (this.#queue.length === 0 && !this.#open) return Promise.resolve();
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // At most flush_rows rows per batch (at least one entry): encoding runs on the event loop,
    // so one batch must stay a few milliseconds of work even when the buffer is full.
    let take = 0;
    let rows = 0;
    while (take < this.#queue.length && (take === 0 || rows + (this.#queue[take]?.rows ?? 0) <= this.#flushRows)) rows += this.#queue[take++]?.rows ?? 0;
    const entries = this.#queue.splice(0, take);
    const ids = this.#ids.splice(0, take);
    const at = this.#at.splice(0, take);
    // The raw rows copied since the last flush go in the same batch.
    const batch = this.#open ?? this.#sink.batch();
    this.#open = undefined;
    rows += batch.rows;
    this.#flushing = this.#write(batch, entries, ids, at, rows).finally(() => {
      this.#queuedRows -= rows;
      this.#flushing = undefined;
      if (this.#queue.length > 0 || this.#open) this.#schedule();
    });
    return this.#flushing;
  }

  async #write(batch: LogBatch, entries: readonly PredictionEntry[], ids: readonly (readonly string[])[], at: readonly number[], rows: number): Promise<void> {
    try {
      this.#encode(batch, entries, ids, at);
      await batch.send();
    } catch (err) {
      this.#failed += rows;
      this.#dropped += rows;
      this.#options.observer?.onDropped?.(rows, 'write_failed');
      this.#options.observer?.onError?.(err);
      return;
    }
    this.#written += rows;
    this.#options.observer?.onWritten?.(rows);
  }

  #encode(batch: LogBatch, entries: readonly PredictionEntry[], ids: readonly (readonly string[])[], at: readonly number[]): void {
    entries.forEach((e, k) => {
      const time = at[k] ?? Date.now();
      const rowIds = ids[k] ?? [];
      const encoder = this.#encoder(e.signature);
      const confidence = this.#confidence(e);
      const latency = e.latencyMs;
      for (let r = 0; r < e.rows; r++) {
        batch.add(rowIds[r] ?? '', e.model, e.version, time, e.source, encoder.inputs(e.inputs, r), encoder.outputs(e.outputs, r, e.rows), latency,
          confidenceAt(confidence, r), isLow(confidence, r), encodeAttributions(e.explained, r));
      }
    });
  }
}

interface RowConfidence {
  readonly values: ArrayLike<number> | undefined;
  readonly min: number | undefined;
}

/** Row `r`'s confidence, or null when it has none (or it is not finite). */
function confidenceAt(c: RowConfidence, r: number): number | null {
  const v = c.values?.[r];
  return v !== undefined && Number.isFinite(v) ? v : null;
}

/** Whether row `r`'s confidence is below the policy's minimum. */
function isLow(c: RowConfidence, r: number): boolean {
  const v = confidenceAt(c, r);
  return v !== null && c.min !== undefined && v < c.min;
}

let idMs = -1;
let idSeq = 0;
let idHead = '';

/**
 * `n` prediction ids: UUID version 7 (RFC 9562) — 48-bit millisecond time, a 12-bit sequence
 * within the millisecond (rand_a, RFC 9562 §6.2 method 3: ids of one process sort by logging
 * order), then 62 random bits drawn for each id. The random part is what makes an id
 * unguessable: knowing one's own ids tells nothing about another caller's.
 */
export function predictionIds(n: number): string[] {
  const [random, base] = randomFor(n);
  const ids = new Array<string>(n);
  for (let k = 0; k < n; k++) {
    const o = 9 * (base + k);
    const now = Date.now();
    if (now > idMs || idSeq >= 0xfff) {
      // A new millisecond, or 4096 ids in this one: borrow the next millisecond (§6.2 allows it).
      // Ids never go back: after borrowing, calls in the real milliseconds already borrowed go on
      // counting in the newest one, so ids stay in logging order (the log's B-trees take them in order).
      idMs = now > idMs ? now : idMs + 1;
      idSeq = random[o + 8]! << 2; // a random start below 1024, leaving room to count up
      const hex = idMs.toString(16).padStart(12, '0');
      idHead = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7`;
    } else {
      idSeq++;
    }
    // Two hex digits per byte from a table: no number-to-string conversion per id.
    ids[k] = idHead + HEX[idSeq >> 8]!.charAt(1) + HEX[idSeq & 0xff]! + '-' + HEX[0x80 | (random[o]! & 0x3f)]! + HEX[random[o + 1]!]! + '-'
      + HEX[random[o + 2]!]! + HEX[random[o + 3]!]! + HEX[random[o + 4]!]! + HEX[random[o + 5]!]! + HEX[random[o + 6]!]! + HEX[random[o + 7]!]!;
  }
  return ids;
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Random bytes drawn 9 × 512 at a time: one `randomBytes` call per request cost ~2.5 % of a logging server's CPU. */
const POOL_IDS = 512;
let pool = Buffer.alloc(0);
let poolNext = 0;

/** A buffer with 9 × `n` unused random bytes from id slot `base` on (each byte is used once). */
function randomFor(n: number): [Buffer, number] {
  if (n > POOL_IDS) return [randomBytes(9 * n), 0];
  if (poolNext + n > pool.length / 9) {
    pool = randomBytes(9 * POOL_IDS);
    poolNext = 0;
  }
  const base = poolNext;
  poolNext += n;
  return [pool, base];
}

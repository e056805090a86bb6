import { createHash } from 'node:crypto';
import { ferry } from '../core/errors.js';
import type { RawLayout } from './log-encode.js';

/**
 * The prediction log's block format (SQLite registries; docs/design/monitoring.md, "Blocks").
 *
 * A server's numeric-tensor rows are written one database row per flushed batch and per model
 * version and layout — a block — instead of one row per prediction: the writer thread's cost per
 * prediction falls from two B-tree inserts and a JSON text to a memcpy. Readers
 * (prediction-log-store.ts) merge blocks with the `prediction_log` table, which keeps every other
 * row (frames from batch and stream, explained rows, rows whose ids came from elsewhere, and rows
 * given ground truth: feedback moves a row out of its block into the table).
 *
 * `data` holds, for `rows` rows, little-endian and each section starting at a multiple of 8:
 *   u32 format (1), u32 rows, then f64[rows] at, f64[rows] latency_ms, f64[rows] confidence
 *   (NaN = none), u8[rows] low_confidence, u8[rows] source (index into `sources`), then the rows,
 *   ROW_HEAD + `layout.bytes` each: the id (ID_LENGTH ASCII bytes, zero-padded to ROW_HEAD) and the
 *   tensors' bytes as RawRowText reads them — the layout the sink copies requests into, so the
 *   writer moves consecutive rows with one copy.
 */

/** The block table's shape as stored (SQLite; type aliases for Kysely's `withTables`). */
export type PredictionBlockTable = {
  seq: number;
  model_name: string;
  version: number;
  first_at: number;
  last_at: number;
  /** Smallest and largest id of the block (ids sort by time: the id lookup's range). */
  id_min: string;
  id_max: string;
  rows: number;
  /** Rows flagged low-confidence. */
  low: number;
  /** Rows moved to `prediction_log` (given ground truth), and how many of them were low-confidence. */
  dead_rows: number;
  dead_low: number;
  /** Key of the layout in `prediction_layout`. */
  layout: string;
  /** JSON array of the rows' source names. */
  sources: string;
  /** One bit per row moved out (row r: byte r >> 3, bit r & 7), or null when none. */
  dead: Buffer | null;
  data: Buffer;
};

export type PredictionLayoutTable = {
  key: string;
  /** JSON of a RawLayout. */
  layout: string;
};

export type PredictionBlockTables = {
  prediction_block: PredictionBlockTable;
  prediction_layout: PredictionLayoutTable;
};

export const BLOCK_FORMAT = 1;
/** Generated prediction ids (uuid v7 text) are this long; rows with other ids are never put in blocks. */
export const ID_LENGTH = 36;
/** Bytes before a row's tensors, in a block and in the sink's raw buffer: its id, padded to a multiple of 8. */
export const ROW_HEAD = 40;
/**
 * A block spans at most this much time, both in `at` and in its ids' milliseconds (the writer
 * starts another beyond it): window reads and id lookups search that far before their bound.
 */
export const MAX_BLOCK_SPAN_MS = 60_000;

/** Byte offsets of a block's sections. */
export interface BlockOffsets {
  readonly at: number;
  readonly latency: number;
  readonly confidence: number;
  readonly low: number;
  readonly source: number;
  /** Where the rows start; row r at `rows + r * (ROW_HEAD + rowBytes)`. */
  readonly rows: number;
  readonly end: number;
}

const align = (n: number) => (n + 7) & ~7;

export function blockOffsets(rows: number, rowBytes: number): BlockOffsets {
  const at = 8;
  const latency = at + 8 * rows;
  const confidence = latency + 8 * rows;
  const low = confidence + 8 * rows;
  const source = low + rows;
  const start = align(source + rows);
  return { at, latency, confidence, low, source, rows: start, end: start + (ROW_HEAD + rowBytes) * rows };
}

/** The millisecond time at the head of a uuid v7 (`xxxxxxxx-xxxx-7…`), or NaN. */
export function idMs(id: string): number {
  if (id.length !== ID_LENGTH || id.charCodeAt(8) !== 45 /* - */) return Number.NaN;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** The id prefix of millisecond `ms` (`xxxxxxxx-xxxx`): ids of that time and later sort at or after it. */
export function idPrefix(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}`;
}

/** A block read back: its numbers as typed views, ids and raw bytes on demand. */
export class DecodedBlock {
  readonly rows: number;
  readonly at: Float64Array;
  readonly latency: Float64Array;
  readonly confidence: Float64Array;
  readonly low: Uint8Array;
  readonly source: Uint8Array;
  readonly #data: Buffer;
  readonly #offsets: BlockOffsets;
  readonly #dead: Buffer | null;
  readonly #rowBytes: number;
  #raw: ArrayBuffer | undefined;

  constructor(data: Buffer, dead: Buffer | null, rowBytes: number) {
    if (data.length < 8 || data.readUInt32LE(0) !== BLOCK_FORMAT) throw ferry('FERRY_E_INTERNAL', { detail: `a prediction log block is of unknown format ${data.length < 8 ? '(truncated)' : data.readUInt32LE(0)}: written by a newer Ferry, or damaged` });
    const rows = data.readUInt32LE(4);
    const offsets = blockOffsets(rows, rowBytes);
    if (data.length < offsets.end) throw ferry('FERRY_E_INTERNAL', { detail: `a prediction log block is damaged: ${data.length} bytes where ${rows} rows take ${offsets.end}` });
    // One aligned copy of the numbers (a driver's Buffer may start anywhere).
    const numbers = new Float64Array(3 * rows);
    new Uint8Array(numbers.buffer).set(data.subarray(offsets.at, offsets.low));
    this.rows = rows;
    this.at = numbers.subarray(0, rows);
    this.latency = numbers.subarray(rows, 2 * rows);
    this.confidence = numbers.subarray(2 * rows, 3 * rows);
    this.low = data.subarray(offsets.low, offsets.low + rows);
    this.source = data.subarray(offsets.source, offsets.source + rows);
    this.#data = data;
    this.#offsets = offsets;
    this.#dead = dead;
    this.#rowBytes = rowBytes;
  }

  /** Whether row `r` was moved to the table (given ground truth). */
  dead(r: number): boolean {
    const d = this.#dead;
    return d !== null && r >> 3 < d.length && (d[r >> 3]! & (1 << (r & 7))) !== 0;
  }

  id(r: number): string {
    const o = this.#offsets.rows + (ROW_HEAD + this.#rowBytes) * r;
    return this.#data.toString('latin1', o, o + ID_LENGTH);
  }

  /** The row holding `id`, or -1. */
  find(id: string): number {
    if (id.length !== ID_LENGTH) return -1;
    const start = this.#offsets.rows;
    const stride = ROW_HEAD + this.#rowBytes;
    let from = start;
    for (;;) {
      const at = this.#data.indexOf(id, from, 'latin1');
      if (at < 0 || at >= this.#offsets.end) return -1;
      if ((at - start) % stride === 0) return (at - start) / stride;
      from = at + 1;
    }
  }

  /** The rows in a buffer of their own (8-aligned for RawViews); row r's tensors at `rawOffset(r)`. */
  raw(): ArrayBuffer {
    if (this.#raw === undefined) {
      const copy = new Uint8Array(this.#offsets.end - this.#offsets.rows);
      copy.set(this.#data.subarray(this.#offsets.rows, this.#offsets.end));
      this.#raw = copy.buffer;
    }
    return this.#raw;
  }

  /** Where row r's tensors start in `raw()`. */
  rawOffset(r: number): number {
    return (ROW_HEAD + this.#rowBytes) * r + ROW_HEAD;
  }
}

/** Set row `r`'s bit in a dead bitmap (a new one when `dead` is null). */
export function markDead(dead: Buffer | null, rows: number, r: number): Buffer {
  const out = Buffer.alloc((rows + 7) >> 3);
  dead?.copy(out);
  out[r >> 3] = out[r >> 3]! | (1 << (r & 7));
  return out;
}

/** The layout's key in `prediction_layout`: a hash of its JSON text. */
export function layoutKey(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, 32);
}

export type { RawLayout };

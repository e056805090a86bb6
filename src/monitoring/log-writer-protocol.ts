import { ROW_HEAD } from './log-block.js';
import type { RawLayout } from './log-encode.js';

/**
 * What the prediction log's SQLite writer thread (log-writer-thread.ts) and its owner
 * (log-sink.ts) send each other. A batch travels as three buffers, all moved rather than cloned:
 * - `text`, UTF-8, for rows kept one per prediction in `prediction_log` (frames, explained rows,
 *   rows with ids from elsewhere): id, model, source, inputs, outputs and attributions ('' when
 *   none) of each (fields separated by FIELD, rows by ROW; JSON and base64 never contain them raw).
 * - `nums`: NUMS_PER_ROW numbers per row, in logging order — version, at, latency, confidence
 *   (NaN = none), the low-confidence flag, the raw layout (-1 for a text row), then for a raw row
 *   its offset in `raw`, and its model's and source's numbers in `names` — so no number is
 *   printed and parsed again.
 * - `raw`: the rows stored in blocks (log-block.ts), numeric tensors from the request and the
 *   runtime, copied when the request was logged (queued rows hold no request memory): per row
 *   its id (ID_LENGTH ASCII bytes, padded to RAW_ID_BYTES), then the layout's bytes.
 * Layouts are numbered by the sink; a message carries the layouts the thread has not seen yet.
 */
export const FIELD = '\u001f';
export const ROW = '\u001e';
export const FIELD_BYTE = 0x1f;
export const ROW_BYTE = 0x1e;
export const NUMS_PER_ROW = 9;
/** Bytes before a raw row's tensors: its id, zero-padded to a multiple of 8 (as in a block's rows). */
export const RAW_ID_BYTES = ROW_HEAD;

/**
 * How far the SQLite writer thread lowers its priority below the process's by default (ferry.yaml
 * `prediction_log.writer_nice`): not at all. Measured in `npm run bench:serve`'s log section on a
 * quiet 2-core machine, 4 rounds each: 0.88× of logging off at 0, 0.68× at 10 (the server's CPU
 * per logged request rose from 67–85 to 69–96 µs) — see docs/design/monitoring.md.
 */
export const DEFAULT_WRITER_NICE = 0;

/** What the thread needs to open its own connection. */
export interface WriterThreadData {
  readonly path: string;
  readonly busyTimeoutMs: number;
  /** Steps (0–19) by which the thread lowers its own scheduling priority below the process's (Linux; elsewhere ignored). */
  readonly nice: number;
}

/** To the thread: a batch to insert, or the order to close. */
export type WriterRequest =
  | { readonly id: number; readonly text: ArrayBuffer; readonly textBytes: number; readonly nums: ArrayBuffer; readonly raw: ArrayBuffer | undefined; readonly rows: number; readonly layouts: readonly (readonly [number, RawLayout])[]; readonly names: readonly string[] }
  | { readonly close: true };

/** From the thread: one batch inserted, or why not (the driver's error code and message). */
export interface WriterReply {
  readonly id: number;
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
  /** The batch's raw buffer, given back for reuse. */
  readonly raw?: ArrayBuffer;
}
